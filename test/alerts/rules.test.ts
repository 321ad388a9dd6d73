import { afterEach, describe, expect, it } from 'vitest';
import { ROOT_CONTEXT } from '@opentelemetry/api';
import type { AlertEngine } from '../../agent/alerts/engine.ts';
import { aggregate } from '../../agent/alerts/rules/threshold.ts';
import { SeriesStore } from '../../agent/store/series-store.ts';
import { collect, makeHarness, startEngine, type Harness } from './helpers.ts';

const T0 = Date.UTC(2026, 0, 1);

describe('aggregates', () => {
  const store = new SeriesStore({ retentionMs: 7_200_000, maxSeries: 10 });
  it('increase tolerates counter resets and uses the point before the window as baseline', () => {
    const s = store.record('t', 'c', undefined, 5, T0, 60_000)!; // old kills before the window
    store.record('t', 'c', undefined, 5, T0 + 60_000, 60_000);
    store.record('t', 'c', undefined, 7, T0 + 120_000, 60_000);
    store.record('t', 'c', undefined, 1, T0 + 180_000, 60_000); // restart: counter reset
    expect(aggregate(s, 'increase', 130_000, T0 + 180_000)).toBe(3); // 5→7 (+2), reset to 1 (+1)
    expect(aggregate(s, 'increase', 3_600_000, T0 + 180_000)).toBe(3);
  });
  it('rate is the least-squares slope per second over the window', () => {
    const s = store.record('t', 'q', undefined, 0, T0, 1000)!;
    for (let i = 1; i <= 60; i++) store.record('t', 'q', undefined, i * 2 + (i % 2 ? 1 : -1), T0 + i * 1000, 1000);
    expect(aggregate(s, 'rate', 60_000, T0 + 60_000)).toBeCloseTo(2, 1);
    expect(aggregate(s, 'avg', 10_000, T0 + 60_000)).toBeCloseTo(110, 0);
    expect(aggregate(s, 'max', 10_000, T0 + 60_000)).toBe(119); // i=59: 118+1, i=60: 120-1
  });
});

