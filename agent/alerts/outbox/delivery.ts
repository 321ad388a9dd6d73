import { context as otelContext, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Histogram, type Tracer } from '@opentelemetry/api';
import type { Logger } from 'pino';
import type { Notifier } from '../notifiers/types.ts';
import type { Outbox, OutboxEntry } from './outbox.ts';

export interface DeliveryOptions {
  readonly outbox: Outbox;
  readonly notifiers: ReadonlyMap<string, Notifier>;
  readonly logger: Logger;
  readonly tracer: Tracer;
  readonly latency?: Histogram;
  readonly now: () => number;
  readonly backoffInitialMs: number;
  readonly backoffMaxMs: number;
  readonly maxAgeMs: number;
  /** Called after each attempt (metrics). */
  readonly onResult?: (notifier: string, outcome: 'sent' | 'retried' | 'dead', latencyMs: number) => void;
}

export interface DeliveryCounters {
  sent: number;
  failed: number;
  retried: number;
  deadLettered: number;
}

/** Exponential backoff with "full jitter" (AWS architecture blog): uniform in [d/2, d]. */
export function backoffDelay(attempt: number, initialMs: number, maxMs: number, rand: () => number = Math.random): number {
  const d = Math.min(maxMs, initialMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(d / 2 + rand() * (d / 2));
}

/**
 * One worker per delivery target, draining its FIFO queue: a failing head holds the queue
 * (order matters: firing before resolved), a 429 pauses the target for Retry-After, other 4xx
 * dead-letter the entry, and entries older than max_age give up into the dead-letter list.
 */
export class Delivery {
  private readonly workers = new Map<string, TargetWorker>();
  readonly counters = new Map<string, DeliveryCounters>();
  private stopped = false;
  readonly abort = new AbortController();

  constructor(readonly opts: DeliveryOptions) {}

  counter(notifier: string): DeliveryCounters {
    let c = this.counters.get(notifier);
    if (!c) this.counters.set(notifier, (c = { sent: 0, failed: 0, retried: 0, deadLettered: 0 }));
    return c;
  }

  /** Wakes the workers of every target with pending entries. */
  kick(): void {
    if (this.stopped) return;
    for (const t of this.opts.outbox.targets()) this.worker(t).kick();
  }

  /** Resolves when every worker is idle with nothing ready (for tests and the benchmark). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort();
    await Promise.all([...this.workers.values()].map((w) => w.stop()));
  }

  private worker(target: string): TargetWorker {
    let w = this.workers.get(target);
    if (!w) this.workers.set(target, (w = new TargetWorker(target, this)));
    return w;
  }

  get isStopped(): boolean {
    return this.stopped;
  }
}

class TargetWorker {
  private running: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private notBefore = 0;

  constructor(
    private readonly target: string,
    private readonly d: Delivery,
  ) {}

  kick(): void {
    if (this.running || this.d.isStopped) return;
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    this.running = this.drain().finally(() => {
      this.running = undefined;
    });
  }

  async stop(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }

  private async drain(): Promise<void> {
    const o = this.d.opts;
    while (!this.d.isStopped) {
      const e = o.outbox.head(this.target);
      if (!e) return;
      const now = o.now();
      const notifier = o.notifiers.get(e.notifier);
      if (!notifier || e.targetIndex >= notifier.targets) {
        await o.outbox.deadLetter(e, `notifier "${e.notifier}" target ${e.targetIndex} is no longer configured`, now);
        this.d.counter(e.notifier).deadLettered++;
        continue;
      }
      if (now - e.createdAt > o.maxAgeMs) {
        await o.outbox.deadLetter(e, `undelivered after ${Math.round((now - e.createdAt) / 1000)}s: ${e.lastError ?? 'no attempt'}`, now);
        this.d.counter(e.notifier).deadLettered++;
        o.logger.error({ notifier: e.notifier, target: notifier.targetLabel(e.targetIndex), id: e.id, attempts: e.attempts }, 'alert notification expired into the dead-letter list');
        continue;
      }
      const wait = Math.max(e.nextAttemptAt, this.notBefore) - now;
      if (wait > 0) {
        this.timer = setTimeout(() => {
          this.timer = undefined;
          this.kick();
        }, wait);
        this.timer.unref();
        return;
      }
      await this.attempt(e, notifier);
    }
  }

  private async attempt(e: OutboxEntry, notifier: Notifier): Promise<void> {
    const o = this.d.opts;
    const c = this.d.counter(e.notifier);
    const parent = e.trace ? trace.setSpanContext(ROOT_CONTEXT, { traceId: e.trace.traceId, spanId: e.trace.spanId, traceFlags: e.trace.traceFlags, isRemote: true }) : ROOT_CONTEXT;
    const span = o.tracer.startSpan(
      `alert deliver ${notifier.type}`,
      {
        kind: SpanKind.CLIENT,
        attributes: {
          'vigil.alert.notifier': e.notifier,
          'vigil.alert.notifier.type': notifier.type,
          'vigil.alert.group': e.message.groupKey,
          'vigil.alert.count': e.message.alerts.length,
          'vigil.alert.status': e.message.status,
          'vigil.alert.attempt': e.attempts + 1,
          'server.address': notifier.targetLabel(e.targetIndex),
        },
      },
      parent,
    );
    const t0 = performance.now();
    const res = await otelContext.with(trace.setSpan(parent, span), () => notifier.send(e.targetIndex, e.message, this.d.abort.signal, o.now()));
    const latencyMs = performance.now() - t0;
    const now = o.now();
    this.notBefore = now + notifier.minIntervalMs;
    o.latency?.record(latencyMs / 1000, { notifier: e.notifier, outcome: res.kind });
    if (res.kind === 'ok') {
      span.setAttribute('http.response.status_code', res.status);
      span.end();
      c.sent++;
      await o.outbox.delivered(e, now);
      o.onResult?.(e.notifier, 'sent', latencyMs);
      return;
    }
    if (res.status !== undefined) span.setAttribute('http.response.status_code', res.status);
    span.setStatus({ code: SpanStatusCode.ERROR, message: res.error });
    span.end();
    c.failed++;
    if (this.d.isStopped) return; // aborted by stop: the entry stays pending for the next start
    if (res.kind === 'retry') {
      const delay = res.retryAfterMs ?? backoffDelay(e.attempts + 1, o.backoffInitialMs, o.backoffMaxMs);
      if (res.retryAfterMs !== undefined) this.notBefore = Math.max(this.notBefore, now + res.retryAfterMs);
      c.retried++;
      await o.outbox.retry(e, now + delay, res.error);
      o.logger.warn({ notifier: e.notifier, attempt: e.attempts, retryInMs: delay, err: res.error }, 'alert notification failed; will retry');
      o.onResult?.(e.notifier, 'retried', latencyMs);
      return;
    }
    c.deadLettered++;
    await o.outbox.deadLetter(e, res.error, now, res.status);
    o.logger.error({ notifier: e.notifier, id: e.id, status: res.status, err: res.error }, 'alert notification rejected; moved to the dead-letter list');
    o.onResult?.(e.notifier, 'dead', latencyMs);
  }
}
