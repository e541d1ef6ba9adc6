// A version's image on its way to the workers: tagged for the registry's write side and pushed there once by the
// manager's engine; instances name it on the read side by digest, so every node runs the same bytes.
import type Docker from 'dockerode';
import type { ImageGate } from '../image-gate.js';

export interface RegistrySides {
  /** `host:port` where the manager's engine pushes. */
  push: string;
  /** `host:port` where every node's engine pulls. */
  pull: string;
}

export interface Publisher {
  /** The image's name on the read side, pinned by digest (`<pull>/lambda-fn/greet@sha256:…`); pushes it the first time. */
  publish(tag: string): Promise<string>;
  /** The tag's image was removed: the next publish pushes again (its registry copy is deleted by the caller). */
  forget(tag: string): Promise<void>;
  /**
   * The registry's manifest `name@digest` was deleted: the tags it was handed out for push again at their next
   * publish rather than name a digest nodes can no longer pull.
   */
  dropped(name: string, digest: string): void;
  /** Whether this process pushed the tag (or is pushing it) and has not forgotten it. */
  known(tag: string): boolean;
  /** Pushes under way. */
  pushing(): number;
}

export interface PublisherOptions {
  /**
   * The engine's image gate: a push shares it as a build does, so the registry's garbage collection, which holds it
   * alone, never sweeps the blobs of an upload no manifest names yet.
   */
  gate: ImageGate;
  /** Told of each tag pushed: a deletion of it still waiting to be retried must not remove the new copy. */
  pushed?(tag: string): void;
}

interface PushEvent {
  error?: string;
  aux?: { Digest?: string };
}

export function createPublisher(docker: Docker, sides: RegistrySides, options: PublisherOptions): Publisher {
  const published = new Map<string, Promise<string>>();
  /** What each finished push handed out, to find the tags a deleted manifest was theirs. */
  const named = new Map<string, string>();
  let pushing = 0;

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
        found = options.gate.build(async () => {
          pushing += 1;
          try {
            const image = await push(tag);
            options.pushed?.(tag);
            return image;
          } finally {
            pushing -= 1;
          }
        });
        const mine = found;
        published.set(tag, mine);
        // A push that failed is tried again by the next start.
        mine.then(
          (image) => {
            if (published.get(tag) === mine) named.set(tag, image);
          },
          () => {
            if (published.get(tag) === mine) published.delete(tag);
          },
        );
      }
      return found;
    },
    dropped(name, digest) {
      const gone = `${sides.pull}/${name}@${digest}`;
      for (const [tag, image] of named) {
        if (image !== gone) continue;
        named.delete(tag);
        published.delete(tag);
      }
    },
    async forget(tag) {
      published.delete(tag);
      named.delete(tag);
      await docker
        .getImage(`${sides.push}/${tag}`)
        .remove()
        .catch(() => {});
    },
    known: (tag) => published.has(tag),
    pushing: () => pushing,
  };
}
