// How much function output is kept and accepted, from LAMBDA_LOG_* variables (defaults: 3 files of 10Mi, 8Mi/s).

export interface LogSettings {
  /** LAMBDA_LOG_FILE_SIZE: bytes one log file holds before it is rotated. */
  fileBytes: number;
  /** LAMBDA_LOG_FILES: files kept per function, the current one included (so at most files × fileBytes). */
  files: number;
  /** LAMBDA_LOG_RATE: bytes per second one function's instances may send together; beyond, lines are dropped and counted. */
  ratePerSecond: number;
  /** Deploys whose output is kept per function, and the bytes each may take. */
  builds: number;
  buildBytes: number;
}

const KI = 1024;
const MI = KI * KI;

const DEFAULTS: LogSettings = { fileBytes: 10 * MI, files: 3, ratePerSecond: 8 * MI, builds: 10, buildBytes: 1 * MI };

/** Throws a message naming the variable when one is set to something unusable. */
export function readLogSettings(env: NodeJS.ProcessEnv): LogSettings {
  return {
    ...DEFAULTS,
    // A file holds at least a few whole lines (a line is cut at 64 KiB).
    fileBytes: setting(env, 'LAMBDA_LOG_FILE_SIZE', size, DEFAULTS.fileBytes, 256 * KI, 'a size from 256Ki, such as "10Mi"'),
    files: setting(env, 'LAMBDA_LOG_FILES', count, DEFAULTS.files, 1, 'a number of files from 1 to 100'),
    ratePerSecond: setting(env, 'LAMBDA_LOG_RATE', size, DEFAULTS.ratePerSecond, 64 * KI, 'bytes per second from 64Ki, such as "8Mi"'),
  };
}

function setting(env: NodeJS.ProcessEnv, name: string, parse: (text: string) => number | undefined, fallback: number, min: number, expected: string): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = parse(raw.trim());
  if (value === undefined || value < min) throw new Error(`${name} must be ${expected}, got ${JSON.stringify(raw)}`);
  return value;
}

/** "256Ki", "10Mi", "1Gi" or a number of bytes. */
export function size(text: string): number | undefined {
  const match = /^(\d+)(Ki|Mi|Gi)?$/.exec(text);
  if (!match) return undefined;
  const unit: Record<string, number> = { Ki: KI, Mi: MI, Gi: KI * MI };
  return Number(match[1]) * (unit[match[2] ?? ''] ?? 1);
}

function count(text: string): number | undefined {
  return /^\d{1,3}$/.test(text) && Number(text) <= 100 ? Number(text) : undefined;
}
