// Runs the CLI in-process against a server URL, capturing what it writes and its exit status.
import { Readable } from 'node:stream';
import type { Io } from '../../cli/io.js';
import { run } from '../../cli/main.js';

export interface CliResult {
  status: number;
  stdout: string;
  stderr: string;
}

export async function runCli(argv: string[], url: string, key: string): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const io: Io = {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
    stdin: Readable.from([]),
    env: { LAMBDA_URL: url, LAMBDA_API_KEY: key, LAMBDA_CONFIG: '/nonexistent/lambda.json' },
  };
  const status = await run(argv, io);
  return { status, stdout, stderr };
}
