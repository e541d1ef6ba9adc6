// The server's text lines (step, detail, warning) and progress events and errors rendered as them for git and SSH.
import { escapeControl, type LambdaError } from '../errors.js';
import type { ProgressEvent } from './progress.js';

export interface TextLine {
  stream: 'out' | 'err';
  text: string;
}

/**
 * The three kinds of line every text the server writes is made of (the operator's log, git and SSH output): a step,
 * a detail under it, and a warning or error, told apart by their prefix as Heroku and Dokku print them. The text is
 * written as given: escape what a client chose before.
 */
export const stepLine = (text: string): string => `-----> ${text}`;
export const detailLine = (text: string): string => `       ${text}`;
export const warnLine = (text: string): string => ` !     ${text}`;

export function progressLine(event: ProgressEvent): TextLine {
  switch (event.type) {
    case 'step':
      return { stream: 'out', text: stepLine(escapeControl(event.text)) };
    case 'detail':
      return { stream: 'out', text: detailLine(escapeControl(event.text)) };
    case 'warn':
      return { stream: 'err', text: warnLine(escapeControl(event.text)) };
  }
}

/** One line per problem (a manifest can have several), the code on the last. */
export function errorLines(error: LambdaError): TextLine[] {
  const { problems, file } = error.details;
  // A problem names its line; the error names the file it is in (lambda.yaml), so each line reads `file: line N: …`.
  const inFile = (problem: unknown) => (typeof file === 'string' ? `${file}: ${String(problem)}` : String(problem));
  const parts = Array.isArray(problems) && problems.length > 0 ? problems.map(inFile) : [error.message];
  return parts.map((part, index) => ({
    stream: 'err',
    text: warnLine(`${escapeControl(part)}${index === parts.length - 1 ? ` (${error.code})` : ''}`),
  }));
}
