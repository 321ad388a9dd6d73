/**
 * `npm run bench:detect`: figures for the isolation forest and the streaming anomaly detector.
 *   1. training time, 100 trees × ψ 256
 *   2. scoring throughput, one thread, 100 trees (goal ≥ 500,000 points/s)
 *   3. model memory
 *   4. agent CPU scoring 1,000 series at 1 Hz (goal < 5 % of one core), and the longest
 *      event-loop turn spent retraining
 *   5. the npm `isolation-forest` package side by side: speed, and NAB score with the same
 *      features and protocol (needs /work/shared/nab or NAB_DIR; `--no-nab` skips both NAB runs)
 * Prints figures; asserts nothing.
 */
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { context, metrics, trace } from '@opentelemetry/api';
import { pino } from 'pino';
import { IsolationForest as NpmIsolationForest } from 'isolation-forest';
import { IsolationForest } from '../agent/detect/iforest/forest.ts';
import { Prng } from '../agent/detect/iforest/prng.ts';
import { StreamingDetector, DEFAULT_DETECTOR_OPTIONS, detectSeries, type ForestModel } from '../agent/detect/anomaly/streaming-detector.ts';
import { anomalyConfigSchema } from '../agent/detect/anomaly/config.ts';
import { createAnomalyDetector } from '../agent/detect/anomaly/index.ts';
import { readNabSeries, readWindowLabels, windowsToRows } from '../agent/detect/nab/data.ts';
import { scoreCorpus, type NabFile, type ProfileResult } from '../agent/detect/nab/scorer.ts';
import { SeriesStore, type Series } from '../agent/store/series-store.ts';
import { MetricRegistry } from '../agent/telemetry/metric-registry.ts';
import { TypedEmitter } from '../agent/util/events.ts';
import type { AgentEventMap, AgentServices } from '../agent/services.ts';

const args = new Set(process.argv.slice(2));
const NAB_DIR = process.env.NAB_DIR ?? '/work/shared/nab';
const DIMS = DEFAULT_DETECTOR_OPTIONS.features.features.length;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function gaussianData(rows: number, dims: number, seed: number): Float64Array {
  const r = new Prng(seed);
  const out = new Float64Array(rows * dims);
  for (let i = 0; i < out.length; i++) out[i] = r.gaussian();
  return out;
}

/** CPU ms (user + system) of this process while running fn: robust to a busy machine, unlike wall time. */
function cpuMs(fn: () => void): number {
  const c0 = process.cpuUsage();
  fn();
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / 1000;
}

function line(label: string, value: string): void {
  console.log(`${label.padEnd(58)} ${value}`);
}

// ---- 1. training --------------------------------------------------------------------------
function benchTraining(): void {
  const data = gaussianData(1000, DIMS, 1);
  const f = new IsolationForest({ trees: 100, sampleSize: 256, seed: 1 });
  for (let i = 0; i < 5; i++) f.fit(data, 1000, DIMS); // warm-up (JIT)
  const times: number[] = [];
  const wall: number[] = [];
  for (let i = 0; i < 10; i++) {
    const t0 = performance.now();
    times.push(cpuMs(() => {
      for (let k = 0; k < 10; k++) f.fit(data, 1000, DIMS);
    }) / 10);
    wall.push((performance.now() - t0) / 10);
  }
  line(`train 100 trees × ψ 256 (${DIMS} features, window 1000)`, `median ${median(times).toFixed(2)} ms CPU, min ${Math.min(...times).toFixed(2)} ms (wall median ${median(wall).toFixed(2)} ms)`);
}

