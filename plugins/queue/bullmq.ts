import type { PluginLogger, Sample } from '../../agent/plugin/api.ts';
import { ManagedRedis, RedisUnreachableError, resolveRedisTarget, type ManagedRedisOptions } from '../shared/redis-connection.ts';
import type { BullmqConfig } from './config.ts';
import { queueAttributes, type QueueDeriver } from './derive.ts';
import { Q } from './metrics.ts';
import { BrokerUnreachableError, type QueueSource } from './source.ts';

/** Per-queue read-only commands, in pipeline order (see `collect`). */
const LISTS = ['wait', 'paused', 'active'] as const;
const ZSETS = ['delayed', 'prioritized', 'waiting-children', 'failed', 'completed'] as const;

/**
 * BullMQ (and Bull) queues read straight from their Redis keys with read-only commands,
 * all queues in one pipeline per collection: LLEN/ZCARD per state, the job id counter
 * (INCR'd by every add: the enqueue counter), the paused flag, and the oldest waiting
 * job's timestamp. BullMQ's own getJobCounts runs a Lua script that may also RPOP legacy
 * markers; reading the keys never changes data. Discovery by prefix uses a bounded SCAN.
 */
export class BullmqSource implements QueueSource {
  readonly system = 'bullmq';
  readonly server: string;
  private conn: ManagedRedis | undefined;
  private queues: string[] = [];
  private lastDiscovery = -Infinity;

  constructor(
    private readonly cfg: BullmqConfig,
    private readonly redisOpts: ManagedRedisOptions,
  ) {
    const u = new URL(cfg.redis);
    this.server = u.host;
    if (cfg.queues) this.queues = [...cfg.queues];
  }

  private async connection(): Promise<ManagedRedis> {
    this.conn ??= new ManagedRedis(await resolveRedisTarget({ ...this.cfg, url: this.cfg.redis }), this.redisOpts);
    return this.conn;
  }

  async collect(now: number, deriver: QueueDeriver, out: Sample[], logger: PluginLogger): Promise<void> {
    const conn = await this.connection();
    try {
      if (!this.cfg.queues && now - this.lastDiscovery >= this.cfg.discovery_interval) {
        this.queues = await this.discover(conn, logger);
        this.lastDiscovery = now;
      }
      await this.read(conn, now, deriver, out);
    } catch (err) {
      if (err instanceof RedisUnreachableError) throw new BrokerUnreachableError(`bullmq: ${err.message}`, { cause: err });
      throw err;
    }
  }

  /** Queue names under the prefix, from `<prefix>:<name>:meta` and `<prefix>:<name>:id` keys. */
  private async discover(conn: ManagedRedis, logger: PluginLogger): Promise<string[]> {
    const prefix = this.cfg.prefix;
    const found = new Set<string>();
    const batch = 1000;
    const maxCalls = Math.max(1, Math.ceil(this.cfg.scan_limit / batch));
    let cursor = '0';
    let calls = 0;
    // One pattern for both suffixes (glob classes), exact suffixes checked below.
    const pattern = `${escapeGlob(prefix)}:*:[mi][ed]*`;
    do {
      const [next, keys] = await conn.run((c) => c.scan(cursor, 'MATCH', pattern, 'COUNT', batch));
      cursor = next;
      calls++;
      for (const k of keys) {
        const rest = k.slice(prefix.length + 1);
        const name = rest.endsWith(':meta') ? rest.slice(0, -5) : rest.endsWith(':id') ? rest.slice(0, -3) : undefined;
        if (name && !name.includes(':') && found.size < this.cfg.max_queues) found.add(name);
      }
    } while (cursor !== '0' && calls < maxCalls);
    if (cursor !== '0') logger.warn({ prefix, scanned: calls * batch, found: found.size }, 'bullmq discovery stopped at scan_limit; some queues may be missing (list them in queues:)');
    return [...found].sort();
  }

