// Renders progress events and errors as Dokku-style text for the text transports (git hook, later SSH).
import type { LambdaError } from './errors.js';
import type { ProgressEvent } from './core/progress.js';

export interface TextLine {
  stream: 'out' | 'err';
  text: string;
}

export function progressLine(event: ProgressEvent): TextLine {
  switch (event.type) {
    case 'step':
      return { stream: 'out', text: `-----> ${event.text}` };
    case 'detail':
      return { stream: 'out', text: `       ${event.text}` };
    case 'warn':
      return { stream: 'err', text: ` !     ${event.text}` };
  }
}

export function errorLines(error: LambdaError): TextLine[] {
  return error.message.split('; ').map((part, index, parts) => ({
    stream: 'err',
    text: ` !     ${part}${index === parts.length - 1 ? ` (${error.code})` : ''}`,
  }));
}
