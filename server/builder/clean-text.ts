// Makes text from a build (npm, Docker, a pushed repository's own file names) safe to show on a pusher's terminal.

// CSI (ESC [ ... final), OSC (ESC ] ... BEL or ST), DCS/SOS/PM/APC strings (ESC P|X|^|_ ... ST), and two-byte escapes.
// eslint-disable-next-line no-control-regex
const ESCAPES = /\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[PX^_][^\x1b]*(?:\x1b\\)?|[ -/]*[0-~])?/g;
// C0 and C1 controls (C1 0x9b is CSI on 8-bit terminals), DEL, and the bidirectional overrides of "Trojan Source".
// eslint-disable-next-line no-control-regex
const CONTROLS = /[\x00-\x08\x0a-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/g;
const MAX_LINE = 1000;

/** One line with every escape sequence and control character removed (tabs become spaces), at most 1000 characters. */
export function cleanLine(text: string): string {
  const clean = text.replace(ESCAPES, '').replace(/\t/g, '  ').replace(CONTROLS, '').trimEnd();
  return clean.length > MAX_LINE ? `${clean.slice(0, MAX_LINE)}…` : clean;
}

/** Splits text into clean, non-empty lines (\r ends a line too: progress bars redraw with it). */
export function cleanLines(text: string): string[] {
  return text
    .split(/\r\n|\r|\n/)
    .map(cleanLine)
    .filter((line) => line.trim() !== '');
}
