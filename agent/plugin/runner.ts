import type { Logger } from 'pino';
import {
  isUnavailableError,
  type AttributeValue,
  type CollectContext,
  type PluginDefinition,
  type PluginInitContext,
  type PluginInstance,
  type Sample,
} from './api.ts';
import type { PluginState, PluginStatus } from './status.ts';
import { maskSecrets } from '../util/logger.ts';

/** Longest wait between retries of a failing or unavailable plugin. */
export const MAX_BACKOFF_MS = 5 * 60_000;

export interface RunnerSettings {
  readonly name: string;
  readonly use: string;
  readonly definition: PluginDefinition<unknown>;
  readonly options: unknown;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly jitterMs: number;
  readonly configDir: string;
}

/** A validated sample, ready for the store. */
export interface AcceptedSample {
  readonly metric: string;
  readonly value: number;
  readonly attributes: Readonly<Record<string, AttributeValue>> | undefined;
  readonly timestamp: number;
}

export type CollectOutcome =
  | { readonly kind: 'ok'; readonly samples: readonly AcceptedSample[]; readonly malformed: number; readonly firstProblem?: string }
  | { readonly kind: 'failed'; readonly error: string; readonly unavailable: boolean }
  | { readonly kind: 'skipped'; readonly reason: string };

/**
 * One plugin instance with its state machine: start (retried with backoff), collect with
 * a timeout, validation of what it returns, exponential backoff while failing. A plugin
 * that ignores the abort signal stays "in flight" and is not called again until it settles,
 * so a hung plugin can never pile up calls.
 */
export class PluginRunner {
  readonly settings: RunnerSettings;
  private readonly logger: Logger;
  private instance: PluginInstance | undefined;
  private started = false;
  private inFlight: Promise<unknown> | undefined;
  private readonly declared: Map<string, ReadonlySet<string>>;
  private abort = new AbortController();
  private stopped = false;

  state: PluginState = 'pending';
  stateSince = Date.now();
  lastError: string | undefined;
  lastErrorAt: number | undefined;
  lastSuccessAt: number | undefined;
  consecutiveFailures = 0;
  collections = 0;
  errors = 0;
  samples = 0;
  malformed = 0;
  lastDurationMs: number | undefined;
  nextDueAt: number;
  /** First collection finished (success or unavailable): counts towards readiness. */
  settledOnce = false;

  constructor(settings: RunnerSettings, logger: Logger, now: number) {
    this.settings = settings;
    this.logger = logger.child({ plugin: settings.name });
    this.declared = new Map(settings.definition.metrics.map((m) => [m.name, new Set(m.attributes)]));
    this.nextDueAt = now + Math.random() * settings.jitterMs;
  }

  get busy(): boolean {
    return this.inFlight !== undefined;
  }

  status(): PluginStatus {
    const s = this.settings;
    return {
      name: s.name,
      use: s.use,
      state: this.state,
      intervalMs: s.intervalMs,
      timeoutMs: s.timeoutMs,
      lastError: this.lastError,
      lastErrorAt: this.lastErrorAt,
      lastSuccessAt: this.lastSuccessAt,
      stateSince: this.stateSince,
      consecutiveFailures: this.consecutiveFailures,
      collections: this.collections,
      errors: this.errors,
      samples: this.samples,
      malformed: this.malformed,
      lastDurationMs: this.lastDurationMs,
      nextDueAt: this.nextDueAt,
    };
  }

  /** Runs one collection (starting the plugin first if needed). Never throws. */
  async collect(now: number): Promise<CollectOutcome> {
    if (this.stopped) return { kind: 'skipped', reason: 'stopped' };
    if (this.inFlight) return { kind: 'skipped', reason: 'previous collection still running' };
    const started = performance.now();
    const controller = new AbortController();
    const onStop = () => controller.abort(new Error('agent stopping'));
    this.abort.signal.addEventListener('abort', onStop, { once: true });
    const work = this.runOnce(now, controller.signal);
    this.inFlight = work;
    // Clears in-flight only when the plugin's promise really settles, even after a timeout.
    work.then(
      () => this.settle(work),
      () => this.settle(work),
    );
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((res) => {
      timer = setTimeout(() => res('timeout'), this.settings.timeoutMs);
    });
    let outcome: CollectOutcome;
    try {
      const result = await Promise.race([work, timeout]);
      if (result === 'timeout') {
        controller.abort(new Error(`timed out after ${this.settings.timeoutMs}ms`));
        outcome = { kind: 'failed', error: `collection timed out after ${this.settings.timeoutMs}ms`, unavailable: false };
      } else {
        outcome = this.validate(result, now);
      }
    } catch (err) {
      outcome = { kind: 'failed', error: errorText(err), unavailable: isUnavailableError(err) };
    } finally {
      clearTimeout(timer);
      this.abort.signal.removeEventListener('abort', onStop);
    }
    this.lastDurationMs = performance.now() - started;
    this.record(outcome, now);
    return outcome;
  }

  /** Stops the plugin; waits briefly for an in-flight collection. */
  async stop(deadlineMs = 2000): Promise<void> {
    this.stopped = true;
    this.abort.abort(new Error('agent stopping'));
    const inst = this.instance;
    const waitInFlight = this.inFlight ? this.inFlight.then(() => undefined, () => undefined) : Promise.resolve();
    await withDeadline(waitInFlight, Math.min(deadlineMs, 1000));
    if (inst?.stop && this.started) {
      try {
        await withDeadline(Promise.resolve(inst.stop()), deadlineMs);
      } catch (err) {
        this.logger.warn({ err: errorText(err) }, 'plugin stop failed');
      }
    }
    this.instance = undefined;
    this.started = false;
  }

