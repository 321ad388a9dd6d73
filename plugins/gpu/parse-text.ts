/**
 * What `vigil gpu parse` does: reads a saved nvidia-smi output (XML, CSV or a capture) and returns
 * what vigil sees in it. Users run it to debug; it is also how other GPUs' outputs
 * get checked. Parse problems go to stderr (exit code 1); the JSON still holds what was read.
 */
import { derive, type Gpu, type PressureThresholds, type ProcessRow } from './normalize.ts';
import { isCapture, parseCapture } from './parse/capture.ts';
import { parseComputeAppsCsv, parseQueryGpuCsv, WANTED_QUERY_FIELDS } from './parse/csv.ts';
import { GpuParseError } from './parse/errors.ts';
import { parseNvidiaSmiXml } from './parse/xml.ts';

export type ParseFormat = 'xml' | 'csv' | 'capture';

export type ParseOutput =
  | { readonly format: 'xml' | 'csv'; readonly json: Gpu[]; readonly errors: GpuParseError[] }
  | { readonly format: 'compute-apps'; readonly json: ProcessRow[]; readonly errors: GpuParseError[] }
  | { readonly format: 'capture'; readonly json: { section: string; gpus: Gpu[] }[]; readonly errors: GpuParseError[] };

export function detectFormat(text: string): ParseFormat {
  if (isCapture(text)) return 'capture';
  return /^\s*</.test(text) ? 'xml' : 'csv';
}

/**
 * Parses a saved output. `fields` names the columns of a header-less CSV; by default the
 * columns loop mode asks for on a current driver.
 */
export function parseGpuText(text: string, format: ParseFormat = detectFormat(text), fields?: readonly string[], thresholds?: PressureThresholds): ParseOutput {
  if (format === 'capture') {
    const sections = parseCapture(text, thresholds);
    return {
      format,
      json: sections.map((s) => ({ section: s.section, gpus: s.gpus })),
      errors: sections.flatMap((s) => s.errors.map((e) => new GpuParseError(`[${s.section}] ${e.message}`, e.context))),
    };
  }
  if (format === 'xml') {
    try {
      const r = parseNvidiaSmiXml(text);
      return { format, json: r.gpus.map((g) => derive(g, thresholds)), errors: r.errors };
    } catch (err) {
      if (err instanceof GpuParseError) return { format, json: [], errors: [err] };
      throw err;
    }
  }
  const firstLine = text.split(/\r?\n/).find((l) => l.trim() !== '') ?? '';
  const cols = firstLine.split(',').map((c) => c.trim().replace(/\s*\[.*\]$/, ''));
  if (cols.includes('pid') && !cols.includes('memory.used')) {
    const r = parseComputeAppsCsv(text, fields);
    return { format: 'compute-apps', json: r.processes, errors: r.errors };
  }
  const r = parseQueryGpuCsv(text, fields ?? WANTED_QUERY_FIELDS.map((alts) => alts[0]!));
  return { format: 'csv', json: r.gpus.map((g) => derive(g, thresholds)), errors: r.errors };
}
