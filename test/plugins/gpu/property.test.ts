/**
 * Property tests: real outputs, mutated (truncated, spliced, garbage inserted, lines dropped
 * or duplicated, characters flipped) never make a parser throw anything but a GpuParseError
 * (XML, as a whole-document verdict), and whatever they return is well-formed: finite
 * numbers or null, ratios never NaN, every GPU identifiable.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { derive, type Gpu, type RawGpu } from '../../../plugins/gpu/normalize.ts';
import { parseCapture, splitCapture } from '../../../plugins/gpu/parse/capture.ts';
import { parseComputeAppsCsv, parseHelpQueryGpu, parseQueryGpuCsv } from '../../../plugins/gpu/parse/csv.ts';
import { GpuParseError } from '../../../plugins/gpu/parse/errors.ts';
import { parseValue, type ValueKind } from '../../../plugins/gpu/parse/values.ts';
import { parseNvidiaSmiXml } from '../../../plugins/gpu/parse/xml.ts';
import { FIXTURES, TESTDATA } from './support/fake-smi.ts';

const H100 = readFileSync(join(FIXTURES, 'captures/linux-x86_64__nvidia-h100-80gb-hbm3__590.48.01.txt'), 'utf8');
const sections = splitCapture(H100);
const QUERY_GPU = sections.find((s) => s.name === 'load :: query-gpu')!.body;
const APPS = sections.find((s) => s.name === 'load :: query-compute-apps')!.body;
const XMLS = ['tesla-t4.xml', 'a100-sxm4-v12.xml', 'gtx-1070-ti.xml', 'synthetic-legacy-ecc-mig.xml'].map((f) => readFileSync(join(TESTDATA, f), 'utf8'));

type Mutation =
  | { op: 'truncate'; at: number }
  | { op: 'insert'; at: number; text: string }
  | { op: 'delete'; at: number; len: number }
  | { op: 'flip'; at: number; ch: string }
  | { op: 'dupLine'; line: number }
  | { op: 'dropLine'; line: number }
  | { op: 'swapLines'; a: number; b: number };

const garbage = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.constantFrom('[N/A]', ', ', '\n', '\r\n', '<', '>', '</gpu>', '<gpu>', '&amp;', '&bogus;', ' MiB', ' %', '"', '\u0000', 'NaN', '1e999', '-1', '\uFFFD', '<![CDATA[', ']]>', '<!--', '-->'),
);

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ op: fc.constant('insert' as const), at: fc.nat(), text: garbage }),
  fc.record({ op: fc.constant('delete' as const), at: fc.nat(), len: fc.integer({ min: 1, max: 200 }) }),
  fc.record({ op: fc.constant('flip' as const), at: fc.nat(), ch: fc.string({ minLength: 1, maxLength: 1 }) }),
  fc.record({ op: fc.constant('dupLine' as const), line: fc.nat() }),
  fc.record({ op: fc.constant('dropLine' as const), line: fc.nat() }),
  fc.record({ op: fc.constant('swapLines' as const), a: fc.nat(), b: fc.nat() }),
);

function mutate(text: string, muts: readonly Mutation[]): string {
  let t = text;
  for (const m of muts) {
    const n = Math.max(1, t.length);
    switch (m.op) {
      case 'truncate':
        t = t.slice(0, m.at % n);
        break;
      case 'insert':
        t = t.slice(0, m.at % n) + m.text + t.slice(m.at % n);
        break;
      case 'delete':
        t = t.slice(0, m.at % n) + t.slice((m.at % n) + m.len);
        break;
      case 'flip':
        t = t.slice(0, m.at % n) + m.ch + t.slice((m.at % n) + 1);
        break;
      default: {
        const lines = t.split('\n');
        const L = lines.length;
        if (m.op === 'dupLine') lines.splice(m.line % L, 0, lines[m.line % L]!);
        else if (m.op === 'dropLine') lines.splice(m.line % L, 1);
        else [lines[m.a % L], lines[m.b % L]] = [lines[m.b % L]!, lines[m.a % L]!];
        t = lines.join('\n');
      }
    }
  }
  return t;
}

function assertWellFormed(g: RawGpu | Gpu): void {
  for (const [k, v] of Object.entries(g)) {
    if (typeof v === 'number') expect(Number.isFinite(v), `${k}=${v}`).toBe(true);
  }
  expect(g.uuid !== null || g.index !== null || g.pciBusId !== null).toBe(true);
  for (const p of g.processes) expect(Number.isInteger(p.pid)).toBe(true);
  const d = derive(g);
  if (d.memoryUtilization !== null) expect(Number.isFinite(d.memoryUtilization)).toBe(true);
}

const RUNS = { numRuns: 300 };

describe('mutated inputs: no exception escapes', () => {
  it('query-gpu CSV (with header, and headerless with a field list)', () => {
    const header = QUERY_GPU.split('\n')[0]!;
    const fields = header.split(',').map((c) => c.trim().replace(/\s*\[.*\]$/, ''));
    fc.assert(
      fc.property(fc.array(mutation, { minLength: 1, maxLength: 6 }), (muts) => {
        const text = mutate(QUERY_GPU, muts);
        for (const r of [parseQueryGpuCsv(text), parseQueryGpuCsv(text.split('\n').slice(1).join('\n'), fields, 0, false)]) {
          for (const g of r.gpus) assertWellFormed(g);
          for (const e of r.errors) expect(e).toBeInstanceOf(GpuParseError);
        }
      }),
      RUNS,
    );
  });

  it('compute-apps CSV', () => {
    fc.assert(
      fc.property(fc.array(mutation, { minLength: 1, maxLength: 6 }), (muts) => {
        const r = parseComputeAppsCsv(mutate(APPS, muts));
        for (const p of r.processes) {
          expect(Number.isInteger(p.pid) && p.pid >= 0).toBe(true);
          if (p.usedMemoryBytes !== null) expect(Number.isFinite(p.usedMemoryBytes)).toBe(true);
        }
      }),
      RUNS,
    );
  });

  it('XML: returns well-formed GPUs or throws GpuParseError, nothing else', () => {
    fc.assert(
      fc.property(fc.constantFrom(...XMLS), fc.array(mutation, { minLength: 1, maxLength: 4 }), (xml, muts) => {
        const text = mutate(xml, muts);
        try {
          const r = parseNvidiaSmiXml(text);
          for (const g of r.gpus) {
            for (const [k, v] of Object.entries(g)) if (typeof v === 'number') expect(Number.isFinite(v), k).toBe(true);
            derive(g);
          }
        } catch (err) {
          expect(err).toBeInstanceOf(GpuParseError);
        }
      }),
      RUNS,
    );
  });

  it('XML: truncation anywhere is an error, never a partial document read as complete', () => {
    const xml = XMLS[0]!;
    fc.assert(
      fc.property(fc.integer({ min: 1, max: xml.trimEnd().length - 1 }), (at) => {
        const cut = xml.slice(0, at);
        expect(() => parseNvidiaSmiXml(cut)).toThrow(GpuParseError);
      }),
      { numRuns: 200 },
    );
  });

  it('capture files and --help-query-gpu text', () => {
    const small = H100.slice(0, 60_000) + sections.filter((s) => s.name.startsWith('load')).map((s) => `# $ ${s.command}\n${s.body}\n`).join('');
    fc.assert(
      fc.property(fc.array(mutation, { minLength: 1, maxLength: 5 }), (muts) => {
        const text = mutate(small, muts);
        for (const s of parseCapture(text)) for (const g of s.gpus) assertWellFormed(g);
        parseHelpQueryGpu(text);
      }),
      { numRuns: 100 },
    );
  });

  it('single values: any string of any kind is a finite number, null, or unreadable', () => {
    const kinds: ValueKind[] = ['bytes', 'ratio', 'watts', 'celsius', 'hz', 'bytesPerSecond', 'count', 'active', 'yesno'];
    fc.assert(
      fc.property(fc.string({ maxLength: 30 }), fc.constantFrom(...kinds), fc.option(fc.string({ maxLength: 5 }), { nil: undefined }), (s, k, unit) => {
        const v = parseValue(s, k, unit);
        if (typeof v === 'number') expect(Number.isFinite(v)).toBe(true);
        else if (v !== null) expect(v.unreadable).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });
});
