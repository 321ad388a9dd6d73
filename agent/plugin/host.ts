import { context as otelContext, trace, SpanStatusCode, type Meter, type Tracer, type Context } from '@opentelemetry/api';
import type { Logger } from 'pino';
import type { SeriesStore, Series } from '../store/series-store.ts';
import type { MetricRegistry } from '../telemetry/metric-registry.ts';
import type { TypedEmitter } from '../util/events.ts';
import type { AgentEventMap } from '../services.ts';
import type { PluginStatus } from './status.ts';
import { MAX_BACKOFF_MS, PluginRunner, type RunnerSettings } from './runner.ts';
import type { MetricSpec } from './api.ts';

const PLUGIN_UP: MetricSpec = {
  name: 'vigil.plugin.up',
  kind: 'gauge',
  unit: '1',
  description: '1 when the plugin\'s last collection succeeded, 0 when it failed (failing or unavailable).',
  attributes: ['plugin'],
};

export interface PluginHostDeps {
  readonly logger: Logger;
  readonly store: SeriesStore;
  readonly metrics: MetricRegistry;
  readonly tracer: Tracer;
  readonly meter: Meter;
  readonly events: TypedEmitter<AgentEventMap>;
}

/**
 * Runs plugin instances on their schedules. One timer drives everything: at each wake-up
 * the due plugins form a collection cycle (one span, a child span per plugin), their samples
 * go to the series store, and `collection` / `cycle` events tell the detectors.
 */
export class PluginHost {
  private readonly deps: PluginHostDeps;
  private runners: PluginRunner[] = [];
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private readonly pending = new Set<Promise<void>>();
  private lastPrune = 0;
  private generation = 0;
  private readonly instruments: ReturnType<typeof createSelfInstruments>;

  constructor(deps: PluginHostDeps) {
    this.deps = deps;
    this.instruments = createSelfInstruments(deps.meter, deps.store);
    deps.metrics.register('vigil', [PLUGIN_UP]);
  }

  /** Replaces the set of plugins (start-up and config reload). Old instances are stopped. */
  async setPlugins(settings: readonly RunnerSettings[]): Promise<void> {
    const old = this.runners;
    const now = Date.now();
    this.runners = settings.map((s) => new PluginRunner(s, this.deps.logger, now));
    for (const s of settings) this.deps.metrics.register(s.name, s.definition.metrics);
    await Promise.all(old.map((r) => r.stop()));
    const keep = new Set(settings.map((s) => s.name));
    for (const r of old) if (!keep.has(r.settings.name)) this.deps.store.removeSource(r.settings.name);
    if (this.running) this.schedule();
  }

  start(): void {
    this.running = true;
    this.schedule();
  }

  async stop(deadlineMs = 3000): Promise<void> {
    this.running = false;
    clearTimeout(this.timer);
    await Promise.all(this.runners.map((r) => r.stop(deadlineMs)));
  }

  statuses(): readonly PluginStatus[] {
    return this.runners.map((r) => r.status());
  }

  /** Every enabled plugin has collected once or been found unavailable. */
  ready(): boolean {
    return this.runners.every((r) => r.settledOnce);
  }

  /** Runs every plugin once now, outside the schedule (used by `vigil collect --once`). */
  async collectAllOnce(): Promise<void> {
    await this.runCycle(this.runners, Date.now());
  }

  private schedule(): void {
    clearTimeout(this.timer);
    if (!this.running) return;
    let next = Number.POSITIVE_INFINITY;
    for (const r of this.runners) if (!r.busy && r.nextDueAt < next) next = r.nextDueAt;
    if (next === Number.POSITIVE_INFINITY) {
      // Everything is in flight (or no plugins): look again shortly.
      next = Date.now() + 1000;
    }
    const delay = Math.max(0, next - Date.now());
    this.timer = setTimeout(() => this.tick(), delay);
  }

  private tick(): void {
    const now = Date.now();
    const due = this.runners.filter((r) => !r.busy && r.nextDueAt <= now + 2);
    if (due.length > 0) {
      const p = this.runCycle(due, now).finally(() => this.pending.delete(p));
      this.pending.add(p);
    }
    if (now - this.lastPrune > 60_000) {
      this.lastPrune = now;
      this.deps.store.prune(now);
    }
    // Runners move their nextDueAt when they finish; re-arm now for the others.
    this.schedule();
  }

