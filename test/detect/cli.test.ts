import { mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Command } from 'commander';
import { registerDetectCommands } from '../../agent/detect/anomaly/cli.ts';
import { runEvalNab } from '../../agent/detect/anomaly/commands.ts';

const NAB = join(import.meta.dirname, 'testdata', 'nab');
const FILE = 'realAdExchange/exchange-2_cpm_results.csv';
let dir = '';

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vigil-detect-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function run(args: string[]): Promise<string> {
  const program = new Command().exitOverride();
  registerDetectCommands(program);
  let out = '';
  const spyOut = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out += String(chunk);
    return true;
  });
  const spyErr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  try {
    await program.parseAsync(['node', 'vigil', ...args]);
  } finally {
    spyOut.mockRestore();
    spyErr.mockRestore();
  }
  return out;
}

function rows(text: string): string[][] {
  return text.trim().split(/\r?\n/).map((l) => l.split(','));
}

describe('vigil detect', () => {
  it('writes one scored row per input row, same order, scores in [0, 1], no look-ahead', async () => {
    const input = join(NAB, FILE);
    const output = join(dir, 'out', 'a.csv');
    await run(['detect', '--input', input, '--output', output, '--seed', '3']);
    const inRows = rows(await readFile(input, 'utf8'));
    const outRows = rows(await readFile(output, 'utf8'));
    expect(outRows[0]).toEqual(['timestamp', 'value', 'anomaly_score']);
    expect(outRows.length).toBe(inRows.length);
    let positive = 0;
    for (let i = 1; i < inRows.length; i++) {
      expect(outRows[i]![0]).toBe(inRows[i]![0]!.trim());
      expect(outRows[i]![1]).toBe(inRows[i]![1]!.trim());
      const s = Number(outRows[i]![2]);
      expect(s).toBeGreaterThanOrEqual(0);
      expect(s).toBeLessThanOrEqual(1);
      if (s > 0) positive++;
    }
    expect(positive).toBeGreaterThan(0);
    // streaming: scoring a prefix of the file gives exactly the prefix of the scores
    const prefix = join(dir, 'prefix.csv');
    await writeFile(prefix, (await readFile(input, 'utf8')).split('\r\n').slice(0, 801).join('\n') + '\n');
    const prefixOut = join(dir, 'prefix-out.csv');
    await run(['detect', '--input', prefix, '--output', prefixOut, '--seed', '3']);
    const p = rows(await readFile(prefixOut, 'utf8'));
    expect(p.length).toBe(801);
    for (let i = 1; i < p.length; i++) expect(p[i]![2]).toBe(outRows[i]![2]);
    // same seed → same output
    const again = join(dir, 'again.csv');
    await run(['detect', '--input', input, '--output', again, '--seed', '3']);
    expect(await readFile(again, 'utf8')).toBe(await readFile(output, 'utf8'));
  });

  it('rejects a malformed file with its path and line', async () => {
    const bad = join(dir, 'bad.csv');
    await writeFile(bad, 'timestamp,value\n2014-01-01 00:00:00,1\n2014-01-01 00:05:00,x\n');
    await expect(run(['detect', '--input', bad, '--output', join(dir, 'bad-out.csv')])).rejects.toThrow(/bad\.csv:3: bad value/);
  });
});

describe('vigil eval nab', () => {
  it('prints the three normalised scores; precomputed perfect output scores 100', async () => {
    // a "perfect" detector output: 1 on the first row of each window, 0 elsewhere
    const input = await readFile(join(NAB, FILE), 'utf8');
    const lines = input.trim().split(/\r?\n/).slice(1);
    const starts = ['2011-07-24 14:00:01', '2011-08-09 00:00:01'];
    const perfectDir = join(dir, 'perfect');
    await mkdir(join(perfectDir, 'realAdExchange'), { recursive: true });
    await writeFile(
      join(perfectDir, FILE),
      ['timestamp,value,anomaly_score', ...lines.map((l) => `${l},${starts.includes(l.split(',')[0]!) ? 1 : 0}`)].join('\n'),
    );
    const out = await run(['eval', 'nab', '--data', NAB, '--labels', join(NAB, 'combined_windows.json'), '--detector-output', perfectDir]);
    expect(out).toMatch(/standard\s+100\.00/);
    expect(out).toMatch(/reward_low_FP_rate\s+100\.00/);
    expect(out).toMatch(/reward_low_FN_rate\s+100\.00/);
  });

  it('runs the detector itself when no output is given', async () => {
    const res = await runEvalNab({ data: NAB, labels: join(NAB, 'combined_windows.json'), seed: 1 });
    expect(res.map((r) => r.profile)).toEqual(['standard', 'reward_low_FP_rate', 'reward_low_FN_rate']);
    expect(res[0]!.perFile).toHaveLength(1);
    expect(res[0]!.perfectRaw).toBe(2);
    // better than never firing on this file (its two anomalies are clear)
    expect(res[0]!.normalised).toBeGreaterThan(0);
    expect(res[0]!.normalised).toBeLessThanOrEqual(100);
  });

  it('says what it found when no labelled file is under --data', async () => {
    await expect(runEvalNab({ data: dir, labels: join(NAB, 'combined_windows.json') })).rejects.toThrow(/no labelled file/);
  });
});
