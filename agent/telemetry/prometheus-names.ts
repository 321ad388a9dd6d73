/**
 * How metric names look on /metrics. The Prometheus exporter (0.223) turns every character
 * outside [a-zA-Z0-9_] into "_", squeezes repeated "_", and appends "_total" to monotonic
 * sums. It does not append unit suffixes (`_bytes`, `_seconds`): it prints the UCUM unit on a
 * `# UNIT` line instead. vigil keeps it that way, so the Prometheus name is always the
 * OpenTelemetry name with dots as underscores (`process.memory.usage` → `process_memory_usage`),
 * and the same in Prometheus and in OTLP-fed backends. These mirror the exporter's rules so
 * clashes can be caught when a metric is registered rather than as a broken scrape.
 */

const INVALID = /[^a-z0-9_]/gi;
const REPEATED = /_{2,}/g;

export function prometheusName(otelName: string, monotonicCounter: boolean): string {
  let name = otelName.replace(INVALID, '_').replace(REPEATED, '_');
  if (name[0] !== undefined && name[0] >= '0' && name[0] <= '9') name = `_${name}`;
  if (monotonicCounter && !name.endsWith('_total')) name += '_total';
  return name;
}

/** OpenTelemetry instrument name syntax (API spec): a letter, then up to 254 of [A-Za-z0-9_.-/]. */
export function isValidOtelName(name: string): boolean {
  return /^[A-Za-z][A-Za-z0-9_.\-/]{0,254}$/.test(name);
}
