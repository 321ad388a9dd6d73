import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { context, metrics, trace } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { pino } from 'pino';
import type { AgentEventMap, AgentServices, AnomalyEvent } from '../../agent/services.ts';
import { SeriesStore, type Series } from '../../agent/store/series-store.ts';
import { MetricRegistry } from '../../agent/telemetry/metric-registry.ts';
import { TypedEmitter } from '../../agent/util/events.ts';
import { anomalyConfigSchema } from '../../agent/detect/anomaly/config.ts';
import { createAnomalyDetector, ANOMALY_SCORE_METRIC, type AnomalySubsystem } from '../../agent/detect/anomaly/index.ts';
import { Prng } from '../../agent/detect/iforest/prng.ts';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function harness(dataDir = mkdtempSync(join(tmpdir(), 'vigil-anomaly-'))) {
  dirs.push(dataDir);
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const tracer = provider.getTracer('test');
  const store = new SeriesStore({ retentionMs: 3_600_000, maxSeries: 1000 });
  const registry = new MetricRegistry();
  registry.register('app', [
    { name: 'app.latency', kind: 'gauge', unit: 's', description: 'latency', attributes: ['route'] },
    { name: 'app.requests', kind: 'counter', unit: '{request}', description: 'requests', attributes: [] },
    { name: 'gpu.util', kind: 'gauge', unit: '1', description: 'u', attributes: ['gpu', 'task'] },
    { name: 'gpu.mem', kind: 'gauge', unit: 'By', description: 'm', attributes: ['gpu'], limit: 'gpu.mem.limit' },
    { name: 'gpu.mem.limit', kind: 'gauge', unit: 'By', description: 'limit', attributes: ['gpu'] },
  ]);
  registry.register('vigil', [{ name: 'vigil.agent.heap', kind: 'gauge', unit: 'By', description: 'self', attributes: [] }]);
  const events = new TypedEmitter<AgentEventMap>((err) => {
    throw err;
  });
  const services: AgentServices = {
    logger: pino({ level: 'silent' }),
    store,
    metrics: registry,
    tracer,
    meter: metrics.getMeter('test'),
    events,
    http: { add() {} },
    plugins: { statuses: () => [] },
    dataDir,
    externalUrl: 'http://127.0.0.1:9464',
  };
  const anomalies: AnomalyEvent[] = [];
  events.on('anomaly', (e) => anomalies.push(e));
  /** One collection of `plugin`: writes the samples and emits the event under a collection span. */
  const collect = (plugin: string, t: number, samples: { metric: string; value: number; attributes?: Record<string, string> }[]) => {
    const span = tracer.startSpan('collect');
    const written: Series[] = [];
    for (const s of samples) {
      const series = store.record(plugin, s.metric, s.attributes, s.value, t, 1000);
      if (series) written.push(series);
    }
    const ctx = trace.setSpan(context.active(), span);
    events.emit('collection', { plugin, at: t, ok: true, series: written, context: ctx });
    span.end();
    return span.spanContext().spanId;
  };
  return { services, store, registry, events, exporter, anomalies, collect, tracer, dataDir };
}

let det: AnomalySubsystem | undefined;
afterEach(async () => {
  await det?.stop();
  det = undefined;
});