// ---- 2. scoring throughput ----------------------------------------------------------------
function benchScoring(): void {
  const n = 4096;
  const train = gaussianData(1000, DIMS, 2);
  const probe = gaussianData(n, DIMS, 3);
  const f = new IsolationForest({ trees: 100, sampleSize: 256, seed: 2 }).fit(train, 1000, DIMS);
  let sink = 0;
  for (let i = 0; i < 50_000; i++) sink += f.score(probe, (i % n) * DIMS);
  const rates: number[] = [];
  for (let rep = 0; rep < 5; rep++) {
    const N = 400_000;
    const ms = cpuMs(() => {
      for (let i = 0; i < N; i++) sink += f.score(probe, (i % n) * DIMS);
    });
    rates.push(N / (ms / 1000));
  }
  line('score, 100 trees, one thread, a call per point (points/CPU-s)', `median ${Math.round(median(rates)).toLocaleString('en')}, best ${Math.round(Math.max(...rates)).toLocaleString('en')}  (goal ≥ 500,000)`);
  // batch: scoreMany over blocks of points, no call per point (same scores to the bit)
  const out = new Float64Array(n);
  const batch: number[] = [];
  for (let rep = 0; rep < 5; rep++) {
    const reps = 100;
    const ms = cpuMs(() => {
      for (let k = 0; k < reps; k++) {
        f.scoreMany(probe, n, out);
        sink += out[k]!;
      }
    });
    batch.push((reps * n) / (ms / 1000));
  }
  line('score, 100 trees, one thread, scoreMany (points/CPU-s)', `median ${Math.round(median(batch)).toLocaleString('en')}, best ${Math.round(Math.max(...batch)).toLocaleString('en')}  (goal ≥ 500,000)`);

  // the whole streaming step: features + forest + calibration + companions + suppression, no
  // retraining; one point a second, as the agent collects (the seasonal median once per bin)
  const det = new StreamingDetector(['v'], { ...DEFAULT_DETECTOR_OPTIONS, retrainEvery: 1e9 });
  const r = new Prng(4);
  const one = new Float64Array(1);
  let t = Date.UTC(2024, 0, 1);
  for (let i = 0; i < 2000; i++) {
    one[0] = r.gaussian();
    det.update(one, (t += 1000));
  }
  const N = 200_000;
  const ms = cpuMs(() => {
    for (let i = 0; i < N; i++) {
      one[0] = r.gaussian();
      sink += det.update(one, (t += 1000)).calibrated;
    }
  });
  line('streaming detector update, no retrain (points per CPU-second)', Math.round(N / (ms / 1000)).toLocaleString('en'));
  if (sink === 42) console.log('');
}

// ---- 3. memory ----------------------------------------------------------------------------
function benchMemory(): void {
  const f = new IsolationForest({ trees: 100, sampleSize: 256, seed: 1 }).fit(gaussianData(1000, DIMS, 1), 1000, DIMS);
  line('model size, 100 trees × 256 (typed arrays)', `${(f.bytes / 1024).toFixed(1)} KiB (binary ${(f.toBinary().byteLength / 1024).toFixed(1)} KiB, JSON ${(JSON.stringify(f.toJSON()).length / 1024).toFixed(1)} KiB)`);
  const det = new StreamingDetector(['v'], DEFAULT_DETECTOR_OPTIONS);
  for (let i = 0; i < 1200; i++) det.update([Math.sin(i / 10)], i * 1000);
  line('one streaming detector at the defaults (model + windows + seasonal table)', `${(det.bytes / 1024).toFixed(1)} KiB`);
}

