// What the host itself uses to reach a buildpack's package registry: its URL, the CA bundle it trusts (a
// TLS-inspecting proxy's included) and its proxy. Installs use these, never a pushed repository's settings.
import fs from 'node:fs';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** buildpack.json `install.registry`: the default URL and the host commands that print the host's own choices. */
export interface RegistrySpec {
  default: string;
  /** Prints the registry URL the host is configured with, e.g. ["npm", "config", "get", "registry"]. */
  hostCommand?: string[];
  /** Prints the CA bundle the host's package manager trusts, e.g. ["npm", "config", "get", "cafile"]. */
  caHostCommand?: string[];
  /** An environment variable that names the registry and wins over `hostCommand` (pip's PIP_INDEX_URL). */
  envVar?: string;
  /**
   * Package folders on this machine the host's package manager also reads (pip's `extra-index-url` and `find-links`
   * with file:// URLs or paths): each command or variable prints a space-separated list. They are mounted read-only
   * into the install container (server/builder/install/install.ts), never reached over the network.
   */
  local?: { indexes?: { hostCommand?: string[]; envVar?: string }; links?: { hostCommand?: string[]; envVar?: string } };
}

export interface RegistrySettings {
  url: URL;
  host: string;
  port: number;
  /** A PEM bundle to trust in addition to the image's own CAs, or undefined. */
  caFile?: string;
  /** The host's proxy for this registry (HTTPS_PROXY unless NO_PROXY names the registry), or undefined. */
  upstream?: URL;
  /** Local package indexes (folders of a PEP 503 "simple" index) and folders of package files, absolute paths. */
  localIndexes?: string[];
  localLinks?: string[];
}

/** Reads the host's settings; a host without the package manager gets the default URL and the CA/proxy environment. */
export async function hostRegistrySettings(spec: RegistrySpec, env: NodeJS.ProcessEnv = process.env): Promise<RegistrySettings> {
  // All at once: each is a package manager starting up (pip takes seconds on a busy machine).
  const [asked, askedCa, localIndexes, localLinks] = await Promise.all([
    spec.hostCommand && ask(spec.hostCommand, env),
    spec.caHostCommand && ask(spec.caHostCommand, env),
    localFolders(spec.local?.indexes, env),
    localFolders(spec.local?.links, env),
  ]);
  const fromEnv = spec.envVar ? env[spec.envVar] : undefined;
  const url = parseRegistry(fromEnv) ?? parseRegistry(asked) ?? parseRegistry(spec.default);
  if (!url) throw new Error(`buildpack registry "${spec.default}" is not an https URL`);
  const caFile = [askedCa, env.NODE_EXTRA_CA_CERTS, env.SSL_CERT_FILE].find((file) => file !== undefined && file !== '' && isReadableFile(file));
  return {
    url,
    host: url.hostname.toLowerCase(),
    port: Number(url.port || 443),
    caFile,
    upstream: proxyFor(url.hostname.toLowerCase(), env),
    ...(spec.local ? { localIndexes, localLinks } : {}),
  };
}

/** The existing local folders a host setting names (file:// URLs or absolute paths); anything else is left out. */
async function localFolders(source: { hostCommand?: string[]; envVar?: string } | undefined, env: NodeJS.ProcessEnv): Promise<string[]> {
  if (!source) return [];
  const asked = source.hostCommand ? await ask(source.hostCommand, env) : undefined;
  const values = `${asked ?? ''} ${source.envVar ? (env[source.envVar] ?? '') : ''}`.split(/\s+/).filter(Boolean);
  const folders = new Set<string>();
  for (const value of values) {
    let folder: string | undefined;
    try {
      folder = value.startsWith('file://') ? decodeURIComponent(new URL(value).pathname) : value.startsWith('/') ? value : undefined;
    } catch {
      folder = undefined;
    }
    // Only plain absolute folders, never the root itself: they are mounted into install containers as they are.
    if (!folder || folder === '/' || /[:,\0]/.test(folder)) continue;
    try {
      if (fs.statSync(folder).isDirectory()) folders.add(fs.realpathSync(folder).replace(/\/+$/, ''));
    } catch {
      // a folder the host names but does not have: pip would skip it too
    }
  }
  return [...folders];
}

/** Only https registries: the tunnel is opaque to the server, so TLS is what authenticates the registry. */
function parseRegistry(value: string | undefined): URL | undefined {
  if (!value) return undefined;
  try {
    const url = new URL(value);
    return url.protocol === 'https:' && !/[\s"'\\]/.test(value) ? url : undefined;
  } catch {
    return undefined;
  }
}

async function ask(command: string[], env: NodeJS.ProcessEnv): Promise<string | undefined> {
  try {
    // cwd "/" so no project's own configuration (an .npmrc beside a package.json) is read.
    const { stdout } = await run(command[0], command.slice(1), { cwd: '/', env, timeout: 15_000 });
    const value = stdout.trim();
    return value === '' || value === 'null' || value === 'undefined' ? undefined : value;
  } catch {
    return undefined;
  }
}

function isReadableFile(file: string): boolean {
  try {
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

function proxyFor(host: string, env: NodeJS.ProcessEnv): URL | undefined {
  const noProxy = (env.NO_PROXY ?? env.no_proxy ?? '')
    .split(',')
    .map((entry) => entry.trim().toLowerCase().replace(/^\*?\./, ''))
    .filter(Boolean);
  if (noProxy.some((entry) => entry === '*' || host === entry || host.endsWith(`.${entry}`))) return undefined;
  const value = env.HTTPS_PROXY ?? env.https_proxy ?? env.ALL_PROXY ?? env.all_proxy;
  if (!value) return undefined;
  try {
    const url = new URL(value.includes('://') ? value : `http://${value}`);
    return url.protocol === 'http:' ? url : undefined;
  } catch {
    return undefined;
  }
}
