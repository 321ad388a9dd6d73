/**
 * Parsers for the `key=value,key=value` lists the OpenTelemetry environment variables use
 * (OTEL_RESOURCE_ATTRIBUTES, OTEL_EXPORTER_OTLP_HEADERS). Unlike the SDK, which silently
 * drops the whole variable on the first bad entry, these keep the good entries and name
 * every bad one, so an operator sees exactly what to fix.
 */

export interface KeyValueListResult {
  readonly values: Record<string, string>;
  /** One message per malformed entry, naming the variable and the entry. */
  readonly problems: string[];
}

/**
 * Parses a W3C-Baggage-style list as the OTel spec describes for OTEL_RESOURCE_ATTRIBUTES:
 * entries separated by `,`, each `key=value`, surrounding whitespace ignored, keys and
 * values percent-decoded (so `,` and `=` inside a value are written `%2C` and `%3D`).
 */
export function parseKeyValueList(variable: string, raw: string | undefined): KeyValueListResult {
  const values: Record<string, string> = {};
  const problems: string[] = [];
  if (raw === undefined || raw.trim() === '') return { values, problems };
  for (const rawEntry of raw.split(',')) {
    const entry = rawEntry.trim();
    if (entry === '') continue; // "a=1,,b=2" or a trailing comma: nothing to report
    const eq = entry.indexOf('=');
    if (eq < 0) {
      problems.push(`${variable} entry ${JSON.stringify(entry)} is not key=value`);
      continue;
    }
    const key = decode(entry.slice(0, eq).trim());
    const value = decode(entry.slice(eq + 1).trim());
    if (key === undefined || value === undefined) {
      problems.push(`${variable} entry ${JSON.stringify(entry)} has an invalid percent-encoding`);
      continue;
    }
    if (key === '') {
      problems.push(`${variable} entry ${JSON.stringify(entry)} has an empty key`);
      continue;
    }
    values[key] = value;
  }
  return { values, problems };
}

function decode(text: string): string | undefined {
  try {
    return decodeURIComponent(text);
  } catch {
    return undefined;
  }
}
