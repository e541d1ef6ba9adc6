// A switch under load: 20 clients call a function in a loop while `change` makes another version live (a push, a
// rollback); every answer that is not 2xx is counted (target 0). Bounded: the clients stop once the change is done.
import type { Lambda } from '../test/helpers/lambda.js';

export interface UnderLoad<T> {
  answered: number;
  non2xx: number;
  /** Status and body of the first few failures, to say what went wrong. */
  failures: string[];
  result: T;
}

export async function underLoad<T>(lambda: Lambda, name: string, change: () => Promise<T>, clients = 20): Promise<UnderLoad<T>> {
  let stop = false;
  let answered = 0;
  let non2xx = 0;
  const failures: string[] = [];
  const client = async () => {
    while (!stop) {
      const response = await lambda.fetch(`/fn/${name}/?name=load`).catch((error: Error) => ({ status: 0, text: async () => error.message }));
      answered += 1;
      if (response.status < 200 || response.status > 299) {
        non2xx += 1;
        if (failures.length < 5) failures.push(`${response.status} ${(await response.text()).slice(0, 200)}`);
      } else await response.text();
    }
  };
  const running = Array.from({ length: clients }, () => client());
  // Traffic flows before the change starts, and a little after it is done (old instances drain meanwhile).
  await new Promise((resolve) => setTimeout(resolve, 300));
  try {
    const result = await change();
    await new Promise((resolve) => setTimeout(resolve, 500));
    return { answered, non2xx, failures, result };
  } finally {
    stop = true;
    await Promise.all(running);
  }
}
