import { randomUUID } from 'node:crypto';
import { TIER_RANK, type NotificationMessage, type Tier, type TraceRef } from '../types.ts';
import { Journal } from './journal.ts';

/** A notification accepted for one delivery target. */
export interface OutboxEntry {
  readonly id: string;
  /** `<notifier>#<target index>`: one FIFO queue each. */
  readonly target: string;
  readonly notifier: string;
  readonly targetIndex: number;
  /** Highest firing tier in the message (what bounding drops by). */
  readonly tier: Tier;
  readonly createdAt: number;
  readonly dedupKey: string;
  readonly message: NotificationMessage;
  readonly trace?: TraceRef;
  attempts: number;
  nextAttemptAt: number;
  lastError?: string;
}

export interface DeadLetter {
  readonly id: string;
  readonly target: string;
  readonly notifier: string;
  readonly tier: Tier;
  readonly createdAt: number;
  readonly deadAt: number;
  readonly attempts: number;
  readonly status?: number;
  readonly error: string;
  readonly message: NotificationMessage;
}

type Record_ =
  | { t: 'add'; e: OutboxEntry }
  | { t: 'ok'; id: string; k: string; at: number }
  | { t: 'retry'; id: string; n: number; next: number; err: string }
  | { t: 'dead'; d: DeadLetter }
  | { t: 'drop'; id: string; reason: string }
  | { t: 'dedup'; k: string; at: number }
  | { t: 'state'; s: unknown };

export interface OutboxOptions {
  readonly file: string;
  readonly maxEntries: number;
  readonly dedupWindowMs: number;
  readonly maxDeadLetters: number;
  readonly fsync: boolean;
}

export interface AcceptResult {
  readonly accepted: OutboxEntry[];
  readonly deduplicated: number;
  readonly dropped: OutboxEntry[];
}

/**
 * The durable outbox: notifications are journaled (fsync'd) before they count as accepted,
 * survive SIGKILL, and leave only when delivered, dead-lettered or dropped by the bound.
 * An identical notification (same dedup key) is not accepted twice within the dedup window,
 * so a restart that re-derives what was already queued or sent does not notify twice.
 */
export class Outbox {
  private readonly journal: Journal<Record_>;
  private readonly queues = new Map<string, OutboxEntry[]>();
  private readonly byId = new Map<string, OutboxEntry>();
  private readonly dedup = new Map<string, number>();
  private dead: DeadLetter[] = [];
  private count = 0;
  /** The engine's alert/group state, journaled together with the notifications it produced. */
  private lastState: unknown;
  /** Dropped by the bound, by notifier (oldest INFO first). */
  readonly droppedBy = new Map<string, number>();
  deduplicated = 0;

  constructor(private readonly opts: OutboxOptions) {
    this.journal = new Journal<Record_>(opts.file, opts.fsync);
  }

  get size(): number {
    return this.count;
  }

  get skippedRecords(): number {
    return this.journal.skipped;
  }

  /** Replays the journal: pending entries, dead letters and recent dedup keys come back. */
  async open(now: number): Promise<void> {
    const records = await this.journal.open();
    const pending = new Map<string, OutboxEntry>();
    for (const r of records) {
      switch (r.t) {
        case 'add':
          pending.set(r.e.id, r.e);
          this.dedup.set(r.e.dedupKey, r.e.createdAt);
          break;
        case 'ok':
          pending.delete(r.id);
          this.dedup.set(r.k, r.at);
          break;
        case 'retry': {
          const e = pending.get(r.id);
          if (e) {
            e.attempts = r.n;
            e.nextAttemptAt = r.next;
            e.lastError = r.err;
          }
          break;
        }
        case 'dead':
          pending.delete(r.d.id);
          this.dead.push(r.d);
          break;
        case 'drop':
          pending.delete(r.id);
          break;
        case 'dedup':
          this.dedup.set(r.k, r.at);
          break;
        case 'state':
          this.lastState = r.s;
          break;
      }
    }
    const entries = [...pending.values()].sort((a, b) => a.createdAt - b.createdAt);
    for (const e of entries) this.insert(e);
    if (this.dead.length > this.opts.maxDeadLetters) this.dead = this.dead.slice(-this.opts.maxDeadLetters);
    this.pruneDedup(now);
    await this.compact();
  }

  /** The state saved with the last accepted batch (or by saveState), as replayed at open. */
  state(): unknown {
    return this.lastState;
  }

  /** Journals engine state without notifications (not fsync'd: nothing was promised yet). */
  async saveState(state: unknown): Promise<void> {
    this.lastState = state;
    await this.journal.append([{ t: 'state', s: state }], false);
    await this.maybeCompact();
  }

  /**
   * Entries journaled and fsync'd; returns what was accepted (dedup and the bound applied).
   * `state` (the alert and group state that produced them) goes in the same write, so after a
   * crash the engine's memory of what it notified and the outbox never disagree.
   */
  async accept(entries: readonly Omit<OutboxEntry, 'id' | 'attempts' | 'nextAttemptAt'>[], now: number, state?: unknown): Promise<AcceptResult> {
    this.pruneDedup(now);
    const accepted: OutboxEntry[] = [];
    const superseded: OutboxEntry[] = [];
    let deduplicated = 0;
    for (const e of entries) {
      if (this.dedup.has(e.dedupKey)) {
        deduplicated++;
        continue;
      }
      // A reminder (repeat / Alertmanager re-send) supersedes an older undelivered reminder of
      // the same group: during a long outage the queue holds one, not one per interval.
      if (e.message.repeat) superseded.push(...this.pendingRepeats(e.target, e.message.groupKey));
      const entry: OutboxEntry = { ...e, id: randomUUID(), attempts: 0, nextAttemptAt: now };
      this.dedup.set(e.dedupKey, now);
      this.insert(entry);
      accepted.push(entry);
    }
    this.deduplicated += deduplicated;
    const dropped = this.enforceBound();
    const records: Record_[] = accepted.map((e) => ({ t: 'add', e }));
    for (const d of dropped) records.push({ t: 'drop', id: d.id, reason: 'outbox full' });
    for (const d of superseded) if (this.remove(d)) records.push({ t: 'drop', id: d.id, reason: 'superseded by a newer reminder' });
    if (state !== undefined) {
      this.lastState = state;
      records.push({ t: 'state', s: state });
    }
    if (records.length > 0) await this.journal.append(records, accepted.length > 0);
    await this.maybeCompact();
    return { accepted: accepted.filter((e) => this.byId.has(e.id)), deduplicated, dropped };
  }

