import type { Sample } from '../../../agent/plugin/api.ts';
import type { NodeLoad } from '../imbalance.ts';
import { M } from '../metrics.ts';
import { CounterDeltas, intervalHitRatio, type Delta } from '../../shared/rate.ts';
import type { ManagedRedis } from '../../shared/redis-connection.ts';
import { infoNumber, parseInfo, type RedisInfo } from './info-parser.ts';

export interface NodeResult {
  readonly samples: Sample[];
  readonly load: NodeLoad;
  readonly error?: Error;
  readonly info?: RedisInfo;
}

/** Counters whose deltas give the interval rates; the key is the INFO field. */
const COUNTERS: ReadonlyArray<readonly [field: string, metric: string]> = [
  ['keyspace_hits', M.redisHits],
  ['keyspace_misses', M.redisMisses],
  ['evicted_keys', M.redisEvicted],
  ['expired_keys', M.redisExpired],
  ['rejected_connections', M.redisRejected],
  ['total_commands_processed', M.redisCommands],
  ['uptime_in_seconds', M.redisUptime],
];

const GAUGES: ReadonlyArray<readonly [field: string, metric: string]> = [
  ['used_memory', M.redisMemUsed],
  ['used_memory_rss', M.redisMemRss],
  ['used_memory_peak', M.redisMemPeak],
  ['mem_fragmentation_ratio', M.redisFrag],
  ['connected_clients', M.redisClients],
  ['blocked_clients', M.redisBlocked],
  ['master_repl_offset', M.redisReplOffset],
  ['connected_slaves', M.redisReplicas],
];

/**
 * Reads one Redis server with a single `INFO` per collection and turns it into samples,
 * including interval rates from counter deltas. The server's run_id is the counters'
 * epoch: after a restart the first interval has no rates instead of a negative one.
 */
export class RedisNodeScraper {
  private readonly deltas = new CounterDeltas();
  readonly attributes: Readonly<Record<string, string | number>>;

  constructor(
    readonly conn: ManagedRedis,
    readonly nodeName: string,
    readonly group: string,
  ) {
    this.attributes = {
      'db.system.name': 'redis',
      'vigil.cache.node': nodeName,
      'server.address': conn.target.host,
      'server.port': conn.target.port,
    };
  }

  async collect(now: number): Promise<NodeResult> {
    const attrs = this.attributes;
    let text: string;
    try {
      text = await this.conn.run((c) => c.info());
    } catch (err) {
      return {
        samples: [{ metric: M.up, value: 0, attributes: attrs }],
        load: { system: 'redis', group: this.group, attributes: attrs, keys: undefined, commands: undefined, primary: true },
        error: err instanceof Error ? err : new Error(String(err)),
      };
    }
    const info = parseInfo(text);
    return { ...this.toSamples(info, now), info };
  }

  /** Pure conversion of one INFO reading (exposed for fixture tests). */
  toSamples(info: RedisInfo, now: number): { samples: Sample[]; load: NodeLoad } {
    const attrs = this.attributes;
    const samples: Sample[] = [{ metric: M.up, value: 1, attributes: attrs }];
    const epoch = info.fields.get('run_id');
    const d = new Map<string, Delta | undefined>();
    for (const [field, metric] of COUNTERS) {
      const v = infoNumber(info, field);
      if (v === undefined) continue;
      samples.push({ metric, value: v, attributes: attrs });
      d.set(field, this.deltas.observe(field, v, now, epoch));
    }
    for (const [field, metric] of GAUGES) {
      const v = infoNumber(info, field);
      if (v !== undefined) samples.push({ metric, value: v, attributes: attrs });
    }
    const hits = d.get('keyspace_hits');
    const misses = d.get('keyspace_misses');
    const ratio = intervalHitRatio(hits, misses);
    if (ratio !== undefined) samples.push({ metric: M.hitRatio, value: ratio, attributes: attrs });
    pushRate(samples, M.hitRate, hits, attrs);
    pushRate(samples, M.missRate, misses, attrs);
    pushRate(samples, M.evictionRate, d.get('evicted_keys'), attrs);
    const commands = d.get('total_commands_processed');
    pushRate(samples, M.commandRate, commands, attrs);

    const used = infoNumber(info, 'used_memory');
    const max = infoNumber(info, 'maxmemory');
    if (max !== undefined && max > 0) {
      samples.push({ metric: M.redisMaxmemory, value: max, attributes: attrs });
      if (used !== undefined) samples.push({ metric: M.memUtilization, value: used / max, attributes: attrs });
    }
    const policy = info.fields.get('maxmemory_policy');
    if (policy) samples.push({ metric: M.evictionPolicy, value: 1, attributes: { ...attrs, policy } });

    let keys = 0;
    for (const db of info.dbs) {
      keys += db.keys;
      samples.push({ metric: M.redisDbKeys, value: db.keys, attributes: { ...attrs, db: String(db.db) } });
      samples.push({ metric: M.redisDbExpires, value: db.expires, attributes: { ...attrs, db: String(db.db) } });
    }

    const role = info.fields.get('role') === 'slave' ? 'replica' : 'primary';
    samples.push({ metric: M.redisRole, value: 1, attributes: { ...attrs, role } });
    if (role === 'primary') {
      const offset = infoNumber(info, 'master_repl_offset') ?? 0;
      for (const r of info.replicas) {
        const ra = { ...attrs, 'vigil.cache.replica': r.address };
        samples.push({ metric: M.replLag, value: Math.max(0, offset - r.offset), attributes: ra });
        if (r.lagSeconds !== undefined) samples.push({ metric: M.replAckAge, value: r.lagSeconds, attributes: ra });
      }
    } else {
      samples.push({ metric: M.replLinkUp, value: info.fields.get('master_link_status') === 'up' ? 1 : 0, attributes: attrs });
      const io = infoNumber(info, 'master_last_io_seconds_ago');
      if (io !== undefined && io >= 0) samples.push({ metric: M.replLastIo, value: io, attributes: attrs });
    }
    return {
      samples,
      load: { system: 'redis', group: this.group, attributes: attrs, keys, commands: commands?.delta, primary: role === 'primary' },
    };
  }

  close(): Promise<void> {
    return this.conn.close();
  }
}

function pushRate(out: Sample[], metric: string, d: Delta | undefined, attributes: Readonly<Record<string, string | number>>): void {
  if (d) out.push({ metric, value: d.delta / d.seconds, attributes });
}
