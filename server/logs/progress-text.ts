// Renders progress events and errors as Dokku-style text for the text transports (git hook, later SSH).
import { escapeControl, type LambdaError } from '../errors.js';
import type { ProgressEvent } from './progress.js';

export interface TextLine {
  stream: 'out' | 'err';
  text: string;
}

export function progressLine(event: ProgressEvent): TextLine {
  switch (event.type) {
    case 'step':
      return { stream: 'out', text: `-----> ${escapeControl(event.text)}` };
    case 'detail':
      return { stream: 'out', text: `       ${escapeControl(event.text)}` };
    case 'warn':
      return { stream: 'err', text: ` !     ${escapeControl(event.text)}` };
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
    text: ` !     ${escapeControl(part)}${index === parts.length - 1 ? ` (${error.code})` : ''}`,
  }));
}
