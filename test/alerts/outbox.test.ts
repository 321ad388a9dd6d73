import { appendFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { backoffDelay } from '../../agent/alerts/outbox/delivery.ts';
import { Outbox, type OutboxEntry } from '../../agent/alerts/outbox/outbox.ts';
import type { NotificationMessage, Tier } from '../../agent/alerts/types.ts';
import { tempDir } from './helpers.ts';

const msg = (key: string): NotificationMessage => ({ receiver: 'slack', groupKey: key, groupLabels: {}, status: 'firing', alerts: [], at: 0, repeat: false });
const entry = (key: string, tier: Tier = 'warning', at = 1000): Omit<OutboxEntry, 'id' | 'attempts' | 'nextAttemptAt'> => ({
  target: 'slack#0',
  notifier: 'slack',
  targetIndex: 0,
  tier,
  createdAt: at,
  dedupKey: key,
  message: msg(key),
});

function open(file: string, max = 100): Outbox {
  return new Outbox({ file, maxEntries: max, dedupWindowMs: 60_000, maxDeadLetters: 10, fsync: true });
}

describe('durable outbox', () => {
  it('replays pending entries, retry state, dead letters and dedup keys after a reopen', async () => {
    const file = join(tempDir(), 'outbox.journal');
    const a = open(file);
    await a.open(1000);
    const { accepted } = await a.accept([entry('k1'), entry('k2'), entry('k3')], 1000, { v: 1, alerts: [], groups: [] });
    expect(accepted).toHaveLength(3);
    await a.delivered(accepted[0]!, 1100);
    await a.retry(accepted[1]!, 5000, 'HTTP 503');
    await a.deadLetter(accepted[2]!, 'HTTP 400 invalid_payload', 1200, 400);
    // No close(): as if the process died here.
    const b = open(file);
    await b.open(2000);
    expect(b.size).toBe(1);
    expect(b.head('slack#0')).toMatchObject({ dedupKey: 'k2', attempts: 1, nextAttemptAt: 5000, lastError: 'HTTP 503' });
    expect(b.deadLetters()).toMatchObject([{ status: 400, error: 'HTTP 400 invalid_payload' }]);
    expect(b.state()).toEqual({ v: 1, alerts: [], groups: [] });
    // Delivered, pending and dead keys all count for dedup within the window.
    const again = await b.accept([entry('k1'), entry('k2'), entry('k3'), entry('k4')], 2000);
    expect(again.accepted.map((e) => e.dedupKey)).toEqual(['k4']);
    expect(again.deduplicated).toBe(3);
    // After the window the same key may be sent again (a new episode).
    const later = open(file);
    await later.open(200_000);
    expect((await later.accept([entry('k1')], 200_000)).accepted).toHaveLength(1);
    await Promise.all([a.close(), b.close(), later.close()]);
  });

  it('skips a torn last line left by a crash mid-append', async () => {
    const file = join(tempDir(), 'outbox.journal');
    const a = open(file);
    await a.open(0);
    await a.accept([entry('k1')], 0);
    appendFileSync(file, '{"t":"add","e":{"id":"x","targ'); // torn write, no newline
    const b = open(file);
    await b.open(0);
    expect(b.size).toBe(1);
    expect(b.skippedRecords).toBe(1);
    await b.accept([entry('k2')], 0);
    const c = open(file);
    await c.open(0);
    expect(c.size).toBe(2);
    await Promise.all([a.close(), b.close(), c.close()]);
  });

  it('is bounded: the oldest INFO goes first, with a counter', async () => {
    const file = join(tempDir(), 'outbox.journal');
    const o = open(file, 10);
    await o.open(0);
    await o.accept([entry('c0', 'critical', 1), entry('i0', 'info', 2), entry('w0', 'warning', 3), entry('i1', 'info', 4)], 10);
    await o.accept(Array.from({ length: 6 }, (_, i) => entry(`c${i + 1}`, 'critical', 10 + i)), 20);
    expect(o.size).toBe(10);
    const res = await o.accept([entry('x1', 'critical', 30), entry('x2', 'critical', 31), entry('x3', 'critical', 32)], 30);
    expect(res.dropped.map((e) => e.dedupKey)).toEqual(['i0', 'i1', 'w0']);
    expect(o.droppedBy.get('slack')).toBe(3);
    expect(o.size).toBe(10);
    const reopened = open(file, 10);
    await reopened.open(40);
    expect(reopened.entries().map((e) => e.dedupKey)).not.toContain('i0');
    expect(reopened.size).toBe(10);
    await Promise.all([o.close(), reopened.close()]);
  });

  it('compacts the journal without losing live entries', async () => {
    const file = join(tempDir(), 'outbox.journal');
    const o = open(file, 10_000);
    await o.open(0);
    for (let i = 0; i < 1200; i++) {
      const { accepted } = await o.accept([entry(`k${i}`, 'warning', i)], i);
      if (i % 100 !== 0) await o.delivered(accepted[0]!, i);
    }
    const lines = readFileSync(file, 'utf8').trim().split('\n').length;
    expect(lines).toBeLessThan(2400); // compacted at least once
    const r = open(file, 10_000);
    await r.open(1300);
    expect(r.size).toBe(12);
    expect(r.entries().map((e) => e.dedupKey)).toEqual(Array.from({ length: 12 }, (_, i) => `k${i * 100}`));
    await Promise.all([o.close(), r.close()]);
  });

  it('a newer reminder supersedes an undelivered older one of the same group', async () => {
    const o = open(join(tempDir(), 'outbox.journal'));
    await o.open(0);
    const rep = (k: string, group: string) => ({ ...entry(k), message: { ...msg(group), repeat: true } });
    await o.accept([entry('first')], 0);
    await o.accept([rep('r1', 'g')], 1);
    await o.accept([rep('r2', 'other')], 2);
    await o.accept([rep('r3', 'g')], 3);
    expect(o.entries().map((e) => e.dedupKey)).toEqual(['first', 'r2', 'r3']);
    await o.close();
  });

  it('backoff is exponential, capped, with jitter in [d/2, d]', () => {
    expect(backoffDelay(1, 1000, 60_000, () => 1)).toBe(1000);
    expect(backoffDelay(4, 1000, 60_000, () => 1)).toBe(8000);
    expect(backoffDelay(4, 1000, 60_000, () => 0)).toBe(4000);
    expect(backoffDelay(30, 1000, 60_000, () => 1)).toBe(60_000);
  });
});
