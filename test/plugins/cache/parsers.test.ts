import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { imbalance } from '../../../plugins/cache/imbalance.ts';
import { M } from '../../../plugins/cache/metrics.ts';
import { CounterDeltas, GaugeChanges, intervalHitRatio } from '../../../plugins/shared/rate.ts';
import { redactUrl } from '../../../plugins/shared/redact.ts';
import { parseClusterNodes } from '../../../plugins/cache/redis/cluster-nodes.ts';
import { ManagedRedis } from '../../../plugins/shared/redis-connection.ts';
import { infoNumber, parseCommandStats, parseInfo } from '../../../plugins/cache/redis/info-parser.ts';
import { RedisNodeScraper } from '../../../plugins/cache/redis/scraper.ts';
import { all, value } from './harness.ts';

const fixture = (name: string) => readFileSync(new URL(`../../../plugins/cache/testdata/${name}`, import.meta.url), 'utf8');

describe('INFO parser', () => {
  it('reads fields, keyspace and replicas from a real primary INFO (CRLF)', () => {
    const info = parseInfo(fixture('info-primary.txt'));
    expect(info.fields.get('role')).toBe('master');
    expect(infoNumber(info, 'keyspace_hits')).toBe(1);
    expect(info.dbs).toEqual([
      { db: 0, keys: 2, expires: 1, avgTtlMs: 99387 },
      { db: 3, keys: 1, expires: 0, avgTtlMs: 0 },
    ]);
    expect(info.replicas).toEqual([{ address: '127.0.0.1:16402', state: 'online', offset: 159, lagSeconds: 0 }]);
  });

  it('turns a replica INFO into role, link and keyspace samples', () => {
    const conn = new ManagedRedis({ host: '127.0.0.1', port: 16402, label: 'redis://127.0.0.1:16402' }, { connectTimeoutMs: 1, commandTimeoutMs: 1 });
    const s = new RedisNodeScraper(conn, 'rep', 'g').toSamples(parseInfo(fixture('info-replica.txt')), 1000).samples;
    expect(value(s, M.redisRole, { role: 'replica' })).toBe(1);
    expect(value(s, M.replLinkUp)).toBe(1);
    expect(value(s, M.replLastIo)).toBe(1);
    expect(value(s, M.redisDbKeys, { db: '3' })).toBe(1);
    expect(all(s, M.redisMaxmemory)).toHaveLength(0); // maxmemory 0 = unlimited
    expect(all(s, M.memUtilization)).toHaveLength(0);
  });

  it('reports replica lag in bytes on the primary', () => {
    const conn = new ManagedRedis({ host: '127.0.0.1', port: 16401, label: 'x' }, { connectTimeoutMs: 1, commandTimeoutMs: 1 });
    const text = fixture('info-primary.txt').replace('master_repl_offset:159', 'master_repl_offset:1159');
    const s = new RedisNodeScraper(conn, 'p', 'g').toSamples(parseInfo(text), 1000).samples;
    expect(value(s, M.replLag, { 'vigil.cache.replica': '127.0.0.1:16402' })).toBe(1000);
  });

  it('parses commandstats', () => {
    const m = parseCommandStats('# Commandstats\r\ncmdstat_info:calls=12,usec=300,usec_per_call=25.00\r\ncmdstat_client|setname:calls=1,usec=1\r\n');
    expect(m.get('info')).toBe(12);
    expect(m.get('client|setname')).toBe(1);
  });
});

describe('CLUSTER NODES parser', () => {
  it('keeps addressable nodes with roles, failures and slot counts', () => {
    const nodes = parseClusterNodes(fixture('cluster-nodes.txt'), '10.0.0.9');
    expect(nodes).toHaveLength(6); // the noaddr node is skipped
    const self = nodes.find((n) => n.myself)!;
    expect(self).toMatchObject({ host: '10.0.0.9', port: 30001, role: 'primary', slots: 5461 });
    expect(nodes.find((n) => n.port === 30003)!.slots).toBe(16383 - 10923 + 1); // migrating slot not counted twice
    expect(nodes.find((n) => n.port === 30005)).toMatchObject({ role: 'replica', failing: true });
    expect(nodes.find((n) => n.port === 30004)).toMatchObject({ role: 'replica', host: '127.0.0.1', primaryId: 'e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca' });
  });
});

describe('counter deltas', () => {
  it('never yields a negative delta, whatever the sequence of readings', () => {
    fc.assert(
      fc.property(fc.array(fc.record({ v: fc.nat(1e9), dt: fc.integer({ min: 0, max: 10_000 }), epoch: fc.constantFrom('a', 'b') }), { maxLength: 50 }), (readings) => {
        const d = new CounterDeltas();
        let t = 0;
        for (const r of readings) {
          t += r.dt;
          const out = d.observe('k', r.v, t, r.epoch);
          if (out) {
            expect(out.delta).toBeGreaterThanOrEqual(0);
            expect(out.seconds).toBeGreaterThan(0);
          }
        }
      }),
    );
  });

  it('skips the interval of a reset and resumes after it', () => {
    const d = new CounterDeltas();
    expect(d.observe('h', 100, 0, 'run1')).toBeUndefined();
    expect(d.observe('h', 150, 1000, 'run1')).toEqual({ delta: 50, seconds: 1 });
    expect(d.observe('h', 160, 2000, 'run2')).toBeUndefined(); // restart, counter happened to be higher
    expect(d.observe('h', 5, 3000, 'run2')).toBeUndefined(); // went down
    expect(d.observe('h', 7, 5000, 'run2')).toEqual({ delta: 2, seconds: 2 });
  });

  it('hit ratio is absent without lookups or deltas', () => {
    expect(intervalHitRatio({ delta: 0, seconds: 1 }, { delta: 0, seconds: 1 })).toBeUndefined();
    expect(intervalHitRatio(undefined, { delta: 3, seconds: 1 })).toBeUndefined();
    expect(intervalHitRatio({ delta: 3, seconds: 1 }, { delta: 1, seconds: 1 })).toBe(0.75);
  });

  it('gauge changes are signed', () => {
    const g = new GaugeChanges();
    g.observe('b', 10, 0);
    expect(g.observe('b', 4, 2000)).toEqual({ change: -6, seconds: 2 });
  });
});

describe('imbalance', () => {
  it('is 0 for even shares and n-1 when one node has everything', () => {
    expect(imbalance([5, 5, 5])!.imbalance).toBe(0);
    expect(imbalance([0, 9, 0])!.imbalance).toBe(2);
    expect(imbalance([3, 1])!.imbalance).toBeCloseTo(0.5, 12);
    expect(imbalance([1])).toBeUndefined();
    expect(imbalance([0, 0])).toBeUndefined();
  });
});

describe('redaction', () => {
  it('hides URL passwords', () => {
    expect(redactUrl('redis://user:s3cret@host:6379/0')).toBe('redis://user:***@host:6379/0');
    expect(redactUrl('amqp://guest:guest@127.0.0.1:5672')).not.toContain(':guest@');
  });
});