// ---- 4. agent CPU at 1,000 series × 1 Hz --------------------------------------------------
async function benchAgent(overrides: Record<string, unknown> = {}): Promise<void> {
  const SERIES = 1000;
  const store = new SeriesStore({ retentionMs: 600_000, maxSeries: 5000 });
  const registry = new MetricRegistry();
  registry.register('app', [{ name: 'app.queue.depth', kind: 'gauge', unit: '{item}', description: 'queue depth', attributes: ['queue'] }]);
  const events = new TypedEmitter<AgentEventMap>();
  const services: AgentServices = {
    logger: pino({ level: 'silent' }),
    store,
    metrics: registry,
    tracer: trace.getTracer('bench'),
    meter: metrics.getMeter('bench'),
    events,
    http: { add() {} },
    plugins: { statuses: () => [] },
    dataDir: '/tmp',
    externalUrl: 'http://127.0.0.1:9464',
  };
  const cfg = anomalyConfigSchema.parse({ max_detectors: SERIES, ...overrides });
  let t = Date.UTC(2026, 0, 1);
  // simulated clock: 1 s per tick, so the retrain CPU budget is applied to simulated time
  const det = createAnomalyDetector(cfg, services, { now: () => t });
  await det.start();
  const rng = new Prng(7);
  const level = Float64Array.from({ length: SERIES }, () => 100 + 50 * rng.next());
  const attrs = Array.from({ length: SERIES }, (_, i) => ({ queue: `q${i}` }));
  const written: Series[] = new Array(SERIES);
  const tick = (): number => {
    t += 1000;
    for (let i = 0; i < SERIES; i++) written[i] = store.record('app', 'app.queue.depth', attrs[i], level[i]! + 5 * rng.gaussian(), t, 1000)!;
    const t0 = performance.now();
    events.emit('collection', { plugin: 'app', at: t, ok: true, series: written, context: context.active() });
    return performance.now() - t0;
  };
  // warm up past the first models and a few retrain rounds
  for (let i = 0; i < 150; i++) {
    tick();
    await det.flushRetrains();
  }
  const ticks = 300;
  const cpu0 = process.cpuUsage();
  const scored0 = det.stats.scored;
  const retrainMs0 = det.stats.retrainMs;
  const retrains0 = det.stats.retrains;
  det.stats.maxRetrainTurnMs = 0;
  det.stats.maxRetrainTurnCpuMs = 0;
  const handler: number[] = [];
  for (let i = 0; i < ticks; i++) {
    handler.push(tick());
    await det.flushRetrains();
  }
  const cpu = process.cpuUsage(cpu0);
  const cpuMs = (cpu.user + cpu.system) / 1000;
  const heap = process.memoryUsage();
  line(`agent: ${SERIES} series × 1 Hz, ${ticks} simulated s, ${cfg.trees} trees × ψ ${cfg.sample_size}`, `${((100 * cpuMs) / (ticks * 1000)).toFixed(2)} % of one core, process CPU time (goal < 5 %)`);
  const retrains = det.stats.retrains - retrains0;
  line('  of which retraining (CPU time, capped by retrain_cpu)', `${(det.stats.retrainMs - retrainMs0).toFixed(0)} ms for ${retrains} retrains (${((100 * (det.stats.retrainMs - retrainMs0)) / (ticks * 1000)).toFixed(2)} % ≤ ${(100 * cfg.retrain_cpu).toFixed(0)} %); each model rebuilt every ≈ ${retrains > 0 ? ((ticks * SERIES) / retrains).toFixed(0) : '∞'} s (retrain_every ${cfg.retrain_every}), ${det.stats.pending} waiting`);
  line('  points scored', `${(det.stats.scored - scored0).toLocaleString('en')}`);
  line('  scoring all series of one collection (handler time)', `median ${median(handler).toFixed(2)} ms, max ${Math.max(...handler).toFixed(2)} ms`);
  line('  longest event-loop turn spent retraining', `${det.stats.maxRetrainTurnCpuMs.toFixed(2)} ms CPU, ${det.stats.maxRetrainTurnMs.toFixed(2)} ms wall (budget ${cfg.retrain_budget} ms + one fit)`);
  await det.stop();
  line('  process memory after', `heap ${(heap.heapUsed / 1048576).toFixed(0)} MiB, array buffers ${(heap.arrayBuffers / 1048576).toFixed(0)} MiB, rss ${(heap.rss / 1048576).toFixed(0)} MiB`);
  line('  detectors / memory', `${det.stats.detectors}, ${(det.bytes() / 1048576).toFixed(0)} MiB in models and windows`);
}

// ---- 5. npm isolation-forest --------------------------------------------------------------
type Row = Record<string, number>;

/**
 * The npm package behind the same interface. It is refitted as a new instance each time:
 * its `fit` appends trees to the old ones while `predict` only reads the first `numberOfTrees`,
 * so refitting an instance never changes its model. (It also builds each tree on all rows,
 * not on the ψ-point sub-sample, and keeps an object per node and per point.)
 */
