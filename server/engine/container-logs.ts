// The last lines a container wrote through the engine's log driver: a failed start's shim output, for the deploy.
import type Docker from 'dockerode';

/** The container's last 40 non-empty lines (none when the engine cannot say). */
export async function tailLogs(container: Docker.Container): Promise<string[]> {
  try {
    const raw = (await container.logs({ stdout: true, stderr: true, tail: 40 })) as unknown as Buffer;
    return demux(raw).split('\n').filter((line) => line.trim() !== '');
  } catch {
    return [];
  }
}

/** Docker multiplexes stdout/stderr with an 8-byte header per frame when there is no TTY. */
export function demux(raw: Buffer): string {
  const parts: Buffer[] = [];
  let offset = 0;
  while (offset + 8 <= raw.length) {
    const size = raw.readUInt32BE(offset + 4);
    parts.push(raw.subarray(offset + 8, offset + 8 + size));
    offset += 8 + size;
  }
  return Buffer.concat(parts).toString('utf8');
}
