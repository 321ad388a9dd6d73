import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import cache from '../../../plugins/cache/index.ts';
import { M } from '../../../plugins/cache/metrics.ts';
import { all, startPlugin, value } from './harness.ts';
import { freePort, recordingLogger, startRedis, type TestServer } from './servers.ts';

let server: TestServer;
let admin: Redis;

beforeAll(async () => {
  server = await startRedis();
  admin = new Redis(server.port, '127.0.0.1', { lazyConnect: true });
  await admin.connect();
});

afterAll(async () => {
  admin.disconnect();
  await server.stop();
});

describe('cache plugin on a real redis-server', () => {
  it('counts exactly N hits and M misses and computes the interval hit ratio', async () => {
    const p = await startPlugin(cache, { redis: [{ url: server.url, name: 'r1' }] });
    try {
      const prefix = `vigil:test:${Math.random().toString(36).slice(2)}`;
      for (let i = 0; i < 5; i++) await admin.set(`${prefix}:k${i}`, 'v');
      const t0 = 1_000_000;
      const first = await p.collect(t0);
      expect(all(first, M.hitRatio)).toHaveLength(0); // no baseline yet
      const N = 37;
      const Mm = 13;
      for (let i = 0; i < N; i++) await admin.get(`${prefix}:k${i % 5}`);
      for (let i = 0; i < Mm; i++) await admin.get(`${prefix}:missing${i}`);
      const second = await p.collect(t0 + 2000);
      expect(value(second, M.redisHits) - value(first, M.redisHits)).toBe(N);
      expect(value(second, M.redisMisses) - value(first, M.redisMisses)).toBe(Mm);
      expect(value(second, M.hitRatio, { 'vigil.cache.node': 'r1' })).toBeCloseTo(N / (N + Mm), 12);
      expect(value(second, M.hitRate)).toBeCloseTo(N / 2, 12);
      expect(value(second, M.missRate)).toBeCloseTo(Mm / 2, 12);
      expect(value(second, M.up)).toBe(1);
      expect(value(second, M.redisDbKeys, { db: '0' })).toBeGreaterThanOrEqual(5);

      // An interval without lookups has no hit ratio (not 0, not the lifetime average).
      const third = await p.collect(t0 + 4000);
      expect(all(third, M.hitRatio)).toHaveLength(0);
      expect(value(third, M.hitRate)).toBe(0);
    } finally {
      await p.stop();
    }
  });

  it('shows maxmemory as a limit and utilization only when set', async () => {
    const p = await startPlugin(cache, { redis: [{ url: server.url }] });
    try {
      await admin.config('SET', 'maxmemory', '0');
      const before = await p.collect(Date.now());
      expect(all(before, M.memUtilization)).toHaveLength(0);
      expect(all(before, M.redisMaxmemory)).toHaveLength(0);
      await admin.config('SET', 'maxmemory', String(64 * 1024 * 1024));
      await admin.config('SET', 'maxmemory-policy', 'allkeys-lru');
      const after = await p.collect(Date.now() + 1000);
      const used = value(after, M.redisMemUsed);
      expect(value(after, M.redisMaxmemory)).toBe(64 * 1024 * 1024);
      expect(value(after, M.memUtilization)).toBeCloseTo(used / (64 * 1024 * 1024), 12);
      expect(all(after, M.evictionPolicy, { policy: 'allkeys-lru' })).toHaveLength(1);
    } finally {
      await admin.config('SET', 'maxmemory', '0');
      await p.stop();
    }
  });

  it('reconnects after CLIENT KILL of its connection', async () => {
    const p = await startPlugin(cache, { redis: [{ url: server.url }] }, { instance: 'killme' });
    try {
      await p.collect(Date.now());
      const list = (await admin.client('LIST')) as string;
      const mine = list.split('\n').filter((l) => l.includes('name=vigil-killme'));
      expect(mine).toHaveLength(1);
      const id = /id=(\d+)/.exec(mine[0]!)![1]!;
      expect(await admin.client('KILL', 'ID', id)).toBe(1);
      const again = await p.collect(Date.now() + 1000);
      expect(value(again, M.up)).toBe(1);
      const list2 = (await admin.client('LIST')) as string;
      const mine2 = list2.split('\n').filter((l) => l.includes('name=vigil-killme'));
      expect(mine2).toHaveLength(1);
      expect(/id=(\d+)/.exec(mine2[0]!)![1]).not.toBe(id);
    } finally {
      await p.stop();
    }
  });

  it('is unavailable when nothing listens, without retrying on every call', async () => {
    const port = await freePort();
    const p = await startPlugin(cache, { redis: [{ url: `redis://127.0.0.1:${port}` }], connect_timeout: '500ms' });
    try {
      const err1 = await p.collect(Date.now()).catch((e: unknown) => e as Error);
      expect(err1).toBeInstanceOf(Error);
      expect((err1 as Error).name).toBe('PluginUnavailableError');
      expect((err1 as Error).message).toContain('ECONNREFUSED');
      // Inside the backoff window no new connection is attempted: the error says when.
      const err2 = await p.collect(Date.now()).catch((e: unknown) => e as Error);
      expect((err2 as Error).name).toBe('PluginUnavailableError');
      expect((err2 as Error).message).toMatch(/next attempt in \d+s/);
    } finally {
      await p.stop();
    }
  });

  it('keeps collecting healthy nodes when one node is down', async () => {
    const dead = await freePort();
    const { logger, lines } = recordingLogger();
    const p = await startPlugin(cache, { redis: [{ url: server.url, name: 'alive' }, { url: `redis://127.0.0.1:${dead}`, name: 'dead' }], connect_timeout: '500ms' }, { logger });
    try {
      const s1 = await p.collect(Date.now());
      const s2 = await p.collect(Date.now() + 10);
      for (const s of [s1, s2]) {
        expect(value(s, M.up, { 'vigil.cache.node': 'alive' })).toBe(1);
        expect(value(s, M.up, { 'vigil.cache.node': 'dead' })).toBe(0);
        expect(all(s, M.redisMemUsed, { 'vigil.cache.node': 'alive' })).toHaveLength(1);
      }
      // The dead node's error is logged once, not once per collection.
      expect(lines.filter((l) => l.level === 'warn' && l.msg === 'cache node collection failed')).toHaveLength(1);
    } finally {
      await p.stop();
    }
  });

  it('gives no negative rate and no hit-ratio spike across a server restart', async () => {
    const own = await startRedis();
    const c = new Redis(own.port, '127.0.0.1', { lazyConnect: true, retryStrategy: () => null });
    c.on('error', () => {});
    await c.connect();
    const p = await startPlugin(cache, { redis: [{ url: own.url }] });
    let restarted: TestServer | undefined;
    try {
      await c.set('k', 'v');
      for (let i = 0; i < 50; i++) await c.get('k');
      await p.collect(1_000);
      for (let i = 0; i < 50; i++) await c.get('k');
      const before = await p.collect(2_000);
      expect(value(before, M.hitRatio)).toBe(1);
      c.disconnect();
      await own.stop();
      restarted = await startRedis([], own.port);
      const c2 = new Redis(own.port, '127.0.0.1');
      await c2.get('gone'); // one miss after the restart
      const after = await p.collect(3_000);
      expect(value(after, M.up)).toBe(1);
      expect(value(after, M.redisMisses)).toBe(1);
      expect(all(after, M.hitRatio)).toHaveLength(0);
      for (const m of [M.hitRate, M.missRate, M.commandRate, M.evictionRate]) expect(all(after, m)).toHaveLength(0);
      await c2.get('gone');
      const next = await p.collect(4_000);
      expect(value(next, M.hitRatio)).toBe(0);
      expect(value(next, M.missRate)).toBe(1);
      c2.disconnect();
    } finally {
      await p.stop();
      await restarted?.stop();
      await own.stop();
    }
  });

  it('reports a wrong password clearly (failing, not unavailable) and never prints it', async () => {
    const own = await startRedis(['--requirepass', 'right-secret-1']);
    const p = await startPlugin(cache, { redis: [{ url: own.url, password: 'wrong-secret-2' }] });
    try {
      const err = (await p.collect(Date.now()).catch((e: unknown) => e)) as Error;
      expect(err.name).not.toBe('PluginUnavailableError');
      expect(err.message).toMatch(/authentication failed/);
      expect(err.message).not.toContain('wrong-secret-2');
    } finally {
      await p.stop();
      await own.stop();
    }
  });

  it('authenticates as an ACL user with a password file and needs only INFO/PING/CLIENT SETNAME', async () => {
    const own = await startRedis();
    const c = new Redis(own.port, '127.0.0.1');
    try {
      await c.call('ACL', 'SETUSER', 'vigil', 'on', '>acl-pass-123', '-@all', '+info', '+ping', '+client|setname');
      const dir = await mkdtemp(join(tmpdir(), 'vigil-cache-'));
      const file = join(dir, 'pw');
      await writeFile(file, 'acl-pass-123\n');
      const p = await startPlugin(cache, { redis: [{ url: own.url, username: 'vigil', password_file: file }] });
      try {
        const s = await p.collect(Date.now());
        expect(value(s, M.up)).toBe(1);
      } finally {
        await p.stop();
      }
    } finally {
      c.disconnect();
      await own.stop();
    }
  });

  it('computes key imbalance across two instances with uneven keys', async () => {
    const a = await startRedis();
    const b = await startRedis();
    const ca = new Redis(a.port, '127.0.0.1');
    const cb = new Redis(b.port, '127.0.0.1');
    const p = await startPlugin(cache, {
      redis: [
        { url: a.url, name: 'a', group: 'shards' },
        { url: b.url, name: 'b', group: 'shards' },
      ],
    });
    try {
      const pa = ca.pipeline();
      for (let i = 0; i < 300; i++) pa.set(`k${i}`, '1');
      await pa.exec();
      const pb = cb.pipeline();
      for (let i = 0; i < 100; i++) pb.set(`k${i}`, '1');
      await pb.exec();
      await p.collect(10_000);
      // Uneven commands too: 90 GETs on a, 10 on b during the interval.
      for (let i = 0; i < 90; i++) await ca.get('k1');
      for (let i = 0; i < 10; i++) await cb.get('k1');
      const s = await p.collect(11_000);
      // shares 0.75 / 0.25 → max |share·2 − 1| = 0.5
      expect(value(s, M.imbalance, { 'vigil.cache.group': 'shards', kind: 'keys' })).toBeCloseTo(0.5, 12);
      expect(value(s, M.share, { 'vigil.cache.node': 'a', kind: 'keys' })).toBeCloseTo(0.75, 12);
      expect(value(s, M.share, { 'vigil.cache.node': 'b', kind: 'keys' })).toBeCloseTo(0.25, 12);
      // Commands per node = GETs + the plugin's one INFO each: (91, 11) → shares 91/102, 11/102.
      expect(value(s, M.share, { 'vigil.cache.node': 'a', kind: 'commands' })).toBeCloseTo(91 / 102, 12);
      expect(value(s, M.imbalance, { 'vigil.cache.group': 'shards', kind: 'commands' })).toBeCloseTo(Math.abs((91 / 102) * 2 - 1), 12);
    } finally {
      await p.stop();
      ca.disconnect();
      cb.disconnect();
      await a.stop();
      await b.stop();
    }
  });
});
