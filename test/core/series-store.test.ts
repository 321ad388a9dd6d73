import { describe, expect, it } from 'vitest';
import { SeriesStore } from '../../agent/store/series-store.ts';

describe('SeriesStore', () => {
  it('keeps points in a ring bounded by retention / interval', () => {
    const store = new SeriesStore({ retentionMs: 10_000, maxSeries: 10 });
    for (let i = 0; i < 50; i++) store.record('p', 'm', { a: 'x' }, i, 1000 * i, 1000);
    const s = store.lookup('m', { a: 'x' })!;
    expect(s.capacity).toBe(11);
    expect(s.length).toBe(11);
    expect(s.valueAt(0)).toBe(39);
    expect(s.valueAt(10)).toBe(49);
    const w = s.window(45_000);
    expect(Array.from(w.v)).toEqual([45, 46, 47, 48, 49]);
    expect(Array.from(s.window(40_000, 42_000).t)).toEqual([40_000, 41_000, 42_000]);
  });

  it('keeps points in time order: a repeated timestamp replaces, an older one is dropped', () => {
    const store = new SeriesStore({ retentionMs: 60_000, maxSeries: 10 });
    const s = store.record('p', 'm', undefined, 1, 1000, 1000)!;
    store.record('p', 'm', undefined, 2, 2000, 1000);
    store.record('p', 'm', undefined, 3, 2000, 1000);
    store.record('p', 'm', undefined, 9, 1500, 1000);
    expect(Array.from(s.window(0).v)).toEqual([1, 3]);
    expect(s.lastValue).toBe(3);
  });

  it('identifies a series by metric and attributes in any order', () => {
    const store = new SeriesStore({ retentionMs: 60_000, maxSeries: 10 });
    const a = store.record('p', 'm', { x: 1, y: 'b' }, 1, 1, 1000);
    const b = store.record('p', 'm', { y: 'b', x: 1 }, 2, 2, 1000);
    expect(a).toBe(b);
    expect(store.size).toBe(1);
    expect(store.find('m', { x: 1 })).toHaveLength(1);
    expect(store.find('m', { x: 2 })).toHaveLength(0);
  });

  it('maps a reused frozen attribute object to its series, also after that series was pruned', () => {
    const store = new SeriesStore({ retentionMs: 10_000, maxSeries: 10 });
    const attrs = Object.freeze({ q: 'jobs' });
    const a = store.record('p', 'm', attrs, 1, 1000, 1000)!;
    expect(store.record('p', 'm', attrs, 2, 2000, 1000)).toBe(a);
    expect(store.record('p', 'other', attrs, 5, 2000, 1000)).not.toBe(a); // same object, other metric
    expect(store.record('p', 'm', { q: 'jobs' }, 3, 3000, 1000)).toBe(a); // equal but not the same object
    expect(Array.from(a.window(0).v)).toEqual([1, 2, 3]);
    expect(store.prune(100_000)).toBe(2);
    const b = store.record('p', 'm', attrs, 7, 101_000, 1000)!;
    expect(b).not.toBe(a);
    expect(store.lookup('m', { q: 'jobs' })).toBe(b);
    expect(store.byMetric('m')).toEqual([b]);
    expect(Array.from(b.window(0).v)).toEqual([7]);
  });

  it('refuses new series beyond the cap and counts them, keeping memory bounded', () => {
    const store = new SeriesStore({ retentionMs: 3_600_000, maxSeries: 1000, maxPointsPerSeries: 100 });
    for (let i = 0; i < 100_000; i++) store.record('flood', 'm', { id: i }, i, 1000, 1000);
    expect(store.size).toBe(1000);
    expect(store.refused).toBe(99_000);
    // Existing series still accept points.
    expect(store.record('flood', 'm', { id: 5 }, 1, 2000, 1000)).toBeDefined();
    for (let t = 0; t < 500; t++) store.record('flood', 'm', { id: 7 }, t, 3000 + t * 1000, 1000);
    expect(store.bytes()).toBeLessThanOrEqual(1000 * 100 * 16);
  });

  it('ends series missing from a collection and prunes them after retention', () => {
    const store = new SeriesStore({ retentionMs: 10_000, maxSeries: 10 });
    for (const pid of [1, 2]) store.record('p', 'm', { pid }, 1, 1000, 1000)!.generation = 1;
    store.record('p', 'other', undefined, 1, 1000, 1000)!.generation = 1;
    store.record('p', 'm', { pid: 1 }, 1, 2000, 1000)!.generation = 2;
    store.endMissing('p', 2, new Set(['m']));
    // Not reported at all this time (sub-sampled): left to go stale, not ended.
    expect(store.lookup('other')!.ended).toBe(false);
    expect(store.lookup('m', { pid: 2 })!.ended).toBe(true);
    expect(store.isFresh(store.lookup('m', { pid: 2 })!, 2000)).toBe(false);
    expect(store.isFresh(store.lookup('m', { pid: 1 })!, 2000)).toBe(true);
    expect(store.isFresh(store.lookup('m', { pid: 1 })!, 60_000)).toBe(false);
    expect(store.prune(11_500)).toBe(2);
    expect(store.size).toBe(1);
  });
});