class NpmForest implements ForestModel {
  private model: NpmIsolationForest | undefined;
  private lo: number[] = [];
  private hi: number[] = [];
  private dims = 0;
  constructor(private readonly trees: number, private readonly psi: number) {}
  fit(data: Float64Array, rows: number, dims: number): void {
    this.dims = dims;
    const X: Row[] = [];
    this.lo = new Array(dims).fill(Infinity);
    this.hi = new Array(dims).fill(-Infinity);
    for (let r = 0; r < rows; r++) {
      const o: Row = {};
      for (let f = 0; f < dims; f++) {
        const v = data[r * dims + f]!;
        o[`f${f}`] = v;
        if (v < this.lo[f]!) this.lo[f] = v;
        if (v > this.hi[f]!) this.hi[f] = v;
      }
      X.push(o);
    }
    this.model = new NpmIsolationForest(this.trees, this.psi);
    this.model.fit(X);
  }
  score(x: Float64Array, offset = 0): number {
    const o: Row = {};
    for (let f = 0; f < this.dims; f++) o[`f${f}`] = x[offset + f]!;
    return this.model!.predict([o])[0]!;
  }
  featureMin(f: number): number {
    return this.lo[f]!;
  }
  featureMax(f: number): number {
    return this.hi[f]!;
  }
  get bytes(): number {
    return 0;
  }
}

function benchNpmSpeed(): void {
  const data = gaussianData(1000, DIMS, 1);
  const f = new NpmForest(100, 256);
  f.fit(data, 1000, DIMS);
  const times: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    f.fit(data, 1000, DIMS);
    times.push(performance.now() - t0);
  }
  line('npm isolation-forest: train 100 trees (ψ 256, window 1000)', `median ${median(times).toFixed(2)} ms`);
  const probe = gaussianData(2000, DIMS, 3);
  let sink = 0;
  const N = 20_000;
  const t0 = performance.now();
  for (let i = 0; i < N; i++) sink += f.score(probe, (i % 2000) * DIMS);
  line('npm isolation-forest: score, 100 trees (points/s)', Math.round(N / ((performance.now() - t0) / 1000)).toLocaleString('en') + (sink === 42 ? '' : ''));
}

async function nabCorpus(): Promise<{ name: string; values: Float64Array; t: Float64Array; windows: [number, number][] }[]> {
  const files = (await readFile(join(NAB_DIR, 'files.txt'), 'utf8')).trim().split('\n');
  const labels = await readWindowLabels(join(NAB_DIR, 'labels', 'combined_windows.json'));
  return Promise.all(
    files.map(async (name) => {
      const s = await readNabSeries(join(NAB_DIR, 'data', name));
      return { name, values: s.values, t: s.t, windows: windowsToRows(s.t, labels[name] ?? []) };
    }),
  );
}

function fmtNab(r: ProfileResult[]): string {
  return r.map((p) => `${p.profile} ${p.normalised.toFixed(2)}`).join(' | ');
}

async function benchNab(): Promise<void> {
  if (!existsSync(join(NAB_DIR, 'files.txt'))) {
    line('NAB', `skipped: no ${NAB_DIR}/files.txt (set NAB_DIR)`);
    return;
  }
  const corpus = await nabCorpus();
  for (const seed of [1, 2, 3]) {
    const t0 = performance.now();
    const files: NabFile[] = corpus.map((c) => ({ name: c.name, windows: c.windows, scores: detectSeries(c.values, { ...DEFAULT_DETECTOR_OPTIONS, seed }, undefined, c.t) }));
    line(`NAB ${corpus.length} files, vigil forest, seed ${seed} (${((performance.now() - t0) / 1000).toFixed(1)} s)`, fmtNab(scoreCorpus(files)));
  }
  if (args.has('--no-npm-nab')) return;
  const t0 = performance.now();
  const files: NabFile[] = corpus.map((c) => ({ name: c.name, windows: c.windows, scores: detectSeries(c.values, DEFAULT_DETECTOR_OPTIONS, new NpmForest(100, 256), c.t) }));
  line(`NAB ${corpus.length} files, npm isolation-forest, same features (${((performance.now() - t0) / 1000).toFixed(1)} s)`, fmtNab(scoreCorpus(files)));
}

console.log(`vigil bench:detect — node ${process.version}, ${DIMS} features per point (${DEFAULT_DETECTOR_OPTIONS.features.features.join(', ')})\n`);
benchTraining();
benchScoring();
benchMemory();
await benchAgent();
await benchAgent({ trees: 100 });
benchNpmSpeed();
if (!args.has('--no-nab')) await benchNab();
