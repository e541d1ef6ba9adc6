// A repository's Dockerfile read strictly and written again in a canonical form: the engine builds only what was checked.
//
// Docker's own reader treats characters such as form feed or vertical tab as spaces when it splits words, but not
// when it looks for a line continuation; any reader that is almost Docker's can be made to see another file than the
// engine does. So the text is refused on anything unusual, only an allow-list of instructions is accepted, and the
// file handed to the engine is one this module writes: one instruction a line, arguments in JSON form, every FROM an
// image id the platform resolved and every stage named by its position.
import { LABELS } from '../../instances/labels.js';

/** The instructions a repository's Dockerfile may use; anything else is refused with the reason. */
const REFUSED: Record<string, string> = {
  ADD: 'ADD is not allowed: the engine would fetch a URL with the host\'s network, or unpack an archive outside the build\'s limits; use COPY',
  VOLUME: 'VOLUME is not allowed: a volume would give the function host disk outside its read-only image, kept after it is deleted',
  ONBUILD: 'ONBUILD is not allowed: images of functions are not bases of other builds',
  HEALTHCHECK: 'HEALTHCHECK is not allowed: the platform checks instances itself',
  SHELL: 'SHELL is not allowed: RUN, CMD and ENTRYPOINT in shell form run /bin/sh -c (write the JSON form to run something else)',
  MAINTAINER: 'MAINTAINER is not allowed (use LABEL)',
};
/** Kept as written (one logical line): none of them runs anything or reads anything but the file itself. */
const VERBATIM = new Set(['ENV', 'LABEL', 'ARG', 'WORKDIR', 'USER', 'EXPOSE', 'STOPSIGNAL']);
/** What a Dockerfile may name as a base: the platform's base image of a runtime. */
const BASE_ALIAS = /^lambda\/([a-z0-9-]+)(?::latest)?$/;
const STAGE_NAME = /^[a-z][a-z0-9_.-]{0,62}$/;
const CHOWN = /^[A-Za-z0-9_.-]+(:[A-Za-z0-9_.-]+)?$/;

export type StageBase = { kind: 'runtime'; runtime: string } | { kind: 'scratch' } | { kind: 'stage'; index: number };

export interface ParsedDockerfile {
  /** One entry per FROM, in order; each stage's instructions are already canonical but for its FROM. */
  stages: { base: StageBase; lines: string[] }[];
  /** The base runtimes the stages start from (their images must exist before the build). */
  runtimes: string[];
}

export class DockerfileError extends Error {}

/**
 * Parses `text` and returns its stages. Throws DockerfileError naming the line and what is wrong: a character Docker
 * reads differently than it looks, a parser directive, an instruction that is not allowed, an image that is not one
 * of `runtimes`' bases (or scratch, or an earlier stage), an ADD that could fetch, a heredoc.
 */