describe('rule types through the engine', () => {
  let engine: AlertEngine | undefined;
  afterEach(async () => {
    await engine?.stop();
    engine = undefined;
  });

  function tick(h: Harness, points: Parameters<typeof collect>[1], dt = 1000): void {
    h.clock.now += dt;
    collect(h, points, h.clock.now);
  }

  it('OOM kills: N in the last hour, tiered', async () => {
    const h = makeHarness({ metrics: ['vigil.container.memory.oom_kills'] });
    h.clock.now = T0;
    engine = await startEngine(h, { default_rules: { enabled: false }, rules: [{ name: 'oom', type: 'threshold', metric: 'vigil.container.memory.oom_kills', above: { warning: 1, critical: 3 }, aggregate: 'increase', window: '1h' }] }, true);
    const kills = (n: number) => [{ metric: 'vigil.container.memory.oom_kills', attrs: { container: 'app' }, value: n }];
    tick(h, kills(4), 60_000); // history before the agent started: no alert
    tick(h, kills(4), 60_000);
    expect(engine.active()).toHaveLength(0);
    tick(h, kills(5), 60_000);
    expect(engine.active()[0]).toMatchObject({ status: 'firing', tier: 'warning', value: 1 });
    tick(h, kills(7), 60_000);
    expect(engine.active()[0]).toMatchObject({ tier: 'critical', value: 3 });
    expect(engine.active()[0]!.annotations['description']).toContain('3');
  });

  it('anomaly: score ≥ sensitivity for N samples, with the detector explanation', async () => {
    const h = makeHarness();
    h.clock.now = T0;
    engine = await startEngine(h, { default_rules: { enabled: false }, rules: [{ name: 'odd', type: 'anomaly', metric: 'vigil.memory.utilization', sensitivity: 0.7, samples: 3 }] }, true);
    const score = (v: number) => [{ metric: 'vigil.anomaly.score', attrs: { metric: 'vigil.memory.utilization', pod: 'a' }, value: v }];
    h.events.emit('anomaly', { at: h.clock.now, subject: 'x', metric: 'vigil.memory.utilization', attributes: { metric: 'vigil.memory.utilization', pod: 'a' }, score: 0.9, explanation: 'rose 40% in 10s' });
    tick(h, score(0.5));
    tick(h, score(0.8));
    tick(h, score(0.9));
    expect(engine.active()).toHaveLength(0);
    tick(h, score(0.75));
    const a = engine.active()[0]!;
    expect(a).toMatchObject({ status: 'firing', tier: 'warning' });
    expect(a.labels).toMatchObject({ alertname: 'odd', metric: 'vigil.memory.utilization', pod: 'a' });
    expect(a.annotations['explanation']).toBe('rose 40% in 10s');
    tick(h, score(0.68)); // within hysteresis
    expect(engine.active()).toHaveLength(1);
    tick(h, score(0.4));
    expect(engine.active()).toHaveLength(0);
  });

  it('forecast: time to exhaustion below 30 min → warning, below 5 min → critical, with the ETA', async () => {
    const h = makeHarness();
    h.clock.now = T0;
    engine = await startEngine(h, { default_rules: { enabled: false }, rules: [{ name: 'eta', type: 'forecast' }] }, true);
    const tte = (s: number) => [{ metric: 'vigil.forecast.time_to_exhaustion', attrs: { metric: 'container.memory.working_set', container: 'app' }, value: s }];
    tick(h, tte(3600));
    expect(engine.active()).toHaveLength(0);
    tick(h, tte(1200));
    expect(engine.active()[0]).toMatchObject({ tier: 'warning' });
    expect(engine.active()[0]!.annotations['eta']).toBe('20m 0s');
    expect(engine.active()[0]!.annotations['usage']).toBeUndefined(); // the watched metric is not declared here
    tick(h, tte(240));
    expect(engine.active()[0]).toMatchObject({ tier: 'critical' });
    tick(h, tte(320)); // within 10 % of the 5 min bound: stays critical
    expect(engine.active()[0]).toMatchObject({ tier: 'critical' });
    tick(h, tte(1900));
    expect(engine.active()[0]).toMatchObject({ tier: 'warning' });
    tick(h, tte(7200));
    expect(engine.active()).toHaveLength(0);
    tick(h, tte(200));
    expect(engine.active()[0]).toMatchObject({ tier: 'critical' });
    // The forecaster stops writing the series (no longer heading for exhaustion): resolved at once.
    for (let i = 0; i < 4; i++) tick(h, []);
    expect(engine.active()).toHaveLength(0);
  });

  it('absent: a plugin unavailable for longer than X, and a stale series', async () => {
    const h = makeHarness();
    h.clock.now = T0;
    engine = await startEngine(
      h,
      {
        default_rules: { enabled: false },
        rules: [
          { name: 'gpu-gone', type: 'absent', plugin: 'gpu', for: '1m', severity: 'critical' },
          { name: 'mem-stale', type: 'absent', metric: 'vigil.memory.utilization', for: '10s' },
        ],
      },
      true,
    );
    h.statuses.push({ name: 'gpu', use: 'gpu', state: 'unavailable', intervalMs: 1000, timeoutMs: 1000, lastError: 'nvidia-smi not found', stateSince: T0, consecutiveFailures: 3, collections: 3, errors: 3, samples: 0, malformed: 0 });
    tick(h, [{ metric: 'vigil.memory.utilization', attrs: { pod: 'a' }, value: 0.3 }]);
    expect(engine.active().map((a) => a.status)).toEqual(['pending']);
    for (let i = 0; i < 61; i++) tick(h, [{ metric: 'vigil.memory.utilization', attrs: { pod: 'a' }, value: 0.3 }]);
    const gpu = engine.active().find((a) => a.rule === 'gpu-gone')!;
    expect(gpu).toMatchObject({ status: 'firing', tier: 'critical' });
    expect(gpu.labels).toMatchObject({ plugin: 'gpu' });
    expect(gpu.annotations['last_error']).toBe('nvidia-smi not found');
    expect(engine.active().filter((a) => a.rule === 'mem-stale')).toHaveLength(0);
    // The memory series stops: stale after 2.5 intervals, firing 10 s later.
    for (let i = 0; i < 15; i++) {
      h.clock.now += 1000;
      engine.evaluate(ROOT_CONTEXT);
    }
    expect(engine.active().find((a) => a.rule === 'mem-stale')).toMatchObject({ status: 'firing', labels: { pod: 'a', metric: 'vigil.memory.utilization' } });
    // The plugin recovers.
    h.statuses[0] = { ...h.statuses[0]!, state: 'ok', lastSuccessAt: h.clock.now };
    tick(h, [{ metric: 'vigil.memory.utilization', attrs: { pod: 'a' }, value: 0.3 }]);
    expect(engine.active()).toHaveLength(0);
  });

  it('built-in defaults watch the known metric names; below-threshold cache ratio fires', async () => {
    const h = makeHarness({ metrics: ['vigil.cache.hit_ratio'] });
    h.clock.now = T0;
    engine = await startEngine(h, { default_rules: { disable: ['plugin-absent'] } }, true);
    expect(engine.rules.map((r) => r.name)).toContain('cache-hit-ratio');
    for (let i = 0; i <= 301; i++) tick(h, [{ metric: 'vigil.cache.hit_ratio', attrs: { 'vigil.cache.node': 'r1' }, value: 0.3 }]);
    expect(engine.active().map((a) => `${a.rule}:${a.status}:${a.tier}`)).toEqual(['cache-hit-ratio:firing:warning']);
  });
});

