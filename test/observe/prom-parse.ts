// The Prometheus text parser (parse-prometheus-text-format ships no types).
// @ts-expect-error no declaration file
import parse from 'parse-prometheus-text-format';

export interface ParsedFamily {
  name: string;
  help: string;
  type: 'GAUGE' | 'COUNTER' | 'HISTOGRAM' | 'SUMMARY' | 'UNTYPED';
  metrics: Array<{
    value?: string;
    labels?: Record<string, string>;
    buckets?: Record<string, string>;
    count?: string;
    sum?: string;
  }>;
}

/** `/metrics` text → metric families, by a real parser. */
export function parseMetrics(text: string): Map<string, ParsedFamily> {
  const families = (parse as (t: string) => ParsedFamily[])(text);
  const out = new Map<string, ParsedFamily>();
  // Untyped series of one name may come in several runs (interleaved `_bucket`/`_sum`/`_count`).
  for (const f of families) {
    const seen = out.get(f.name);
    if (seen) seen.metrics.push(...f.metrics);
    else out.set(f.name, f);
  }
  return out;
}

/** The value of the one series of `family` whose labels include `labels`. */
export function seriesValue(
  families: Map<string, ParsedFamily>,
  family: string,
  labels: Record<string, string> = {},
): number | undefined {
  const f = families.get(family);
  if (!f) return undefined;
  const hits = f.metrics.filter((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v));
  if (hits.length !== 1) throw new Error(`${family} ${JSON.stringify(labels)}: ${hits.length} series`);
  return Number(hits[0]!.value);
}

/**
 * The parser folds a histogram's series into one and loses their labels when the histogram has
 * labels besides `le`; read as untyped (its TYPE line left out), each `_bucket`, `_sum` and
 * `_count` series keeps its labels. The TYPE itself is checked on the full parse.
 */
export function parseHistogramSeries(text: string, family: string): Map<string, ParsedFamily> {
  return parseMetrics(text.replace(new RegExp(`^# TYPE ${family} histogram\\n`, 'm'), ''));
}