  private settle(work: Promise<unknown>): void {
    if (this.inFlight === work) this.inFlight = undefined;
  }

  private async runOnce(now: number, signal: AbortSignal): Promise<unknown> {
    const init: PluginInitContext = {
      instance: this.settings.name,
      logger: this.logger,
      intervalMs: this.settings.intervalMs,
      configDir: this.settings.configDir,
    };
    if (!this.instance) this.instance = this.settings.definition.create(this.settings.options, init);
    if (!this.started) {
      if (this.instance.start) await this.instance.start(init);
      this.started = true;
    }
    const ctx: CollectContext = { signal, now, logger: this.logger };
    return await this.instance.collect(ctx);
  }

  /** Checks what a plugin returned; drops malformed samples rather than the whole batch. */
  private validate(result: unknown, now: number): CollectOutcome {
    if (!Array.isArray(result)) {
      return { kind: 'failed', error: `collect() returned ${describe(result)}, expected an array of samples`, unavailable: false };
    }
    const accepted: AcceptedSample[] = [];
    let malformed = 0;
    let firstProblem: string | undefined;
    for (const s of result as unknown[]) {
      const problem = this.checkSample(s);
      if (problem) {
        malformed++;
        firstProblem ??= problem;
        continue;
      }
      const sample = s as Sample;
      accepted.push({
        metric: sample.metric,
        value: sample.value,
        attributes: sample.attributes,
        timestamp: sample.timestamp ?? now,
      });
    }
    if (accepted.length === 0 && malformed > 0) {
      return { kind: 'failed', error: `all ${malformed} samples malformed; first: ${firstProblem}`, unavailable: false };
    }
    return { kind: 'ok', samples: accepted, malformed, firstProblem };
  }

  private checkSample(s: unknown): string | undefined {
    if (typeof s !== 'object' || s === null) return `sample is ${describe(s)}, expected an object`;
    const o = s as Record<string, unknown>;
    if (typeof o.metric !== 'string') return `sample has no metric name`;
    const allowed = this.declared.get(o.metric);
    if (!allowed) return `metric ${o.metric} is not declared by the plugin`;
    if (typeof o.value !== 'number' || !Number.isFinite(o.value)) return `${o.metric}: value ${describe(o.value)} is not a finite number`;
    if (o.timestamp !== undefined && (typeof o.timestamp !== 'number' || !Number.isFinite(o.timestamp))) {
      return `${o.metric}: timestamp ${describe(o.timestamp)} is not a number`;
    }
    if (o.attributes !== undefined) {
      if (typeof o.attributes !== 'object' || o.attributes === null || Array.isArray(o.attributes)) return `${o.metric}: attributes must be an object`;
      for (const [k, v] of Object.entries(o.attributes)) {
        if (!allowed.has(k)) return `${o.metric}: attribute ${k} is not declared`;
        const t = typeof v;
        if (t !== 'string' && t !== 'boolean' && !(t === 'number' && Number.isFinite(v))) return `${o.metric}: attribute ${k} has a ${t} value`;
      }
    }
    return undefined;
  }

  private record(outcome: CollectOutcome, now: number): void {
    if (outcome.kind === 'skipped') return;
    this.collections++;
    const s = this.settings;
    if (outcome.kind === 'ok') {
      if (this.state !== 'ok') this.logger.info({ previous: this.state }, 'plugin collecting');
      this.setState('ok', now);
      this.consecutiveFailures = 0;
      this.lastSuccessAt = now;
      this.samples += outcome.samples.length;
      if (outcome.malformed > 0) {
        this.malformed += outcome.malformed;
        this.logger.debug({ malformed: outcome.malformed, first: outcome.firstProblem }, 'dropped malformed samples');
      }
      this.settledOnce = true;
      this.nextDueAt = nextSlot(this.nextDueAt, s.intervalMs, now) + Math.random() * s.jitterMs;
      return;
    }
    this.errors++;
    this.consecutiveFailures++;
    const error = maskSecrets(outcome.error);
    const newState: PluginState = outcome.unavailable ? 'unavailable' : 'failing';
    // Log on change only: a plugin failing every second must not flood the log.
    if (newState !== this.state || error !== this.lastError) {
      this.logger.warn({ state: newState, err: error, failures: this.consecutiveFailures }, 'plugin collection failed');
    } else {
      this.logger.debug({ state: newState, err: error, failures: this.consecutiveFailures }, 'plugin still failing');
    }
    this.setState(newState, now);
    this.lastError = error;
    this.lastErrorAt = now;
    if (outcome.unavailable) this.settledOnce = true;
    const base = outcome.unavailable ? Math.max(s.intervalMs, 5000) : s.intervalMs;
    const backoff = Math.min(MAX_BACKOFF_MS, base * 2 ** Math.min(20, this.consecutiveFailures - 1));
    this.nextDueAt = now + backoff * (0.9 + Math.random() * 0.2);
  }

  private setState(state: PluginState, now: number): void {
    if (state !== this.state) {
      this.state = state;
      this.stateSince = now;
    }
  }
}

/** Next slot on the original schedule, skipping slots already missed (no catch-up bursts). */
function nextSlot(previousDue: number, interval: number, now: number): number {
  const next = previousDue + interval;
  if (next > now) return next;
  return now + interval - ((now - previousDue) % interval);
}

export function errorText(err: unknown): string {
  if (err instanceof Error) return err.message || err.name;
  return String(err);
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'undefined';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'number') return String(v);
  return typeof v === 'string' ? `string ${JSON.stringify(v.slice(0, 40))}` : typeof v;
}

async function withDeadline(p: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([p, new Promise((res) => (timer = setTimeout(res, ms)))]);
  clearTimeout(timer);
}
