import { createConnection, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import cache from '../../../plugins/cache/index.ts';
import { M } from '../../../plugins/cache/metrics.ts';
import { all, startPlugin, value } from './harness.ts';
import { freePort, startMemcached, type TestServer } from './servers.ts';

let server: TestServer;

/** Sends raw text-protocol commands and waits for `expectReplies` terminators. */
async function mc(port: number, commands: string[]): Promise<void> {
  const s: Socket = createConnection({ host: '127.0.0.1', port });
  await new Promise<void>((res, rej) => s.once('connect', res).once('error', rej));
  let buf = '';
  const want = commands.length;
  await new Promise<void>((resolve) => {
    s.on('data', (d) => {
      buf += d.toString();
      const done = (buf.match(/(END|STORED|NOT_STORED|DELETED|NOT_FOUND)\r\n/g) ?? []).length;
      if (done >= want) resolve();
    });
    s.write(commands.join(''));
  });
  s.destroy();
}

beforeAll(async () => {
  server = await startMemcached(['-m', '64']);
});
afterAll(async () => {
  await server.stop();
});

describe('cache plugin on a real memcached', () => {
  it('counts hits and misses exactly and computes the interval hit ratio and memory utilization', async () => {
    const p = await startPlugin(cache, { memcached: [{ address: server.url, name: 'mc1' }] });
    try {
      await mc(server.port, ['set a 0 0 1\r\nx\r\n', 'set b 0 0 1\r\ny\r\n']);
      const first = await p.collect(5_000);
      expect(all(first, M.hitRatio)).toHaveLength(0);
      const N = 21;
      const Mm = 9;
      await mc(server.port, [...Array.from({ length: N }, (_, i) => `get ${i % 2 ? 'a' : 'b'}\r\n`), ...Array.from({ length: Mm }, (_, i) => `get nope${i}\r\n`)]);
      const second = await p.collect(8_000);
      const d = (metric: string, match: Record<string, string>) => value(second, metric, match) - value(first, metric, match);
      expect(d(M.mcOperations, { type: 'hit' })).toBe(N);
      expect(d(M.mcOperations, { type: 'miss' })).toBe(Mm);
      expect(value(second, M.hitRatio, { 'vigil.cache.node': 'mc1' })).toBeCloseTo(N / (N + Mm), 12);
      expect(value(second, M.hitRate)).toBeCloseTo(N / 3, 12);
      expect(value(second, M.mcLimit)).toBe(64 * 1024 * 1024);
      expect(value(second, M.memUtilization)).toBeCloseTo(value(second, M.mcBytes) / (64 * 1024 * 1024), 12);
      expect(value(second, M.mcItems)).toBe(2);
      // The agent keeps one connection: total_connections does not grow per collection.
      expect(value(second, M.mcConnections)).toBeGreaterThanOrEqual(1);
    } finally {
      await p.stop();
    }
  });

  it('is unavailable when nothing listens and recovers after a restart without a fake spike', async () => {
    const port = await freePort();
    const p = await startPlugin(cache, { memcached: [{ address: `127.0.0.1:${port}` }], connect_timeout: '500ms' });
    try {
      const err = (await p.collect(1_000).catch((e: unknown) => e)) as Error;
      expect(err.name).toBe('PluginUnavailableError');
    } finally {
      await p.stop();
    }
    const own = await startMemcached();
    let restarted: TestServer | undefined;
    const q = await startPlugin(cache, { memcached: [{ address: own.url }] });
    try {
      await mc(own.port, ['get x\r\n', 'get y\r\n']);
      await q.collect(1_000);
      await own.stop();
      const down = (await q.collect(2_000).catch((e: unknown) => e)) as Error;
      expect(down.name).toBe('PluginUnavailableError');
      restarted = await startMemcached([], own.port);
      await mc(own.port, ['get z\r\n']);
      await new Promise((r) => setTimeout(r, 1300)); // past the first reconnect backoff step
      const back = await q.collect(3_000);
      expect(value(back, M.up)).toBe(1);
      expect(value(back, M.mcOperations, { type: 'miss' })).toBe(1);
      // Counters went from 2 misses to 1: no rate, no ratio for this interval.
      expect(all(back, M.hitRatio)).toHaveLength(0);
      expect(all(back, M.missRate)).toHaveLength(0);
      await mc(own.port, ['get z\r\n']);
      const next = await q.collect(4_000);
      expect(value(next, M.missRate)).toBe(1);
    } finally {
      await q.stop();
      await restarted?.stop();
    }
  });
});