  /** Oldest pending entry of a target (its queue is FIFO: order of notifications is kept). */
  head(target: string): OutboxEntry | undefined {
    return this.queues.get(target)?.[0];
  }

  targets(): IterableIterator<string> {
    return this.queues.keys();
  }

  pending(notifier?: string): number {
    if (notifier === undefined) return this.count;
    let n = 0;
    for (const [t, q] of this.queues) if (t.startsWith(`${notifier}#`)) n += q.length;
    return n;
  }

  entries(): OutboxEntry[] {
    return [...this.byId.values()];
  }

  async delivered(e: OutboxEntry, now: number): Promise<void> {
    if (!this.remove(e)) return;
    this.dedup.set(e.dedupKey, now);
    // Written at once but not fsync'd: a SIGKILL keeps page-cache writes, and a power cut that
    // loses this record only means one duplicate delivery (at-least-once), never a lost one.
    await this.journal.append([{ t: 'ok', id: e.id, k: e.dedupKey, at: now }], false);
    await this.maybeCompact();
  }

  async retry(e: OutboxEntry, nextAttemptAt: number, error: string): Promise<void> {
    e.attempts++;
    e.nextAttemptAt = nextAttemptAt;
    e.lastError = error;
    // Not fsync'd: losing a retry record only means retrying a little sooner.
    await this.journal.append([{ t: 'retry', id: e.id, n: e.attempts, next: nextAttemptAt, err: error }], false);
  }

  async deadLetter(e: OutboxEntry, error: string, now: number, status?: number): Promise<DeadLetter | undefined> {
    if (!this.remove(e)) return undefined;
    const d: DeadLetter = {
      id: e.id,
      target: e.target,
      notifier: e.notifier,
      tier: e.tier,
      createdAt: e.createdAt,
      deadAt: now,
      attempts: e.attempts,
      ...(status !== undefined ? { status } : {}),
      error,
      message: e.message,
    };
    this.dead.push(d);
    if (this.dead.length > this.opts.maxDeadLetters) this.dead.shift();
    await this.journal.append([{ t: 'dead', d }], false);
    return d;
  }

  deadLetters(): readonly DeadLetter[] {
    return this.dead;
  }

  close(): Promise<void> {
    return this.journal.close();
  }

  private pendingRepeats(target: string, groupKey: string): OutboxEntry[] {
    const q = this.queues.get(target);
    if (!q) return [];
    // Never the head: it may be in flight right now.
    return q.slice(1).filter((x) => x.message.repeat && x.message.groupKey === groupKey);
  }

  private insert(e: OutboxEntry): void {
    let q = this.queues.get(e.target);
    if (!q) this.queues.set(e.target, (q = []));
    q.push(e);
    this.byId.set(e.id, e);
    this.count++;
  }

  private remove(e: OutboxEntry): boolean {
    if (!this.byId.delete(e.id)) return false;
    const q = this.queues.get(e.target);
    if (q) {
      const i = q.indexOf(e);
      if (i >= 0) q.splice(i, 1);
      if (q.length === 0) this.queues.delete(e.target);
    }
    this.count--;
    return true;
  }

  /** Over the bound: drop the oldest INFO, then the oldest WARNING, then the oldest of all. */
  private enforceBound(): OutboxEntry[] {
    const dropped: OutboxEntry[] = [];
    while (this.count > this.opts.maxEntries) {
      let victim: OutboxEntry | undefined;
      for (const e of this.byId.values()) {
        if (!victim || TIER_RANK[e.tier] < TIER_RANK[victim.tier] || (TIER_RANK[e.tier] === TIER_RANK[victim.tier] && e.createdAt < victim.createdAt)) victim = e;
        if (victim.tier === 'info') break; // byId is in insertion order: the first INFO is the oldest
      }
      if (!victim) break;
      this.remove(victim);
      this.droppedBy.set(victim.notifier, (this.droppedBy.get(victim.notifier) ?? 0) + 1);
      dropped.push(victim);
    }
    return dropped;
  }

  private pruneDedup(now: number): void {
    for (const [k, at] of this.dedup) if (now - at > this.opts.dedupWindowMs) this.dedup.delete(k);
  }

  private async maybeCompact(): Promise<void> {
    if (this.journal.written > 2000 && this.journal.written > 4 * (this.count + this.dead.length + this.dedup.size + 1)) await this.compact();
  }

  private compact(): Promise<void> {
    return this.journal.compact(() => {
      const out: Record_[] = [];
      if (this.lastState !== undefined) out.push({ t: 'state', s: this.lastState });
      for (const [k, at] of this.dedup) out.push({ t: 'dedup', k, at });
      for (const d of this.dead) out.push({ t: 'dead', d });
      const pending = [...this.byId.values()].sort((a, b) => a.createdAt - b.createdAt);
      for (const e of pending) out.push({ t: 'add', e });
      return out;
    });
  }
}
