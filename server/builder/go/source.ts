// Copies a pushed repository's files for a Go build: regular files and folders only, opened without following
// links, so a link in the repository can never bring a host file into the build.
import fs from 'node:fs';
import path from 'node:path';

export interface Copied {
  files: number;
  /** Paths left out: links and anything else that is no regular file or folder. */
  skipped: string[];
}

export function copySource(from: string, to: string): Copied {
  const copied: Copied = { files: 0, skipped: [] };
  const walk = (dir: string, relative: string) => {
    fs.mkdirSync(path.join(to, relative), { mode: 0o755 });
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const name = path.join(relative, entry.name);
      if (relative === '' && entry.name === '.git') continue;
      if (entry.isDirectory()) walk(path.join(dir, entry.name), name);
      else if (entry.isFile()) copyRegular(path.join(dir, entry.name), path.join(to, name), copied, name);
      else copied.skipped.push(name);
    }
  };
  walk(from, '');
  return copied;
}

function copyRegular(from: string, to: string, copied: Copied, name: string): void {
  let fd: number;
  try {
    fd = fs.openSync(from, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
  } catch {
    copied.skipped.push(name);
    return;
  }
  try {
    if (!fs.fstatSync(fd).isFile()) {
      copied.skipped.push(name);
      return;
    }
    fs.writeFileSync(to, fs.readFileSync(fd), { mode: 0o644 });
    copied.files += 1;
  } finally {
    fs.closeSync(fd);
  }
}
