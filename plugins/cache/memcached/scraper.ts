import type { Sample } from '../../../agent/plugin/api.ts';
import type { NodeLoad } from '../imbalance.ts';
import { M } from '../metrics.ts';
import { CounterDeltas, intervalHitRatio, type Delta } from '../../shared/rate.ts';
import type { MemcachedStatsClient } from './client.ts';

export interface McNodeResult {
  readonly samples: Sample[];
  readonly load: NodeLoad;
  readonly error?: Error;
}

/**
 * One memcached server: `stats` once per collection. The pid is the counters' epoch, so a
 * restarted server gives one interval without rates rather than a negative one.
 */
export class MemcachedScraper {
  private readonly deltas = new CounterDeltas();
  readonly attributes: Readonly<Record<string, string | number>>;

  constructor(
    readonly client: MemcachedStatsClient,
    readonly nodeName: string,
    readonly group: string,
  ) {
    this.attributes = {
      'db.system.name': 'memcached',
      'vigil.cache.node': nodeName,
      'server.address': client.host,
      'server.port': client.port,
    };
  }

  async collect(now: number): Promise<McNodeResult> {
    try {
      const stats = await this.client.stats();
      return this.toSamples(stats, now);
    } catch (err) {
      return {
        samples: [{ metric: M.up, value: 0, attributes: this.attributes }],
        load: { system: 'memcached', group: this.group, attributes: this.attributes, keys: undefined, commands: undefined, primary: true },
        error: err instanceof Error ? err : new Error(String(err)),
      };
    }
  }

  toSamples(stats: ReadonlyMap<string, string>, now: number): McNodeResult {
    const a = this.attributes;
    const n = (k: string): number | undefined => {
      const v = stats.get(k);
      if (v === undefined) return undefined;
      const x = Number(v);
      return Number.isFinite(x) ? x : undefined;
    };
    const epoch = stats.get('pid');
    const samples: Sample[] = [{ metric: M.up, value: 1, attributes: a }];
    const counter = (field: string, metric: string, extra?: Record<string, string>): Delta | undefined => {
      const v = n(field);
      if (v === undefined) return undefined;
      samples.push({ metric, value: v, attributes: extra ? { ...a, ...extra } : a });
      return this.deltas.observe(field, v, now, epoch);
    };
    const hits = counter('get_hits', M.mcOperations, { type: 'hit', operation: 'get' });
    const misses = counter('get_misses', M.mcOperations, { type: 'miss', operation: 'get' });
    const gets = counter('cmd_get', M.mcCommands, { command: 'get' });
    const sets = counter('cmd_set', M.mcCommands, { command: 'set' });
    counter('cmd_flush', M.mcCommands, { command: 'flush' });
    counter('cmd_touch', M.mcCommands, { command: 'touch' });
    const evictions = counter('evictions', M.mcEvictions);

    const ratio = intervalHitRatio(hits, misses);
    if (ratio !== undefined) samples.push({ metric: M.hitRatio, value: ratio, attributes: a });
    if (hits) samples.push({ metric: M.hitRate, value: hits.delta / hits.seconds, attributes: a });
    if (misses) samples.push({ metric: M.missRate, value: misses.delta / misses.seconds, attributes: a });
    if (evictions) samples.push({ metric: M.evictionRate, value: evictions.delta / evictions.seconds, attributes: a });
    let commands: number | undefined;
    if (gets && sets) {
      commands = gets.delta + sets.delta;
      samples.push({ metric: M.commandRate, value: commands / gets.seconds, attributes: a });
    }

    const bytes = n('bytes');
    const limit = n('limit_maxbytes');
    if (bytes !== undefined) samples.push({ metric: M.mcBytes, value: bytes, attributes: a });
    if (limit !== undefined && limit > 0) {
      samples.push({ metric: M.mcLimit, value: limit, attributes: a });
      if (bytes !== undefined) samples.push({ metric: M.memUtilization, value: bytes / limit, attributes: a });
    }
    const conns = n('curr_connections');
    if (conns !== undefined) samples.push({ metric: M.mcConnections, value: conns, attributes: a });
    const items = n('curr_items');
    if (items !== undefined) samples.push({ metric: M.mcItems, value: items, attributes: a });
    return { samples, load: { system: 'memcached', group: this.group, attributes: a, keys: items, commands, primary: true } };
  }

  close(): void {
    this.client.close();
  }
}