describe('forecast alert message', () => {
  it('names the current usage against the limit the watched metric is paired with', async () => {
    const h = makeHarness();
    h.services.metrics.register('heap', [
      { name: 'container.memory.working_set', kind: 'gauge', unit: 'By', description: 'ws', attributes: ['container'], limit: 'vigil.memory.limit', limitAttributes: { 'vigil.memory.scope': 'container' } },
      { name: 'vigil.memory.limit', kind: 'gauge', unit: 'By', description: 'limit', attributes: ['container', 'vigil.memory.scope'] },
    ]);
    h.clock.now = T0;
    const e = await startEngine(h, { default_rules: { enabled: false }, rules: [{ name: 'eta', type: 'forecast' }] }, true);
    try {
      h.clock.now += 1000;
      collect(
        h,
        [
          { metric: 'container.memory.working_set', attrs: { container: 'app' }, value: 412 * 2 ** 20 },
          { metric: 'vigil.memory.limit', attrs: { container: 'app', 'vigil.memory.scope': 'container' }, value: 512 * 2 ** 20 },
          { metric: 'vigil.forecast.time_to_exhaustion', attrs: { metric: 'container.memory.working_set', container: 'app' }, value: 600 },
        ],
        h.clock.now,
      );
      expect(e.active()[0]!.annotations['usage']).toBe('412.0 MiB of 512.0 MiB (80%)');
    } finally {
      await e.stop();
    }
  });
});

describe('catch-all absent rule', () => {
  it('is INFO for a plugin unavailable from the start, the rule tier once a working plugin stops', async () => {
    const h = makeHarness();
    h.clock.now = T0;
    const e = await startEngine(h, { default_rules: { enabled: false }, rules: [{ name: 'any-absent', type: 'absent', plugin: '*', for: '10s', severity: 'warning' }] }, true);
    try {
      const base = { use: 'x', intervalMs: 1000, timeoutMs: 1000, consecutiveFailures: 3, collections: 3, errors: 3, samples: 0, malformed: 0 };
      h.statuses.push({ ...base, name: 'gpu', state: 'unavailable', lastError: 'nvidia-smi not found', stateSince: T0 });
      h.statuses.push({ ...base, name: 'cache', state: 'unavailable', lastError: 'ECONNREFUSED', stateSince: T0, lastSuccessAt: T0 - 1000 });
      for (let i = 0; i < 15; i++) {
        h.clock.now += 1000;
        collect(h, [], h.clock.now);
      }
      const tiers = Object.fromEntries(e.active().map((a) => [a.labels['plugin'], a.tier]));
      expect(tiers).toEqual({ gpu: 'info', cache: 'warning' });
    } finally {
      await e.stop();
    }
  });
});
