/**
 * `vigil gpu parse FILE [--format xml|csv|capture]`: reads a saved nvidia-smi output and prints
 * what vigil sees in it, as JSON. Users run it to debug; it is also how other GPUs' outputs
 * get checked. Parse problems go to stderr (exit code 1); the JSON still holds what was read.
 */
import { readFile } from 'node:fs/promises';
import { Option, type Command } from 'commander';
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

export function registerGpuCommands(program: Command): void {
  const gpu = program.command('gpu').description('NVIDIA GPU tools (nvidia-smi)');
  gpu
    .command('parse')
    .description('parse a saved nvidia-smi output (XML from -q -x, CSV from --query-gpu/--query-compute-apps, or a capture file with "# $ nvidia-smi ..." sections) and print the normalized result as JSON')
    .argument('<file>', 'file to parse')
    .addOption(new Option('--format <format>', 'input format (default: detected)').choices(['xml', 'csv', 'capture']))
    .option('--fields <list>', 'comma-separated column names of a header-less CSV')
    .action(async (file: string, opts: { format?: ParseFormat; fields?: string }) => {
      let text: string;
      try {
        text = await readFile(file, 'utf8');
      } catch (err) {
        process.stderr.write(`vigil gpu parse: cannot read ${file}: ${(err as Error).message}\n`);
        process.exitCode = 2;
        return;
      }
      const fields = opts.fields?.split(',').map((f) => f.trim()).filter((f) => f !== '');
      const out = parseGpuText(text, opts.format, fields);
      process.stdout.write(`${JSON.stringify(out.json, null, 2)}\n`);
      for (const e of out.errors) process.stderr.write(`${file}: ${e.message}\n`);
      if (out.errors.length > 0) process.exitCode = 1;
    });
}
