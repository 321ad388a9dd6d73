/**
 * gpu plugin benchmark.
 *
 * 1. CPU cost per collection: loop mode (one long-running `nvidia-smi -lms` child) vs spawning
 *    nvidia-smi every interval (CSV query, the naive exporter way) vs xml mode (`-q -x` every
 *    interval), against a fake nvidia-smi that prints a REAL capture (the H100 load row of
 *    nvidia_gpu_exporter's capture, the largest Telegraf XML). Agent CPU from
 *    process.cpuUsage(); child CPU from /proc/self/stat cutime+cstime (reaped children).
 *    The fake costs far less CPU per start than a real nvidia-smi (which initializes NVML on
 *    every start), so the spawn figures are a lower bound of the real difference.
 * 2. Parse time of the largest XML fixture, and of one loop CSV row.
 *
 *   npx tsx bench/gpu.ts [collections=60] [interval_ms=100]
 */
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PluginLogger, Sample } from '../agent/plugin/api.ts';
import { GpuCollector } from '../plugins/gpu/collector.ts';
import { gpuOptionsSchema } from '../plugins/gpu/config.ts';
import { derive } from '../plugins/gpu/normalize.ts';
import { splitCapture } from '../plugins/gpu/parse/capture.ts';
import { chooseQueryFields, parseHelpQueryGpu, parseQueryGpuCsv } from '../plugins/gpu/parse/csv.ts';
import { parseNvidiaSmiXml } from '../plugins/gpu/parse/xml.ts';
import { execOnce } from '../plugins/gpu/runner/exec.ts';
import { gpuSamples } from '../plugins/gpu/samples.ts';

const N = Number(process.argv[2] ?? 60);
const INTERVAL = Number(process.argv[3] ?? 100);
const ROOT = join(import.meta.dirname, '..');
const FIX = [join(ROOT, '../shared/fixtures/nvidia-smi'), join(ROOT, 'plugins/gpu/testdata')].find((d) => {
  try {
    return statSync(d).isDirectory() && readdirSync(d).some((f) => f.endsWith('.xml'));
  } catch {
    return false;
  }
})!;
const CAPTURE = join(ROOT, '../shared/fixtures/nvidia-smi/captures/linux-x86_64__nvidia-h100-80gb-hbm3__590.48.01.txt');

const silent: PluginLogger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const CLK_TCK = 100; // Linux USER_HZ

function childCpuMs(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields after "(comm)": state=0 … utime=11 stime=12 cutime=13 cstime=14
  return ((Number(f[13]) + Number(f[14])) * 1000) / CLK_TCK;
}

function selfCpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

function largestXml(): { name: string; text: string } {
  const files = readdirSync(FIX).filter((f) => f.endsWith('.xml'));
  const best = files.map((f) => ({ f, size: statSync(join(FIX, f)).size })).sort((a, b) => b.size - a.size)[0]!;
  return { name: best.f, text: readFileSync(join(FIX, best.f), 'utf8') };
}

