// Structured progress events that core verbs emit; each adapter renders them its own way.

export type Phase = 'manifest' | 'build' | 'start' | 'live';

export type ProgressEvent =
  | { type: 'step'; phase: Phase; text: string; image?: string; url?: string }
  | { type: 'detail'; text: string }
  | { type: 'warn'; text: string };

export type Progress = (event: ProgressEvent) => void;

export const silent: Progress = () => {};