  private async read(conn: ManagedRedis, now: number, deriver: QueueDeriver, out: Sample[]): Promise<void> {
    const queues = this.queues;
    if (queues.length === 0) return;
    const prefix = this.cfg.prefix;
    const PER_QUEUE = LISTS.length + ZSETS.length + 4;
    const replies = await conn.run(async (c) => {
      const p = c.pipeline();
      for (const name of queues) {
        const k = (s: string) => `${prefix}:${name}:${s}`;
        for (const l of LISTS) p.llen(k(l));
        for (const z of ZSETS) p.zcard(k(z));
        p.get(k('id'));
        p.hexists(k('meta'), 'paused');
        p.lindex(k('wait'), -1);
        p.lindex(k('paused'), -1);
      }
      return (await p.exec()) ?? [];
    });
    // Second round trip: creation time and delay of each queue's oldest waiting job.
    const oldest: { queue: number; id: string }[] = [];
    const counts: Map<string, number>[] = [];
    queues.forEach((name, qi) => {
      const base = qi * PER_QUEUE;
      const get = (i: number): unknown => {
        const [err, v] = replies[base + i] ?? [new Error('missing reply'), null];
        if (err) throw new Error(`bullmq queue ${name}: ${err.message}`);
        return v;
      };
      const m = new Map<string, number>();
      LISTS.forEach((l, i) => m.set(l, Number(get(i))));
      ZSETS.forEach((z, i) => m.set(z, Number(get(LISTS.length + i))));
      const idRaw = get(LISTS.length + ZSETS.length);
      m.set('id', idRaw === null ? -1 : Number(idRaw));
      m.set('pausedFlag', Number(get(LISTS.length + ZSETS.length + 1)));
      const tailWait = get(LISTS.length + ZSETS.length + 2);
      const tailPaused = get(LISTS.length + ZSETS.length + 3);
      // Bull/BullMQ < 5 kept "0:<ts>" marker entries in the wait list; they are not jobs.
      for (const [list, tail] of [['wait', tailWait], ['paused', tailPaused]] as const) {
        if (typeof tail === 'string' && tail.startsWith('0:')) m.set(list, Math.max(0, (m.get(list) ?? 0) - 1));
        else if (typeof tail === 'string' && !oldest.some((o) => o.queue === qi)) oldest.push({ queue: qi, id: tail });
      }
      counts.push(m);
    });
    const ages = new Map<number, number>();
    if (oldest.length > 0) {
      const jobs = await conn.run(async (c) => {
        const p = c.pipeline();
        for (const o of oldest) p.hmget(`${prefix}:${queues[o.queue]!}:${o.id}`, 'timestamp', 'delay');
        return (await p.exec()) ?? [];
      });
      oldest.forEach((o, i) => {
        const [err, v] = jobs[i] ?? [null, null];
        if (err || !Array.isArray(v)) return;
        const ts = Number(v[0]);
        const delay = Number(v[1] ?? 0) || 0;
        if (Number.isFinite(ts) && ts > 0) ages.set(o.queue, Math.max(0, (now - (ts + delay)) / 1000));
      });
    }
    queues.forEach((name, qi) => {
      const m = counts[qi]!;
      const a = queueAttributes(this.system, this.server, name);
      const n = (s: string) => m.get(s) ?? 0;
      const state = (s: string, v: number) => out.push({ metric: Q.messages, value: v, attributes: { ...a, 'vigil.queue.state': s } });
      state('waiting', n('wait'));
      state('paused', n('paused'));
      state('active', n('active'));
      state('delayed', n('delayed'));
      state('prioritized', n('prioritized'));
      state('waiting_children', n('waiting-children'));
      state('failed', n('failed'));
      state('completed', n('completed'));
      out.push({ metric: Q.paused, value: n('pausedFlag') > 0 || n('paused') > 0 ? 1 : 0, attributes: a });
      const age = ages.get(qi);
      if (age !== undefined) out.push({ metric: Q.oldestAge, value: age, attributes: a });
      const backlog = n('wait') + n('paused') + n('prioritized');
      const id = n('id');
      deriver.derive(
        {
          key: `bullmq\u0000${this.server}\u0000${prefix}\u0000${name}`,
          attributes: a,
          backlog,
          inflow: backlog + n('delayed') + n('waiting-children'),
          enqueuedTotal: id >= 0 ? id : undefined,
          ceilingKeys: [`bullmq:${name}`, name],
        },
        now,
        out,
      );
    });
  }

  async close(): Promise<void> {
    await this.conn?.close();
  }
}

function escapeGlob(s: string): string {
  return s.replace(/[*?[\]\\]/g, '\\$&');
}
