import type { Attributes, Sample } from '../../agent/plugin/api.ts';
import { CounterDeltas, GaugeChanges, type Delta } from '../shared/rate.ts';
import { Q } from './metrics.ts';

/** What a backend read for one queue (or JetStream consumer) in one collection. */
export interface QueueReading {
  /** Stable identity of the series (system, server, destination, consumer). */
  readonly key: string;
  readonly attributes: Attributes;
  /** Work not yet done (what time-to-drain empties). */
  readonly backlog: number;
  /**
   * Everything counted by the enqueue counter that has not left yet, when it differs from
   * the backlog (BullMQ adds delayed jobs: an enqueue that lands in `delayed` is no dequeue).
   */
  readonly inflow?: number;
  /** Cumulative count of messages added, when the backend has one. */
  readonly enqueuedTotal?: number;
  /** Cumulative count of messages removed, when the backend has one. */
  readonly dequeuedTotal?: number;
  /** Counters' epoch (stream creation time...): a change means the counters restarted. */
  readonly epoch?: string;
  /** Names the `ceilings` option may use for this queue, most specific first. */
  readonly ceilingKeys: readonly string[];
}

/**
 * Turns successive readings into interval rates for every queue, whatever the backend:
 * - backlog growth = Δbacklog / Δt;
 * - enqueue and dequeue rates from counter deltas; when only one counter exists the other
 *   follows from conservation (dequeued = enqueued − Δinflow), never below 0;
 * - time to drain = backlog / −growth while the backlog shrinks, 0 when empty, absent
 *   otherwise (a queue that is not draining has no finite time to drain).
 */
export class QueueDeriver {
  private readonly counters = new CounterDeltas();
  private readonly backlogs = new GaugeChanges();
  private readonly inflows = new GaugeChanges();

  constructor(private readonly ceilings: Readonly<Record<string, number>>) {}

  derive(r: QueueReading, now: number, out: Sample[]): void {
    const a = r.attributes;
    out.push({ metric: Q.backlog, value: r.backlog, attributes: a });
    const ceiling = this.ceilingFor(r.ceilingKeys);
    if (ceiling !== undefined) out.push({ metric: Q.backlogLimit, value: ceiling, attributes: a });

    const backlogChange = this.backlogs.observe(r.key, r.backlog, now);
    const inflowChange = r.inflow === undefined ? backlogChange : this.inflows.observe(r.key, r.inflow, now);
    let enq: Delta | undefined;
    let deq: Delta | undefined;
    if (r.enqueuedTotal !== undefined) {
      out.push({ metric: Q.enqueued, value: r.enqueuedTotal, attributes: a });
      enq = this.counters.observe(`${r.key}\u0000enq`, r.enqueuedTotal, now, r.epoch);
    }
    if (r.dequeuedTotal !== undefined) {
      out.push({ metric: Q.dequeued, value: r.dequeuedTotal, attributes: a });
      deq = this.counters.observe(`${r.key}\u0000deq`, r.dequeuedTotal, now, r.epoch);
    }
    if (backlogChange) out.push({ metric: Q.growth, value: backlogChange.change / backlogChange.seconds, attributes: a });

    let enqRate: number | undefined;
    let deqRate: number | undefined;
    if (enq) enqRate = enq.delta / enq.seconds;
    if (deq) deqRate = deq.delta / deq.seconds;
    if (inflowChange) {
      if (enq && !deq && r.dequeuedTotal === undefined) deqRate = Math.max(0, enq.delta - inflowChange.change) / inflowChange.seconds;
      if (deq && !enq && r.enqueuedTotal === undefined) enqRate = Math.max(0, deq.delta + inflowChange.change) / inflowChange.seconds;
    }
    if (enqRate !== undefined) out.push({ metric: Q.enqueueRate, value: enqRate, attributes: a });
    if (deqRate !== undefined) out.push({ metric: Q.dequeueRate, value: deqRate, attributes: a });

    if (r.backlog === 0) {
      out.push({ metric: Q.timeToDrain, value: 0, attributes: a });
    } else if (backlogChange && backlogChange.change < 0) {
      const netDrain = -backlogChange.change / backlogChange.seconds;
      out.push({ metric: Q.timeToDrain, value: r.backlog / netDrain, attributes: a });
    }
  }

  private ceilingFor(keys: readonly string[]): number | undefined {
    for (const k of keys) {
      const v = this.ceilings[k];
      if (v !== undefined) return v;
    }
    return undefined;
  }

  /** Forgets queues not seen since `before` (deleted queues, consumers). */
  sweep(before: number): void {
    this.counters.sweep(before);
    this.backlogs.sweep(before);
    this.inflows.sweep(before);
  }
}

/** Attributes for a queue series (consumer only for JetStream). */
export function queueAttributes(system: string, server: string, destination: string, consumer?: string): Attributes {
  return consumer === undefined
    ? { 'messaging.system': system, 'messaging.destination.name': destination, 'server.address': server }
    : { 'messaging.system': system, 'messaging.destination.name': destination, 'messaging.consumer.group.name': consumer, 'server.address': server };
}
