import { setImmediate as nextTurn } from 'node:timers/promises';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SpanStatusCode, type Context } from '@opentelemetry/api';
import type { AgentServices, CollectionEvent, CycleEvent, Subsystem } from '../../services.ts';
import type { Attributes } from '../../plugin/api.ts';
import type { Series } from '../../store/series-store.ts';
import { detectorOptions, type AnomalyConfig } from './config.ts';
import { StreamingDetector, type DetectorOptions, type DetectorSnapshot } from './streaming-detector.ts';
import { ANOMALY_METRIC_SPECS, ANOMALY_SCORE_METRIC } from './metrics.ts';
import { seriesEligibility } from './eligibility.ts';

export { ANOMALY_SCORE_METRIC } from './metrics.ts';

/** True when `a` has the same value as `b` for every key of `b` that `a` has at all. */
function agrees(a: Attributes, b: Attributes): boolean {
  for (const k in b) if (k in a && a[k] !== b[k]) return false;
  return true;
}

interface Entry {
  /** Stable id for persistence: `series:<key>` or `group:<name>\0<key>`. */
  readonly id: string;
  readonly subject: string;
  readonly detector: StreamingDetector;
  /** Channels in order (one for a series, several for a group). */
  readonly channels: readonly Series[];
  /** Attributes of the score series. */
  readonly attrs: Attributes;
  readonly metric?: string;
  readonly intervalMs: number;
  readonly values: Float64Array;
  lastT: number;
  lastEventAt: number;
}

/** Counters the subsystem exposes for tests, the benchmark and debugging. */
export interface AnomalyDetectorStats {
  detectors: number;
  /** Points not scored because max_detectors was reached (counted per point, not per series). */
  refused: number;
  scored: number;
  events: number;
  retrains: number;
  /** CPU ms spent retraining, and the longest single event-loop turn (wall ms) spent on it. */
  retrainMs: number;
  maxRetrainTurnMs: number;
  /** The most CPU ms one turn spent retraining (the wall figure above also counts time the OS gave others). */
  maxRetrainTurnCpuMs: number;
  /** Detectors whose retrain is due but waiting for the CPU budget. */
  pending: number;
  /** Detectors restored from the models file at start. */
  restored: number;
}

interface ModelsFile {
  readonly version: 1;
  readonly detectors: Record<string, DetectorSnapshot>;
}

export interface AnomalyDetectorOptions {
  /** Clock for the retrain CPU budget (Unix ms); the benchmark simulates time with it. */
  readonly now?: () => number;
}

export type AnomalySubsystem = Subsystem & {
  readonly stats: AnomalyDetectorStats;
  flushRetrains(): Promise<void>;
  /** Approximate bytes held by all detectors (models, windows). */
  bytes(): number;
};

/**
 * The streaming anomaly detector inside the agent: one detector per eligible series (and per
 * configured group instance), updated from each collection's new points, scores written to
 * the store as `vigil.anomaly.score`, `anomaly` events when a detection crosses the
 * sensitivity. Retraining is queued and done in slices of at most `retrain_budget` per
 * event-loop turn, so a collection never waits behind it.
 */
