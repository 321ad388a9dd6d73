import { z } from 'zod';

const FACTORS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1e3,
  kb: 1e3,
  m: 1e6,
  mb: 1e6,
  g: 1e9,
  gb: 1e9,
  t: 1e12,
  tb: 1e12,
  ki: 2 ** 10,
  kib: 2 ** 10,
  mi: 2 ** 20,
  mib: 2 ** 20,
  gi: 2 ** 30,
  gib: 2 ** 30,
  ti: 2 ** 40,
  tib: 2 ** 40,
};
const SIZE_RE = /^\s*(\d+(?:\.\d+)?(?:e\d+)?)\s*([a-z]*)\s*$/i;

/**
 * Parses a byte size: a plain number of bytes, "512MiB"/"1GiB" (binary), "512MB" (decimal), or
 * a Kubernetes quantity as the Downward API or a manifest writes it ("512Mi", "1G", "1e9").
 * Returns undefined when malformed.
 */
export function parseSize(text: string): number | undefined {
  const m = SIZE_RE.exec(text);
  if (!m) return undefined;
  const factor = FACTORS[m[2]!.toLowerCase()];
  if (factor === undefined) return undefined;
  const v = Number(m[1]) * factor;
  return Number.isFinite(v) ? Math.round(v) : undefined;
}

/** A config byte size: a number of bytes or a string like "512MiB" / "512Mi". */
export const sizeSchema = z.union([z.number(), z.string()]).transform((raw, ctx) => {
  if (typeof raw === 'number') {
    if (Number.isFinite(raw) && raw > 0) return raw;
  } else {
    const v = parseSize(raw);
    if (v !== undefined && v > 0) return v;
  }
  ctx.addIssue({ code: 'custom', message: `expected a size like "512MiB" or "512Mi", got ${JSON.stringify(raw)}` });
  return z.NEVER;
});