/** A fake nvidia-smi printing the capture's real H100 load row for whatever fields are asked. */
function makeFake(xml: string): { path: string; fields: string[]; cleanup: () => void } {
  let help = '';
  let header: string[] = [];
  let row: string[] = [];
  try {
    const sections = splitCapture(readFileSync(CAPTURE, 'utf8'));
    help = sections.find((s) => s.command === 'nvidia-smi --help-query-gpu')!.body;
    const q = sections.find((s) => s.name === 'load :: query-gpu')!.body.split('\n');
    header = q[0]!.split(',').map((c) => c.trim().replace(/\s*\[.*\]$/, ''));
    row = q[1]!.split(',').map((c) => c.trim().replace(/ (MiB|W|MHz|%|us)$/, ''));
  } catch {
    throw new Error(`bench needs the capture ${CAPTURE} (../shared beside the checkout)`);
  }
  const fields = chooseQueryFields(parseHelpQueryGpu(help));
  const value = (f: string): string => {
    const i = header.indexOf(f);
    return i >= 0 ? row[i]! : '[N/A]';
  };
  const line = fields.map(value).join(', ');
  const dir = mkdtempSync(join(tmpdir(), 'vigil-bench-gpu-'));
  writeFileSync(join(dir, 'help.txt'), help);
  writeFileSync(join(dir, 'xml.xml'), xml);
  const script = `#!/bin/bash
DIR="$(dirname "$0")"
ROW='${line}'
LMS=""; MODE=""
while [ $# -gt 0 ]; do case "$1" in -lms) LMS="$2"; shift;; --help-query-gpu) MODE=help;; -x) MODE=xml;; --query-gpu=*) MODE=csv;; esac; shift; done
case "$MODE" in
  help) exec cat "$DIR/help.txt";;
  xml) exec cat "$DIR/xml.xml";;
esac
if [ -z "$LMS" ]; then printf '%s\\n' "$ROW"; exit 0; fi
exec 7<> <(:)
SEC=$(( LMS / 1000 )).$(printf '%03d' $(( LMS % 1000 )))
while true; do printf '%s\\n' "$ROW"; read -t "$SEC" -u 7; done
`;
  const path = join(dir, 'nvidia-smi');
  writeFileSync(path, script);
  chmodSync(path, 0o755);
  return { path, fields, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

interface Result {
  readonly mode: string;
  readonly agentMs: number;
  readonly childMs: number;
  readonly wallMs: number[];
  readonly samples: number;
}

function summary(r: Result): string {
  const w = [...r.wallMs].sort((a, b) => a - b);
  const p = (q: number): number => w[Math.min(w.length - 1, Math.floor(q * w.length))]!;
  return `${r.mode.padEnd(34)} agent ${(r.agentMs / N).toFixed(3).padStart(7)} ms  child ${(r.childMs / N).toFixed(3).padStart(7)} ms  total ${((r.agentMs + r.childMs) / N).toFixed(3).padStart(7)} ms   collect wall p50 ${p(0.5).toFixed(2)} ms p95 ${p(0.95).toFixed(2)} ms   samples/collection ${(r.samples / N).toFixed(0)}`;
}

async function runCollector(mode: 'loop' | 'xml', path: string): Promise<Result> {
  const opts = gpuOptionsSchema.parse({ mode, binary: path, processes: false, stall_timeout: '10s' });
  const c = new GpuCollector(opts, { instance: 'gpu', logger: silent, intervalMs: INTERVAL, configDir: '/' });
  await c.start();
  await sleep(INTERVAL * 2); // let the loop settle
  await c.collect({ signal: AbortSignal.timeout(5000), now: Date.now(), logger: silent });
  const child0 = childCpuMs();
  const self0 = selfCpuMs();
  const wall: number[] = [];
  let samples = 0;
  for (let i = 0; i < N; i++) {
    await sleep(INTERVAL);
    const t = performance.now();
    const s = await c.collect({ signal: AbortSignal.timeout(5000), now: Date.now(), logger: silent });
    wall.push(performance.now() - t);
    samples += s.length;
  }
  const agentMs = selfCpuMs() - self0;
  await c.stop(); // reaps the loop child, so its CPU shows in cutime
  await sleep(50);
  return { mode: mode === 'loop' ? 'loop (one nvidia-smi -lms child)' : 'xml (spawn -q -x per interval)', agentMs, childMs: childCpuMs() - child0, wallMs: wall, samples };
}

async function runSpawnCsv(path: string, fields: string[]): Promise<Result> {
  const args = [`--query-gpu=${fields.join(',')}`, '--format=csv,noheader,nounits'];
  await execOnce({ binary: path, args, timeoutMs: 5000 });
  const child0 = childCpuMs();
  const self0 = selfCpuMs();
  const wall: number[] = [];
  let samples = 0;
  for (let i = 0; i < N; i++) {
    await sleep(INTERVAL);
    const t = performance.now();
    const r = await execOnce({ binary: path, args, timeoutMs: 5000 });
    const out: Sample[] = [];
    const at = Date.now();
    for (const g of parseQueryGpuCsv(r.stdout, fields, 0, false).gpus) gpuSamples(derive(g), at, out);
    wall.push(performance.now() - t);
    samples += out.length;
  }
  const agentMs = selfCpuMs() - self0;
  await sleep(50);
  return { mode: 'spawn CSV query per interval', agentMs, childMs: childCpuMs() - child0, wallMs: wall, samples };
}

function timeIt(label: string, iterations: number, fn: () => void): void {
  for (let i = 0; i < Math.min(200, iterations / 5); i++) fn();
  const times: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const t = performance.now();
    fn();
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  const mean = times.reduce((a, b) => a + b, 0) / times.length;
  console.log(`${label.padEnd(58)} mean ${(mean * 1000).toFixed(1).padStart(8)} µs  p50 ${(times[Math.floor(times.length / 2)]! * 1000).toFixed(1).padStart(8)} µs  p99 ${(times[Math.floor(times.length * 0.99)]! * 1000).toFixed(1).padStart(8)} µs`);
}

async function main(): Promise<void> {
  const xml = largestXml();
  const fake = makeFake(xml.text);
  console.log(`gpu bench: ${N} collections every ${INTERVAL} ms; fake nvidia-smi printing the H100 load capture (${fake.fields.length} fields) and ${xml.name} (${xml.text.length} bytes)\n`);
  console.log('1. CPU per collection (agent = this process, child = nvidia-smi processes, reaped)');
  try {
    for (const r of [await runCollector('loop', fake.path), await runSpawnCsv(fake.path, fake.fields), await runCollector('xml', fake.path)]) console.log(`   ${summary(r)}`);
  } finally {
    fake.cleanup();
  }
  console.log('\n2. Parse time');
  timeIt(`   XML ${xml.name} (validate + parse + normalize)`, 2000, () => {
    for (const g of parseNvidiaSmiXml(xml.text).gpus) derive(g);
  });
  const sections = splitCapture(readFileSync(CAPTURE, 'utf8'));
  const q = sections.find((s) => s.name === 'load :: query-gpu')!.body;
  timeIt('   CSV H100 query-gpu, 212 fields with header and units', 5000, () => {
    for (const g of parseQueryGpuCsv(q).gpus) derive(g);
  });
  const fields = chooseQueryFields(parseHelpQueryGpu(sections.find((s) => s.command === 'nvidia-smi --help-query-gpu')!.body));
  const header = q.split('\n')[0]!.split(',').map((c) => c.trim().replace(/\s*\[.*\]$/, ''));
  const row = q.split('\n')[1]!.split(',').map((c) => c.trim());
  const loopRow = fields.map((f) => (header.indexOf(f) >= 0 ? row[header.indexOf(f)]! : '[N/A]')).join(', ');
  timeIt(`   CSV one loop row (${fields.length} fields) + samples`, 20000, () => {
    const out: Sample[] = [];
    for (const g of parseQueryGpuCsv(loopRow, fields, 0, false).gpus) gpuSamples(derive(g), 0, out);
  });
}

await main();