export function parseDockerfile(text: string, runtimes: string[]): ParsedDockerfile {
  const stages: ParsedDockerfile['stages'] = [];
  const names = new Map<string, number>();
  const used = new Set<string>();
  for (const { text: line, number } of logicalLines(text)) {
    const at = (detail: string) => new DockerfileError(`line ${number}: ${detail}`);
    const space = /[ \t]/.exec(line);
    const keyword = (space ? line.slice(0, space.index) : line).toUpperCase();
    const rest = space ? line.slice(space.index).replace(/^[ \t]+/, '') : '';
    if (line.endsWith("\\")) throw at('the file ends inside a line continuation');
    if (REFUSED[keyword]) throw at(REFUSED[keyword]);
    if (keyword === 'FROM') {
      const words = rest.split(/[ \t]+/).filter(Boolean);
      if (words.some((word) => word.startsWith('--'))) throw at('FROM takes no flags (--platform: the build uses the machine\'s own)');
      if (words.length !== 1 && !(words.length === 3 && words[1].toUpperCase() === 'AS')) throw at('FROM takes an image and optionally AS <name>');
      const image = words[0];
      if (image.includes('$')) throw at('FROM must name an image, not a variable');
      const alias = BASE_ALIAS.exec(image);
      let base: StageBase;
      if (alias && runtimes.includes(alias[1])) {
        base = { kind: 'runtime', runtime: alias[1] };
        used.add(alias[1]);
      } else if (image.toLowerCase() === 'scratch') base = { kind: 'scratch' };
      else if (names.has(image.toLowerCase())) base = { kind: 'stage', index: names.get(image.toLowerCase()) as number };
      else {
        const allowed = [...runtimes.map((runtime) => `lambda/${runtime}`), 'scratch'].join(', ');
        throw at(`FROM ${JSON.stringify(image.slice(0, 80))} is not available: builds have no registry, so FROM may name ${allowed} or an earlier stage`);
      }
      if (words.length === 3) {
        const name = words[2].toLowerCase();
        if (!STAGE_NAME.test(name)) throw at(`the stage name ${JSON.stringify(words[2].slice(0, 80))} must be letters, digits, '_', '.' or '-'`);
        names.set(name, stages.length);
      }
      stages.push({ base, lines: [] });
      continue;
    }
    const stage = stages.at(-1);
    if (!stage) {
      throw at(keyword === 'ARG' ? 'ARG before FROM is not allowed: FROM names a base, not a variable' : `${keyword || 'the text'} before the first FROM`);
    }
    if (VERBATIM.has(keyword)) {
      if (rest === '') throw at(`${keyword} needs arguments`);
      if (keyword === 'LABEL') checkLabel(rest, at);
      stage.lines.push(`${keyword} ${rest}`);
    } else if (keyword === 'RUN' || keyword === 'CMD' || keyword === 'ENTRYPOINT') {
      if (keyword === 'RUN' && rest.startsWith('--')) throw at('RUN takes no flags');
      if (/^<<-?["']?[A-Za-z_]/.test(rest)) throw at(`${keyword} with a heredoc is not supported`);
      if (rest === '') throw at(`${keyword} needs a command`);
      stage.lines.push(`${keyword} ${JSON.stringify(commandOf(rest, at))}`);
    } else if (keyword === 'COPY') {
      stage.lines.push(copyLine(rest, stages.length, names, at));
    } else {
      throw at(`${JSON.stringify(keyword.slice(0, 40))} is not an instruction a Dockerfile here may use`);
    }
  }
  if (stages.length === 0) throw new DockerfileError('has no FROM line');
  return { stages, runtimes: [...used] };
}

/**
 * The build label (LABELS.build) every stage of a repository build starts with, and its value `<server id>/<function>`:
 * each image a step makes carries it, so the server finds what a build left behind by asking the engine, never by
 * reading the build's output. It is the same for every push of a function, so one push's layers stay a cache for the next.
 */
const BUILD_LABEL_VALUE = /^[A-Za-z0-9_.-]{1,64}\/[a-z0-9-]{1,63}$/;

/** Refuses what could set a platform label (`lambda.*`), also through a variable or an escape Docker would undo. */
function checkLabel(rest: string, at: (detail: string) => DockerfileError): void {
  if (rest.includes('$')) throw at('LABEL may not use variables');
  if (/lambda\./i.test(rest.replace(/["'\\]/g, ''))) throw at('LABEL may not set lambda.* labels: they are the platform\'s');
}

/**
 * The file the engine builds: `baseIds` gives each runtime's base image id (sha256:…); `buildLabel`, when given, is
 * the value of the build label (LABELS.build) each stage starts with.
 */
export function canonicalDockerfile(parsed: ParsedDockerfile, baseIds: Record<string, string>, buildLabel?: string): string {
  if (buildLabel !== undefined && !BUILD_LABEL_VALUE.test(buildLabel)) throw new DockerfileError(`the build label ${JSON.stringify(buildLabel.slice(0, 80))} is not <server>/<function>`);
  const out: string[] = [];
  parsed.stages.forEach((stage, index) => {
    const { base } = stage;
    const from = base.kind === 'scratch' ? 'scratch' : base.kind === 'stage' ? `s${base.index}` : baseIds[base.runtime];
    if (!from || !/^(scratch|s\d+|sha256:[0-9a-f]{64})$/.test(from)) throw new DockerfileError(`no image id for the base of stage ${index}`);
    out.push(`FROM ${from} AS s${index}`, ...(buildLabel === undefined ? [] : [`LABEL ${LABELS.build}="${buildLabel}"`]), ...stage.lines);
  });
  return `${out.join('\n')}\n`;
}

/** What the final image's layers must begin with: a runtime's base, or nothing (scratch). */
export function finalBase(parsed: ParsedDockerfile): string | undefined {
  let stage = parsed.stages.at(-1);
  while (stage?.base.kind === 'stage') stage = parsed.stages[stage.base.index];
  return stage?.base.kind === 'runtime' ? stage.base.runtime : undefined;
}

/** A command in JSON form as given, or a shell-form line as `/bin/sh -c <line>`. */
function commandOf(rest: string, at: (detail: string) => DockerfileError): string[] {
  if (!rest.startsWith('[')) return ['/bin/sh', '-c', rest];
  const list = jsonList(rest);
  if (!list) throw at('a command starting with "[" must be a JSON array of strings');
  if (list.length === 0) throw at('the command is an empty list');
  return list;
}

function jsonList(text: string): string[] | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return Array.isArray(value) && value.every((item) => typeof item === 'string') ? value : undefined;
  } catch {
    return undefined;
  }
}

/** COPY with its flags checked: sources from the context or an earlier stage only. */
function copyLine(rest: string, stageCount: number, names: Map<string, number>, at: (detail: string) => DockerfileError): string {
  const flags: string[] = [];
  let text = rest;
  for (let flag = /^--([a-z-]+)=(\S*)[ \t]+/.exec(text); flag; flag = /^--([a-z-]+)=(\S*)[ \t]+/.exec(text)) {
    const [whole, name, value] = flag;
    text = text.slice(whole.length);
    if (value.includes('$')) throw at(`COPY --${name} may not use variables`);
    if (name === 'from') {
      const index = /^\d+$/.test(value) ? Number(value) : names.get(value.toLowerCase());
      if (index === undefined || index >= stageCount - 1) throw at(`COPY --from may name an earlier stage only, not ${JSON.stringify(value.slice(0, 80))}`);
      flags.push(`--from=s${index}`);
    } else if (name === 'chown') {
      if (!CHOWN.test(value)) throw at('COPY --chown must be user or user:group');
      flags.push(`--chown=${value}`);
    } else {
      throw at(`COPY --${name} is not supported`);
    }
  }
  if (text.startsWith('--')) throw at('COPY flags take the form --name=value');
  if (/^<<-?["']?[A-Za-z_]/.test(text)) throw at('COPY with a heredoc is not supported');
  let args: string[];
  if (text.startsWith('[')) {
    const list = jsonList(text);
    if (!list) throw at('COPY arguments starting with "[" must be a JSON array of strings');
    args = list;
  } else {
    args = text.split(/[ \t]+/).filter(Boolean);
  }
  if (args.length < 2) throw at('COPY needs at least one source and a destination');
  return ['COPY', ...flags, JSON.stringify(args)].join(' ');
}

/**
 * The instructions as Docker joins them: leading blanks dropped, comment and empty lines skipped (inside a
 * continuation too), a trailing backslash (then blanks) joining the next line with nothing between. Refuses the
 * characters Docker reads as something else than they look, and parser directives.
 */
function logicalLines(text: string): { text: string; number: number }[] {
  checkCharacters(text);
  const lines = text.split('\n').map((line) => (line.endsWith('\r') ? line.slice(0, -1) : line));
  const result: { text: string; number: number }[] = [];
  let index = 0;
  let seenInstruction = false;
  const continues = (line: string) => /\\[ \t]*$/.test(line);
  const strip = (line: string) => line.replace(/\\[ \t]*$/, '');
  while (index < lines.length) {
    const first = lines[index].replace(/^[ \t]+/, '');
    const number = index + 1;
    index += 1;
    if (first === '') continue;
    if (first.startsWith('#')) {
      if (!seenInstruction && /^#[ \t]*[a-z]+[ \t]*=/i.test(first)) throw new DockerfileError(`line ${number}: parser directives (${first.slice(0, 40)}) are not supported`);
      continue;
    }
    seenInstruction = true;
    let joined = strip(first);
    let open = continues(first);
    while (open && index < lines.length) {
      const next = lines[index];
      index += 1;
      const trimmed = next.replace(/^[ \t]+/, '');
      if (trimmed.startsWith('#') || trimmed === '') continue;
      joined += strip(next);
      open = continues(next);
    }
    if (open) joined += '\\';
    result.push({ text: joined.replace(/[ \t]+$/, ''), number });
  }
  return result;
}

/** Tab and line feed (carriage return before one) are the only control characters; no Unicode spaces or separators. */
function checkCharacters(text: string): void {
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].endsWith('\r') ? lines[i].slice(0, -1) : lines[i];
    for (const char of line) {
      const code = char.codePointAt(0) ?? 0;
      if (!unusual(code)) continue;
      const hex = code.toString(16).toUpperCase().padStart(4, '0');
      throw new DockerfileError(`line ${i + 1}: the character U+${hex} is not allowed (Docker reads control characters and unusual spaces differently than they look)`);
    }
  }
}

/** Control characters but tab (C0, DEL, C1 with U+0085), Unicode spaces, zero-widths, separators and the BOM. */
function unusual(code: number): boolean {
  if (code === 0x09) return false;
  if (code < 0x20 || (code >= 0x7f && code <= 0x9f)) return true;
  if (code === 0xa0 || code === 0xad || code === 0x1680 || code === 0x180e || code === 0x3000 || code === 0xfeff) return true;
  return (code >= 0x2000 && code <= 0x200f) || (code >= 0x2028 && code <= 0x202f) || (code >= 0x205f && code <= 0x2064);
}