describe('anomaly detector in the agent', () => {
  it('scores eligible gauges, writes vigil.anomaly.score, raises one explained event for a spike', async () => {
    const h = harness();
    const cfg = anomalyConfigSchema.parse({ window: 300, retrain_every: 25, min_train: 40, trees: 50, sample_size: 128, calibration: { history: 300 }, retrain_cpu: 1 });
    det = createAnomalyDetector(cfg, h.services);
    await det.start();
    expect(h.registry.get(ANOMALY_SCORE_METRIC)?.declaredBy).toBe('detect');
    const rng = new Prng(4);
    let t = 1_700_000_000_000;
    let lastCollectSpan = '';
    for (let i = 0; i < 400; i++) {
      t += 1000;
      const latency = i === 350 ? 25 : 1 + 0.05 * rng.gaussian();
      lastCollectSpan = h.collect('web', t, [
        { metric: 'app.latency', value: latency, attributes: { route: '/api' } },
        { metric: 'app.requests', value: i * 10 },
        { metric: 'gpu.mem.limit', value: 8e9, attributes: { gpu: '0' } },
      ]);
      h.collect('self', t, [{ metric: 'vigil.agent.heap', value: 1e6 + i }]);
      await det.flushRetrains();
    }
    // only the gauge of a plugin has a detector: not the counter, not a limit, not the agent's own metric
    expect(det.stats.detectors).toBe(1);
    const scores = h.store.find(ANOMALY_SCORE_METRIC);
    expect(scores).toHaveLength(1);
    expect(scores[0]!.attributes).toEqual({ metric: 'app.latency', route: '/api' });
    expect(scores[0]!.source).toBe('detect');
    expect(h.store.lookup(ANOMALY_SCORE_METRIC, { metric: 'app.requests' })).toBeUndefined();
    // the spike is the one event, explained by what scored it: its value against the long run
    const spike = h.anomalies.filter((a) => a.at === 1_700_000_000_000 + 351_000);
    expect(spike).toHaveLength(1);
    expect(spike[0]!.metric).toBe('app.latency');
    expect(spike[0]!.score).toBeGreaterThan(cfg.sensitivity);
    expect(spike[0]!.explanation).toMatch(/^app\.latency value: \+\d+(\.\d)? σ from its long-run mean$/);
    expect(h.anomalies.length).toBeLessThanOrEqual(3);
    // scores are in [0, 1]
    const s = scores[0]!;
    for (let i = 0; i < s.length; i++) {
      expect(s.valueAt(i)).toBeGreaterThanOrEqual(0);
      expect(s.valueAt(i)).toBeLessThanOrEqual(1);
    }
    expect(det.stats.retrains).toBeGreaterThan(10);
    // every detection run is a span, child of its collection's span
    const spans = h.exporter.getFinishedSpans().filter((sp) => sp.name === 'vigil.detect.anomaly');
    expect(spans.length).toBeGreaterThanOrEqual(400);
    const last = spans.filter((sp) => sp.attributes['vigil.plugin'] === 'web').at(-1)!;
    expect(last.parentSpanContext?.spanId).toBe(lastCollectSpan);
    expect(last.attributes['vigil.detect.scored']).toBe(1);
  });

  it('suppresses repeated events during a sustained anomaly (cooldown)', async () => {
    const h = harness();
    const cfg = anomalyConfigSchema.parse({ window: 200, retrain_every: 20, min_train: 40, trees: 30, sample_size: 64, calibration: { history: 200 }, suppression: { points: 0, cooldown: '1h' }, retrain_cpu: 1 });
    det = createAnomalyDetector(cfg, h.services);
    await det.start();
    const rng = new Prng(9);
    let t = 1_000_000;
    for (let i = 0; i < 300; i++) {
      t += 1000;
      // every 10th point after 150 is a spike: without suppression each would fire
      const v = i > 150 && i % 10 === 0 ? 40 : 1 + 0.05 * rng.gaussian();
      h.collect('web', t, [{ metric: 'app.latency', value: v, attributes: { route: '/x' } }]);
      await det.flushRetrains();
    }
    expect(h.anomalies.length).toBe(1);
  });

  it('respects include/exclude patterns and the detector cap', async () => {
    const h = harness();
    det = createAnomalyDetector(anomalyConfigSchema.parse({ max_detectors: 2, metrics: { include: ['app.*', 'gpu.*'], exclude: ['gpu.mem'] } }), h.services);
    await det.start();
    h.collect('web', 1000, [
      { metric: 'app.latency', value: 1, attributes: { route: '/a' } },
      { metric: 'app.latency', value: 1, attributes: { route: '/b' } },
      { metric: 'app.latency', value: 1, attributes: { route: '/c' } },
      { metric: 'gpu.mem', value: 1, attributes: { gpu: '0' } },
    ]);
    expect(det.stats.detectors).toBe(2);
    expect(det.stats.refused).toBe(1);
  });

  it('scores a configured group jointly on each cycle and names the channel that moved', async () => {
    const h = harness();
    const cfg = anomalyConfigSchema.parse({
      window: 200,
      retrain_every: 20,
      min_train: 40,
      trees: 50,
      sample_size: 128,
      calibration: { history: 200 },
      // 8 features over a short, young history: raw scores vary a lot, so a maximal raw score is only z ≈ 3.5
      sensitivity: 0.2,
      retrain_cpu: 1,
      suppression: { points: 50, cooldown: '10s' },
      metrics: { include: [] },
      groups: [{ name: 'gpu', metrics: ['gpu.mem', 'gpu.util'], match: { task: 'general' } }],
    });
    det = createAnomalyDetector(cfg, h.services);
    await det.start();
    const rng = new Prng(2);
    let t = 5_000_000;
    for (let i = 0; i < 260; i++) {
      t += 1000;
      const mem = i === 230 ? 9e9 : 4e9 + 1e7 * rng.gaussian();
      h.collect('gpu', t, [
        { metric: 'gpu.util', value: 0.5 + 0.02 * rng.gaussian(), attributes: { gpu: '0', task: 'general' } },
        { metric: 'gpu.util', value: 0.1 * rng.next(), attributes: { gpu: '0', task: 'encoder' } },
        { metric: 'gpu.mem', value: mem, attributes: { gpu: '0' } },
      ]);
      h.events.emit('cycle', { at: t, plugins: ['gpu'], context: context.active() });
      await det.flushRetrains();
    }
    expect(det.stats.detectors).toBe(1);
    const g = h.store.lookup(ANOMALY_SCORE_METRIC, { group: 'gpu', gpu: '0' });
    expect(g?.length).toBeGreaterThan(100);
    const ev = h.anomalies.find((a) => a.at === 5_000_000 + 231_000);
    expect(ev?.subject).toMatch(/^group:gpu/);
    expect(ev?.explanation).toMatch(/^gpu\.mem[: ]/);
  });

  it('keeps retraining within the retrain_cpu budget: due models wait, scoring goes on', async () => {
    const h = harness();
    let clock = 0;
    const cfg = anomalyConfigSchema.parse({ min_train: 20, window: 100, retrain_every: 10, trees: 300, retrain_cpu: 0.0001, max_detectors: 1000 });
    det = createAnomalyDetector(cfg, h.services, { now: () => clock });
    await det.start();
    const rng = new Prng(1);
    const tick = async () => {
      clock += 1000;
      h.collect(
        'web',
        clock,
        Array.from({ length: 200 }, (_, i) => ({ metric: 'app.latency', value: 1 + rng.gaussian(), attributes: { route: `/r${i}` } })),
      );
      await det!.flushRetrains();
    };
    for (let i = 0; i < 40; i++) await tick();
    // 200 models are due 3 times (≈ 600 fits of 300 trees); the bucket starts at 50 ms of CPU
    // and refills at 0.1 ms per simulated second: ≈ 54 ms in all
    expect(det.stats.scored).toBe(200 * 40);
    expect(det.stats.retrains).toBeLessThan(600);
    expect(det.stats.pending).toBeGreaterThan(0);
    const before = det.stats.retrains;
    clock += 3_600_000; // an hour later the bucket is full again
    await tick();
    expect(det.stats.retrains).toBeGreaterThan(before);
    // spent ≤ what the bucket held, plus at most one fit of overshoot per slice
    expect(det.stats.retrainMs).toBeLessThan(54 + 50 + 200);
  });

  it('saves models on stop and picks them up after a restart', async () => {
    const first = harness();
    const cfg = anomalyConfigSchema.parse({ window: 200, retrain_every: 20, min_train: 100, trees: 30, calibration: { history: 200 }, retrain_cpu: 1 });
    det = createAnomalyDetector(cfg, first.services);
    await det.start();
    const rng = new Prng(5);
    let t = 9_000_000;
    for (let i = 0; i < 250; i++) {
      t += 1000;
      first.collect('web', t, [{ metric: 'app.latency', value: 1 + 0.05 * rng.gaussian(), attributes: { route: '/p' } }]);
      await det.flushRetrains();
    }
    await det.stop();
    det = undefined;
    expect(existsSync(join(first.dataDir, 'anomaly', 'models.json'))).toBe(true);

    // a restarted agent: same data dir, fresh store; min_train is 100 points, yet the series is
    // scored as soon as its 16-point feature window is full, with the saved model
    const second = harness(first.dataDir);
    det = createAnomalyDetector(cfg, second.services);
    await det.start();
    for (let i = 0; i < 30; i++) {
      t += 1000;
      second.collect('web', t, [{ metric: 'app.latency', value: i === 25 ? 30 : 1 + 0.05 * rng.gaussian(), attributes: { route: '/p' } }]);
      await det.flushRetrains();
    }
    expect(det.stats.restored).toBe(1);
    expect(second.store.lookup(ANOMALY_SCORE_METRIC, { metric: 'app.latency', route: '/p' })?.length).toBeGreaterThan(10);
    expect(second.anomalies.map((a) => a.at)).toContain(t - 4000);

    // without the file (or with persist off) the same 30 points are not scored at all
    const third = harness();
    const fresh = createAnomalyDetector(cfg, third.services);
    await fresh.start();
    for (let i = 0; i < 30; i++) third.collect('web', 9_000_000 + i * 1000, [{ metric: 'app.latency', value: 1, attributes: { route: '/p' } }]);
    expect(third.store.lookup(ANOMALY_SCORE_METRIC, { metric: 'app.latency', route: '/p' })).toBeUndefined();
    await fresh.stop();
  });
});
