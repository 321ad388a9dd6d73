import { z } from 'zod';

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const DURATION_RE = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$/;

/** Parses "500ms", "10s", "1.5m", "1h", "2d" to milliseconds; undefined when malformed. */
export function parseDuration(text: string): number | undefined {
  const m = DURATION_RE.exec(text);
  if (!m) return undefined;
  return Math.round(Number(m[1]) * UNITS[m[2]!]!);
}

export function formatDuration(ms: number): string {
  if (ms % 3_600_000 === 0 && ms >= 3_600_000) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0 && ms >= 60_000) return `${ms / 60_000}m`;
  if (ms % 1000 === 0 && ms >= 1000) return `${ms / 1000}s`;
  return `${ms}ms`;
}

/** A config duration: a string like "10s" (or a number of milliseconds), parsed to ms. */
export const durationSchema = z.union([z.string(), z.number()]).transform((raw, ctx) => {
  if (typeof raw === 'number') {
    if (Number.isFinite(raw) && raw >= 0) return raw;
  } else {
    const ms = parseDuration(raw);
    if (ms !== undefined) return ms;
  }
  ctx.addIssue({ code: 'custom', message: `expected a duration like "10s", got ${JSON.stringify(raw)}` });
  return z.NEVER;
});