export function createAnomalyDetector(config: AnomalyConfig, services: AgentServices, options: AnomalyDetectorOptions = {}): AnomalySubsystem {
  const now = options.now ?? Date.now;
  const { store, events, tracer, logger } = services;
  const opts: DetectorOptions = detectorOptions(config);
  const eligible = seriesEligibility(services.metrics, config.metrics.include, config.metrics.exclude);
  const bySeries = new Map<number, Entry>();
  const byGroup = new Map<string, Entry>();
  const retrainQueue = new Set<Entry>();
  const stats: AnomalyDetectorStats = { detectors: 0, refused: 0, scored: 0, events: 0, retrains: 0, retrainMs: 0, maxRetrainTurnMs: 0, maxRetrainTurnCpuMs: 0, pending: 0, restored: 0 };
  const modelsPath = join(services.dataDir, 'anomaly', 'models.json');
  /** Snapshots read at start, waiting for their series to show up. */
  let saved = new Map<string, DetectorSnapshot>();
  // token bucket of retraining time (ms): fills at retrain_cpu ms per ms of clock time
  const burst = Math.max(50, 1000 * config.retrain_cpu);
  let tokens = burst;
  let refilledAt = now();
  let wakeTimer: NodeJS.Timeout | undefined;
  const unsubscribe: (() => void)[] = [];
  let draining: Promise<void> | undefined;
  let stopped = true;
  let warnedCap = false;

  const capReached = (): boolean => {
    if (stats.detectors < config.max_detectors) return false;
    stats.refused++;
    if (!warnedCap) {
      warnedCap = true;
      logger.warn({ max_detectors: config.max_detectors }, 'anomaly detector: detector cap reached; further series are not scored');
    }
    return true;
  };

  const newEntry = (id: string, subject: string, channels: readonly Series[], attrs: Attributes, metric: string | undefined): Entry => {
    stats.detectors++;
    const names = channels.map((c) => c.metric);
    const detector = new StreamingDetector(names, opts, false);
    const snap = saved.get(id);
    if (snap) {
      saved.delete(id);
      try {
        detector.restore(snap);
        stats.restored++;
      } catch (err) {
        logger.debug({ subject, err: (err as Error).message }, 'anomaly detector: saved model not reused');
      }
    }
    return {
      id,
      subject,
      detector,
      channels,
      attrs,
      metric,
      intervalMs: Math.max(...channels.map((c) => c.intervalMs)),
      values: new Float64Array(channels.length),
      lastT: 0,
      lastEventAt: -Infinity,
    };
  };

  /** Feeds the entry's newest values; returns true when it raised an event. */
  const step = (e: Entry, t: number): boolean => {
    for (let i = 0; i < e.channels.length; i++) e.values[i] = e.channels[i]!.lastValue;
    e.lastT = t;
    const r = e.detector.update(e.values, t);
    stats.scored++;
    if (e.detector.retrainDue) retrainQueue.add(e);
    if (e.detector.modelCount === 0) return false;
    store.record('detect', ANOMALY_SCORE_METRIC, e.attrs, r.calibrated, t, e.intervalMs);
    if (r.score < config.sensitivity || t - e.lastEventAt < config.suppression.cooldown) return false;
    e.lastEventAt = t;
    stats.events++;
    const why = e.detector.explain();
    events.emit('anomaly', {
      at: t,
      subject: e.subject,
      ...(e.metric !== undefined ? { metric: e.metric } : {}),
      attributes: e.attrs,
      score: r.calibrated,
      explanation: why.text,
    });
    return true;
  };

  const onCollection = (ev: CollectionEvent): void => {
    if (!ev.ok || ev.series.length === 0) return;
    runSpan('collection', ev.context, { 'vigil.plugin': ev.plugin }, () => {
      let scored = 0;
      let raised = 0;
      for (const s of ev.series) {
        let e = bySeries.get(s.id);
        if (!e) {
          if (!eligible(s) || capReached()) continue;
          e = newEntry(`series:${s.key}`, s.key, [s], { metric: s.metric, ...s.attributes }, s.metric);
          bySeries.set(s.id, e);
        }
        if (!(s.lastUpdate > e.lastT)) continue; // nothing new since the last update
        scored++;
        if (step(e, s.lastUpdate)) raised++;
      }
      return { scored, raised };
    });
    scheduleRetrains();
  };

  const onCycle = (ev: CycleEvent): void => {
    if (config.groups.length === 0) return;
    runSpan('cycle', ev.context, {}, () => {
      let scored = 0;
      let raised = 0;
      for (const g of config.groups) {
        const [first, ...rest] = g.metrics;
        const match = g.match ?? {};
        for (const lead of store.byMetric(first!)) {
          if (!agrees(lead.attributes, match)) continue;
          const channels: Series[] = [lead];
          for (const m of rest) {
            // same attributes where both have them (a GPU's memory and its "general" utilization)
            const s = store.lookup(m, lead.attributes) ?? store.byMetric(m).find((c) => agrees(c.attributes, lead.attributes) && agrees(c.attributes, match));
            if (!s) break;
            channels.push(s);
          }
          if (channels.length !== g.metrics.length) continue;
          const key = `${g.name}\u0000${lead.key}`;
          let e = byGroup.get(key);
          if (!e) {
            if (capReached()) continue;
            e = newEntry(`group:${key}`, `group:${g.name}${Object.keys(lead.attributes).length ? ` ${JSON.stringify(lead.attributes)}` : ''}`, channels, { group: g.name, ...lead.attributes }, undefined);
            byGroup.set(key, e);
          }
          let t = 0;
          for (const c of channels) if (c.lastUpdate > t) t = c.lastUpdate;
          if (!(t > e.lastT) || channels.some((c) => c.lastUpdate === 0)) continue;
          scored++;
          if (step(e, t)) raised++;
        }
      }
      return { scored, raised };
    });
    scheduleRetrains();
  };

  function runSpan(kind: string, parent: Context, attrs: Record<string, string>, fn: () => { scored: number; raised: number }): void {
    const span = tracer.startSpan('vigil.detect.anomaly', { attributes: { 'vigil.detect.trigger': kind, ...attrs } }, parent);
    try {
      const r = fn();
      span.setAttribute('vigil.detect.scored', r.scored);
      span.setAttribute('vigil.detect.anomalies', r.raised);
    } catch (err) {
      span.recordException(err as Error);
      span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error).message });
      logger.error({ err }, 'anomaly detector: scoring failed');
    } finally {
      span.end();
    }
  }

  /**
   * Drains the retrain queue in slices of ≤ retrain_budget ms, yielding to the event loop
   * between slices, within the retrain_cpu token bucket; when the bucket is empty, the rest
   * waits (a timer, or the next collection) and the models in use keep scoring.
   */
  function scheduleRetrains(): void {
    if (draining || retrainQueue.size === 0 || stopped) return;
    draining = (async () => {
      try {
        while (retrainQueue.size > 0 && !stopped) {
          await nextTurn();
          const clock = now();
          tokens = Math.min(burst, tokens + (clock - refilledAt) * config.retrain_cpu);
          refilledAt = clock;
          if (tokens <= 0) {
            if (!options.now && !wakeTimer) {
              wakeTimer = setTimeout(() => {
                wakeTimer = undefined;
                scheduleRetrains();
              }, Math.ceil(-tokens / config.retrain_cpu) + 1);
              wakeTimer.unref();
            }
            break;
          }
          // the budget is CPU time (what "share of a core" means); the turn length is wall time
          const t0 = performance.now();
          const c0 = process.cpuUsage();
          let t1 = t0;
          let spent = 0;
          for (const e of retrainQueue) {
            retrainQueue.delete(e);
            if (e.detector.retrainDue) {
              e.detector.retrain();
              stats.retrains++;
            }
            t1 = performance.now();
            const c = process.cpuUsage(c0);
            spent = (c.user + c.system) / 1000;
            if (t1 - t0 >= config.retrain_budget || spent >= tokens) break;
          }
          tokens -= spent;
          stats.retrainMs += spent;
          if (t1 - t0 > stats.maxRetrainTurnMs) stats.maxRetrainTurnMs = t1 - t0;
          if (spent > stats.maxRetrainTurnCpuMs) stats.maxRetrainTurnCpuMs = spent;
        }
      } catch (err) {
        logger.error({ err }, 'anomaly detector: retraining failed');
      } finally {
        stats.pending = retrainQueue.size;
        draining = undefined;
      }
    })();
  }

  const dropSeries = (s: Series): void => {
    const own = bySeries.get(s.id);
    if (own) {
      bySeries.delete(s.id);
      retrainQueue.delete(own);
      stats.detectors--;
    }
    for (const [k, e] of byGroup) {
      if (e.channels.includes(s)) {
        byGroup.delete(k);
        retrainQueue.delete(e);
        stats.detectors--;
      }
    }
  };

  async function loadModels(): Promise<Map<string, DetectorSnapshot>> {
    let text: string;
    try {
      text = await readFile(modelsPath, 'utf8');
    } catch {
      return new Map(); // first start
    }
    try {
      const file = JSON.parse(text) as ModelsFile;
      if (file.version !== 1 || typeof file.detectors !== 'object') throw new Error(`unsupported version ${String(file.version)}`);
      return new Map(Object.entries(file.detectors));
    } catch (err) {
      logger.warn({ file: modelsPath, err: (err as Error).message }, 'anomaly detector: ignoring unreadable saved models');
      return new Map();
    }
  }

  async function saveModels(): Promise<void> {
    const detectors: Record<string, DetectorSnapshot> = {};
    let n = 0;
    for (const e of [...bySeries.values(), ...byGroup.values()]) {
      const snap = e.detector.snapshot();
      if (snap) {
        detectors[e.id] = snap;
        n++;
      }
    }
    try {
      await mkdir(join(services.dataDir, 'anomaly'), { recursive: true });
      const tmp = `${modelsPath}.tmp`;
      await writeFile(tmp, JSON.stringify({ version: 1, detectors } satisfies ModelsFile));
      await rename(tmp, modelsPath); // atomic: a crash mid-write keeps the previous file
      logger.info({ file: modelsPath, detectors: n }, 'anomaly detector: models saved');
    } catch (err) {
      logger.warn({ file: modelsPath, err: (err as Error).message }, 'anomaly detector: could not save models');
    }
  }

  return {
    stats,
    async start() {
      services.metrics.register('detect', ANOMALY_METRIC_SPECS);
      if (config.persist) saved = await loadModels();
      stopped = false;
      unsubscribe.push(events.on('collection', onCollection), events.on('cycle', onCycle), store.onSeriesRemoved(dropSeries));
    },
    async stop() {
      stopped = true;
      if (wakeTimer) clearTimeout(wakeTimer);
      wakeTimer = undefined;
      for (const u of unsubscribe.splice(0)) u();
      await draining;
      retrainQueue.clear();
      if (config.persist) await saveModels();
    },
    bytes() {
      let b = 0;
      for (const e of bySeries.values()) b += e.detector.bytes;
      for (const e of byGroup.values()) b += e.detector.bytes;
      return b;
    },
    /** Waits for the retraining the CPU budget allows right now (tests, benchmarks). */
    async flushRetrains() {
      scheduleRetrains();
      while (draining) await draining;
    },
  };
}