  private async runCycle(due: readonly PluginRunner[], now: number): Promise<void> {
    const { tracer, events } = this.deps;
    const span = tracer.startSpan('vigil.collect.cycle', {
      attributes: { 'vigil.cycle.plugins': due.map((r) => r.settings.name), 'vigil.cycle.plugin_count': due.length },
    });
    const cycleCtx = trace.setSpan(otelContext.active(), span);
    let failed = 0;
    await Promise.all(
      due.map(async (r) => {
        const ok = await this.runOne(r, now, cycleCtx);
        if (!ok) failed++;
        if (this.running) this.schedule();
      }),
    );
    span.setAttribute('vigil.cycle.failed', failed);
    span.end();
    events.emit('cycle', { at: now, plugins: due.map((r) => r.settings.name), context: cycleCtx });
  }

  private async runOne(r: PluginRunner, now: number, parent: Context): Promise<boolean> {
    const { tracer, store, events } = this.deps;
    const name = r.settings.name;
    const span = tracer.startSpan(`vigil.collect ${name}`, { attributes: { 'vigil.plugin.name': name, 'vigil.plugin.use': r.settings.use } }, parent);
    const ctx = trace.setSpan(parent, span);
    const outcome = await r.collect(now);
    const attrs = { plugin: name };
    if (r.lastDurationMs !== undefined && outcome.kind !== 'skipped') this.instruments.duration.record(r.lastDurationMs / 1000, attrs);
    let written: Series[] = [];
    if (outcome.kind === 'ok') {
      written = new Array<Series>();
      const generation = ++this.generation;
      const reported = new Set<string>();
      for (const s of outcome.samples) {
        const series = store.record(name, s.metric, s.attributes, s.value, s.timestamp, r.settings.intervalMs);
        if (!series) continue;
        if (series.generation !== generation) written.push(series);
        series.generation = generation;
        reported.add(s.metric);
      }
      store.endMissing(name, generation, reported);
      this.instruments.samples.add(outcome.samples.length, attrs);
      if (outcome.malformed > 0) this.instruments.malformed.add(outcome.malformed, attrs);
      span.setAttributes({ 'vigil.plugin.samples': outcome.samples.length, 'vigil.plugin.malformed': outcome.malformed, 'vigil.plugin.state': r.state });
      span.setStatus({ code: SpanStatusCode.OK });
    } else if (outcome.kind === 'failed') {
      this.instruments.errors.add(1, attrs);
      span.setAttributes({ 'vigil.plugin.samples': 0, 'vigil.plugin.state': r.state, 'error.type': outcome.unavailable ? 'unavailable' : 'collection_failed' });
      span.setStatus({ code: SpanStatusCode.ERROR, message: outcome.error });
    } else {
      span.setAttributes({ 'vigil.plugin.skipped': outcome.reason });
    }
    span.end();
    // A store series (not an SDK instrument) so a plugin removed on reload leaves /metrics with
    // its series; written with the longest backoff as its interval so a failing plugin's 0 stays
    // visible between retries.
    if (outcome.kind !== 'skipped') store.record(name, PLUGIN_UP.name, { plugin: name }, outcome.kind === 'ok' ? 1 : 0, now, MAX_BACKOFF_MS);
    if (outcome.kind !== 'skipped') events.emit('collection', { plugin: name, at: now, ok: outcome.kind === 'ok', series: written, context: ctx });
    return outcome.kind !== 'failed';
  }
}

/** The agent's own per-plugin metrics (OpenTelemetry instruments, not store series). */
function createSelfInstruments(meter: Meter, store: SeriesStore) {
  const duration = meter.createHistogram('vigil.plugin.collection.duration', {
    unit: 's',
    description: 'Time one plugin collection took.',
    advice: { explicitBucketBoundaries: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] },
  });
  const errors = meter.createCounter('vigil.plugin.errors', { unit: '{error}', description: 'Failed plugin collections.' });
  const samples = meter.createCounter('vigil.plugin.samples', { unit: '{sample}', description: 'Samples accepted from plugins.' });
  const malformed = meter.createCounter('vigil.plugin.samples.malformed', { unit: '{sample}', description: 'Samples dropped as malformed.' });
  meter
    .createObservableGauge('vigil.store.series', { unit: '{series}', description: 'Series held in the store.' })
    .addCallback((res) => res.observe(store.size));
  meter
    .createObservableCounter('vigil.store.series.refused', { unit: '{sample}', description: 'Samples refused because the series cap was reached.' })
    .addCallback((res) => res.observe(store.refused));
  return { duration, errors, samples, malformed };
}
