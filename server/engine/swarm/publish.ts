// A version's image on its way to the workers: tagged for the registry's write side and pushed there once by the
// manager's engine; instances name it on the read side by digest, so every node runs the same bytes.
import type Docker from 'dockerode';

export interface RegistrySides {
  /** `host:port` where the manager's engine pushes. */
  push: string;
  /** `host:port` where every node's engine pulls. */
  pull: string;
}

export interface Publisher {
  /** The image's name on the read side, pinned by digest (`<pull>/lambda-fn/greet@sha256:…`); pushes it the first time. */
  publish(tag: string): Promise<string>;
  /** The tag's image was removed: the next publish pushes again (its registry copy is left for the garbage collection). */
  forget(tag: string): Promise<void>;
}

interface PushEvent {
  error?: string;
  aux?: { Digest?: string };
}

export function createPublisher(docker: Docker, sides: RegistrySides): Publisher {
  const published = new Map<string, Promise<string>>();

  const push = async (tag: string): Promise<string> => {
    const colon = tag.lastIndexOf(':');
    const repo = `${sides.push}/${tag.slice(0, colon)}`;
    const version = tag.slice(colon + 1);
    await docker.getImage(tag).tag({ repo, tag: version });
    // The engine asks for credentials even for a registry that takes none.
    const stream = (await docker.getImage(`${repo}:${version}`).push({ authconfig: {} })) as NodeJS.ReadableStream;
    const events = await new Promise<PushEvent[]>((resolve, reject) => {
      docker.modem.followProgress(stream, (error: Error | null, output: PushEvent[]) => (error ? reject(error) : resolve(output)));
    });
    const failed = events.find((event) => event.error);
    if (failed) throw new Error(`pushing ${tag} to the registry failed: ${failed.error}`);
    const digest = events.map((event) => event.aux?.Digest).find((found) => found && /^sha256:[0-9a-f]{64}$/.test(found));
    if (!digest) throw new Error(`pushing ${tag} to the registry gave no digest`);
    return `${sides.pull}/${tag.slice(0, colon)}@${digest}`;
  };

  return {
    publish(tag) {
      let found = published.get(tag);
      if (!found) {
        found = push(tag);
        published.set(tag, found);
        // A push that failed is tried again by the next start.
        found.catch(() => published.delete(tag));
      }
      return found;
    },
    async forget(tag) {
      published.delete(tag);
      await docker
        .getImage(`${sides.push}/${tag}`)
        .remove()
        .catch(() => {});
    },
  };
}
