import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import cache from '../../../plugins/cache/index.ts';
import { M } from '../../../plugins/cache/metrics.ts';
import { all, startPlugin, value } from './harness.ts';
import { freePort, startRedis, type TestServer } from './servers.ts';

const run = promisify(execFile);
let dir: string;
const nodes: TestServer[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vigil-cluster-'));
  for (let i = 0; i < 3; i++) {
    const port = await freePort();
    nodes.push(await startRedis(['--cluster-enabled', 'yes', '--cluster-config-file', join(dir, `nodes-${port}.conf`), '--dir', dir], port));
  }
  await run('redis-cli', ['--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-replicas', '0', '--cluster-yes']);
  // Wait until every node agrees the cluster is up.
  for (const n of nodes) {
    const c = new Redis(n.port, '127.0.0.1');
    for (let i = 0; i < 100; i++) {
      const info = (await c.cluster('INFO')) as string;
      if (info.includes('cluster_state:ok')) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    c.disconnect();
  }
}, 60_000);

afterAll(async () => {
  await Promise.all(nodes.map((n) => n.stop()));
  await rm(dir, { recursive: true, force: true });
});

describe('cache plugin on a real Redis Cluster', () => {
  it('discovers every node from one seed and computes the key imbalance from per-node DBSIZE', async () => {
    // Put all keys in one hash slot on purpose: a hot shard.
    const hot = new Redis(nodes[0]!.port, '127.0.0.1');
    const slotOwner = async (key: string): Promise<number> => {
      const slot = (await hot.cluster('KEYSLOT', key)) as number;
      const slots = await hot.cluster('SLOTS');
      const owner = slots.find(([from, to]) => slot >= from && slot <= to)!;
      return owner[2]![1];
    };
    const ownerPort = await slotOwner('{hot}:0');
    const owner = new Redis(ownerPort, '127.0.0.1');
    const pl = owner.pipeline();
    for (let i = 0; i < 200; i++) pl.set(`{hot}:${i}`, '1');
    await pl.exec();
    owner.disconnect();

    const p = await startPlugin(cache, { redis: [{ url: nodes[1]!.url, cluster: true, name: 'c1' }] });
    try {
      const s = await p.collect(Date.now());
      const up = all(s, M.up);
      expect(up.map((x) => x.attributes?.['server.port']).sort()).toEqual(nodes.map((n) => n.port).sort());
      expect(up.every((x) => x.value === 1)).toBe(true);
      const sizes: number[] = [];
      for (const n of nodes) {
        const c = new Redis(n.port, '127.0.0.1');
        sizes.push((await c.dbsize()) as number);
        c.disconnect();
      }
      const total = sizes.reduce((a, b) => a + b, 0);
      const expected = Math.max(...sizes.map((x) => Math.abs((x / total) * 3 - 1)));
      expect(value(s, M.imbalance, { 'vigil.cache.group': 'c1', kind: 'keys' })).toBeCloseTo(expected, 12);
      expect(expected).toBeCloseTo(2, 12); // all 200 keys on one of three nodes
      expect(value(s, M.share, { 'server.port': ownerPort, kind: 'keys' })).toBe(1);
    } finally {
      hot.disconnect();
      await p.stop();
    }
  });

  it('keeps the other nodes when one cluster node dies', async () => {
    const p = await startPlugin(cache, { redis: [{ url: nodes[0]!.url, cluster: true, name: 'c2' }], connect_timeout: '500ms' });
    try {
      await p.collect(Date.now());
      const victim = nodes[2]!;
      await victim.stop();
      const s = await p.collect(Date.now() + 1000);
      expect(value(s, M.up, { 'server.port': victim.port })).toBe(0);
      expect(value(s, M.up, { 'server.port': nodes[0]!.port })).toBe(1);
      expect(value(s, M.up, { 'server.port': nodes[1]!.port })).toBe(1);
      // A share computed without the dead node would invent a hot shard: none is emitted.
      expect(all(s, M.imbalance)).toHaveLength(0);
    } finally {
      await p.stop();
    }
  });
});

describe('cache plugin: cluster seed problems', () => {
  it('is unavailable when the seed is not there, failing when the seed is no cluster node', async () => {
    const port = await freePort();
    const p = await startPlugin(cache, { redis: [{ url: `redis://127.0.0.1:${port}`, cluster: true }], connect_timeout: '300ms' });
    try {
      const err = (await p.collect(Date.now()).catch((e: unknown) => e)) as Error;
      expect(err.name).toBe('PluginUnavailableError');
    } finally {
      await p.stop();
    }
    const plain = await startRedis();
    const q = await startPlugin(cache, { redis: [{ url: plain.url, cluster: true, name: 'notacluster' }] });
    try {
      const err = (await q.collect(Date.now()).catch((e: unknown) => e)) as Error;
      expect(err.name).not.toBe('PluginUnavailableError');
      expect(err.message).toMatch(/cluster notacluster: cannot read CLUSTER NODES: .*cluster support disabled/i);
    } finally {
      await q.stop();
      await plain.stop();
    }
  });
});
