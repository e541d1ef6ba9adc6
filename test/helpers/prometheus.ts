// Reading `/metrics` in tests: Prometheus' text parsed by parse-prometheus-text-format (which also checks its syntax),
// one value per series.
import parsePrometheusTextFormat, { type Family } from 'parse-prometheus-text-format';

export interface Scrape {
  families: Family[];
  /** The value of the counter or gauge series with exactly these labels; undefined when there is none. */
  value(name: string, labels: Record<string, string>): number | undefined;
  /** Every series of a counter or gauge, as its labels and value. */
  series(name: string): { labels: Record<string, string>; value: number }[];
  /** A histogram's `_count` of one series (read from the text: the parser folds labelled histograms together). */
  histogramCount(name: string, labels: Record<string, string>): number | undefined;
}

const same = (a: Record<string, string>, b: Record<string, string>) => Object.keys(a).length === Object.keys(b).length && Object.entries(b).every(([key, value]) => a[key] === value);

export function readScrape(text: string): Scrape {
  const families = parsePrometheusTextFormat(text);
  const series = (name: string) =>
    (families.find((family) => family.name === name)?.metrics ?? []).map((sample) => ({ labels: sample.labels ?? {}, value: Number(sample.value) }));
  return {
    families,
    series,
    value: (name, labels) => series(name).find((each) => same(each.labels, labels))?.value,
    histogramCount(name, labels) {
      for (const line of text.split('\n')) {
        const match = new RegExp(`^${name}_count\\{(.*)\\} (\\S+)$`).exec(line);
        if (!match) continue;
        const found = Object.fromEntries([...(match[1] as string).matchAll(/(\w+)="([^"]*)"/g)].map((pair) => [pair[1], pair[2]]));
        if (same(found as Record<string, string>, labels)) return Number(match[2]);
      }
      return undefined;
    },
  };
}
