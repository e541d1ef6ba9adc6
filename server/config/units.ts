// How durations ("500ms", "10s", "5m", "24h", "14d") and sizes ("256Ki", "64Mi", "4Gi", "512M") are written, for settings and manifests alike.

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const SIZE_UNITS: Record<string, number> = { Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, K: 1000, M: 1000 ** 2, G: 1000 ** 3 };

/** Milliseconds of a duration written with one of `units` ("1.5s" too), else undefined. */
export function parseDuration(text: string, units: readonly string[] = Object.keys(DURATION_UNITS)): number | undefined {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(text.trim());
  return match && units.includes(match[2] as string) ? Math.round(Number(match[1]) * (DURATION_UNITS[match[2] as string] as number)) : undefined;
}

/** Bytes of a size written with one of `units` (binary Ki/Mi/Gi or decimal K/M/G), else undefined. */
export function parseSize(text: string, units: readonly string[] = Object.keys(SIZE_UNITS)): number | undefined {
  const match = /^(\d+)(Ki|Mi|Gi|K|M|G)$/.exec(text.trim());
  return match && units.includes(match[2] as string) ? Number(match[1]) * (SIZE_UNITS[match[2] as string] as number) : undefined;
}

/** A size in the largest binary unit that writes it whole ("256Ki", "10Mi"), for messages. */
export function showSize(bytes: number): string {
  for (const unit of ['Gi', 'Mi', 'Ki'] as const) {
    const per = SIZE_UNITS[unit] as number;
    if (bytes >= per && bytes % per === 0) return `${bytes / per}${unit}`;
  }
  return String(bytes);
}

/** A duration in the largest unit that writes it whole ("1h", "90s"), for messages. */
export function showDuration(ms: number): string {
  for (const unit of ['h', 'm', 's'] as const) {
    const per = DURATION_UNITS[unit] as number;
    if (ms >= per && ms % per === 0) return `${ms / per}${unit}`;
  }
  return `${ms}ms`;
}
