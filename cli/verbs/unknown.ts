// What to say about a word that is not a verb: the near verb, Lambda's word for a Heroku or Dokku verb, or where the list is.

/**
 * Verbs people bring from Heroku and Dokku, with where the same thing is here. Hints only, never aliases: a
 * command that silently did something a little different would teach the wrong model.
 */
const FOREIGN_VERBS: Readonly<Record<string, string>> = {
  config: "Heroku's config is `lambda env`",
  apps: "Heroku's apps are functions here: `lambda list`",
  ps: "Heroku's ps is `lambda list`: instances start and stop by themselves",
  scale: 'instances scale by themselves: set minInstances and maxInstances in lambda.yaml',
  destroy: "Heroku's apps:destroy is `lambda delete`",
};

/** Global options that come before a verb and take no value. */
const LEADING_OPTIONS = new Set(['--json']);

/**
 * The verb `argv` names when it is none of `known`, else undefined. Looked at before commander, which would answer
 * `lambda deplyo --help` with the whole help rather than with the verb meant.
 */
export function unknownVerbOf(argv: readonly string[], known: readonly string[]): string | undefined {
  const verb = argv.find((arg) => !LEADING_OPTIONS.has(arg));
  if (verb === undefined || verb.startsWith('-') || known.includes(verb)) return undefined;
  return verb;
}

/** `unknown command 'deplyo'; did you mean 'deploy'?`, `… (Heroku's config is …)`, else `… (see HELP)`. */
export function unknownVerbMessage(word: string, known: readonly string[], help: string): string {
  const shown = `unknown command '${word.slice(0, 40).replace(/[^\x20-\x7e]/g, '?')}'`;
  const foreign = FOREIGN_VERBS[word.split(':')[0] ?? ''];
  if (foreign) return `${shown} (${foreign})`;
  const near = nearVerbs(word, known).map((name) => `'${name}'`);
  if (near.length === 1) return `${shown}; did you mean ${near[0]}?`;
  if (near.length > 1) return `${shown}; did you mean one of ${near.join(', ')}?`;
  return `${shown} (see ${help})`;
}

/** The known verbs closest to `word` by edit distance (at most 3, and more alike than not), as commander picks them. */
export function nearVerbs(word: string, known: readonly string[]): string[] {
  let best = 3;
  let near: string[] = [];
  for (const candidate of new Set(known)) {
    if (candidate.length <= 1) continue;
    const distance = editDistance(word, candidate);
    const length = Math.max(word.length, candidate.length);
    if ((length - distance) / length <= 0.4) continue;
    if (distance < best) {
      best = distance;
      near = [candidate];
    } else if (distance === best) near.push(candidate);
  }
  return near.sort();
}

/** Damerau-Levenshtein distance (optimal string alignment): a swap of two letters counts once, as in `lgos`. */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  const at = (i: number, j: number): number => d[i]?.[j] ?? 0;
  for (let i = 1; i <= a.length; i += 1) {
    for (let j = 1; j <= b.length; j += 1) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let value = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) value = Math.min(value, at(i - 2, j - 2) + 1);
      (d[i] as number[])[j] = value;
    }
  }
  return at(a.length, b.length);
}
