// Clients that call a function in a loop while a test changes what serves it (deploy, rollback, env), and keep
// every status and body they got.
import type { Lambda } from './lambda.js';

export interface Load {
  /** Stops the clients and resolves with every answer: status and body text. */
  stop(): Promise<{ status: number; body: string }[]>;
  /** How many answers so far. */
  count(): number;
  /** Resolves once an answer's body matches `pattern` (bounded by `timeoutMs`). */
  until(pattern: RegExp, timeoutMs?: number): Promise<void>;
}

export function startLoad(lambda: Lambda, pathname: string, clients = 10): Load {
  const answers: { status: number; body: string }[] = [];
  let running = true;
  const loop = async () => {
    while (running) {
      try {
        const response = await lambda.fetch(pathname);
        answers.push({ status: response.status, body: await response.text() });
      } catch (error) {
        answers.push({ status: 0, body: String(error) });
      }
    }
  };
  const loops = Array.from({ length: clients }, () => loop());
  return {
    async stop() {
      running = false;
      await Promise.all(loops);
      return answers;
    },
    count: () => answers.length,
    async until(pattern, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      let seen = 0;
      while (Date.now() < deadline) {
        for (; seen < answers.length; seen++) if (pattern.test((answers[seen] as { body: string }).body)) return;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      throw new Error(`no answer matched ${pattern} within ${timeoutMs} ms`);
    },
  };
}

/** Polls `check` every 100 ms until it returns true, at most `timeoutMs`. */
export async function eventually(check: () => Promise<boolean> | boolean, timeoutMs = 30_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return false;
}
