import { definePlugin, PluginUnavailableError, type CollectContext, type PluginInitContext, type PluginInstance, type PluginLogger, type Sample } from '../../agent/plugin/api.ts';
import { zodOptions } from '../../agent/plugin/zod-options.ts';
import { cacheOptionsSchema, type CacheOptions } from './config.ts';
import { balanceSamples, type NodeLoad } from './imbalance.ts';
import { cacheMetrics } from './metrics.ts';
import { MemcachedStatsClient, MemcachedUnreachableError, parseAddress } from './memcached/client.ts';
import { MemcachedScraper } from './memcached/scraper.ts';
import { errorMessage, redactUrl } from '../shared/redact.ts';
import { RedisClusterSource } from './redis/cluster.ts';
import { ManagedRedis, RedisUnreachableError, resolveRedisTarget, type ManagedRedisOptions } from '../shared/redis-connection.ts';
import { RedisNodeScraper } from './redis/scraper.ts';

type Source =
  | { readonly kind: 'redis'; readonly scraper: RedisNodeScraper }
  | { readonly kind: 'cluster'; readonly label: string; readonly source: RedisClusterSource }
  | { readonly kind: 'memcached'; readonly scraper: MemcachedScraper };

interface Outcome {
  readonly node: string;
  readonly samples: readonly Sample[];
  readonly load?: NodeLoad;
  readonly error?: Error;
}

/**
 * The cache plugin: Redis (standalone nodes and Redis Cluster) and memcached. Every node is
 * read in parallel; a node that fails yields `vigil.cache.node.up 0` and its error is
 * logged once per change, while the other nodes' samples still go out. Only when every
 * node fails does the collection fail (unavailable when none could be reached).
 */
class CacheInstance implements PluginInstance {
  private sources: Source[] = [];
  private readonly nodeErrors = new Map<string, string>();
  private logger: PluginLogger;

  constructor(
    private readonly options: CacheOptions,
    init: PluginInitContext,
  ) {
    this.logger = init.logger;
  }

  async start(init: PluginInitContext): Promise<void> {
    this.logger = init.logger;
    const o = this.options;
    const redisOpts: ManagedRedisOptions = {
      connectTimeoutMs: o.connect_timeout,
      commandTimeoutMs: o.command_timeout,
      connectionName: `vigil-${init.instance}`.replace(/[^\w.-]/g, '_'),
      onError: (msg) => this.logger.debug({ err: msg }, 'redis connection error'),
    };
    const sources: Source[] = [];
    for (const entry of o.redis) {
      const target = await resolveRedisTarget(entry);
      const hostPort = `${target.host}:${target.port}`;
      if (entry.cluster) {
        const name = entry.name ?? hostPort;
        sources.push({
          kind: 'cluster',
          label: `cluster ${name} (${redactUrl(entry.url)})`,
          source: new RedisClusterSource(target, { name, refreshMs: o.cluster_refresh, maxNodes: o.max_cluster_nodes, redis: redisOpts, logger: this.logger }),
        });
      } else {
        sources.push({ kind: 'redis', scraper: new RedisNodeScraper(new ManagedRedis(target, redisOpts), entry.name ?? hostPort, entry.group ?? 'default') });
      }
    }
    for (const entry of o.memcached) {
      const { host, port } = parseAddress(entry.address);
      const client = new MemcachedStatsClient(host, port, o.connect_timeout, o.command_timeout);
      sources.push({ kind: 'memcached', scraper: new MemcachedScraper(client, entry.name ?? entry.address, entry.group ?? 'default') });
    }
    this.sources = sources;
  }

  async collect(ctx: CollectContext): Promise<readonly Sample[]> {
    const now = ctx.now;
    const outcomes = (await Promise.all(this.sources.map((s) => this.collectSource(s, now)))).flat();
    const samples: Sample[] = [];
    const loads: NodeLoad[] = [];
    const failed: Outcome[] = [];
    for (const o of outcomes) {
      for (const s of o.samples) samples.push(s);
      if (o.load) loads.push(o.load);
      if (o.error) failed.push(o);
    }
    const allFailed = failed.length === outcomes.length && failed.length > 0;
    // When everything fails the host logs the collection error; no second warning per node.
    for (const o of outcomes) this.noteError(o.node, o.error, allFailed);
    if (allFailed) {
      const message = failed.map((f) => errorMessage(f.error)).join('; ');
      const unreachable = failed.every((f) => f.error instanceof RedisUnreachableError || f.error instanceof MemcachedUnreachableError);
      if (unreachable) throw new PluginUnavailableError(message);
      throw new Error(message);
    }
    for (const s of balanceSamples(loads)) samples.push(s);
    return samples;
  }

  private async collectSource(s: Source, now: number): Promise<Outcome[]> {
    if (s.kind === 'redis' || s.kind === 'memcached') {
      const r = await s.scraper.collect(now);
      return [{ node: `${s.kind} ${s.scraper.nodeName}`, samples: r.samples, load: r.load, error: r.error }];
    }
    try {
      const results = await s.source.collect(now);
      return results.map((r) => ({ node: `${s.label} node ${String(r.load.attributes['vigil.cache.node'])}`, samples: r.samples, load: r.load, error: r.error }));
    } catch (err) {
      const e = err instanceof Error ? err : new Error(String(err));
      return [{ node: s.label, samples: [], error: e }];
    }
  }

  /** Logs a node's error when it changes and its recovery, never every interval. */
  private noteError(node: string, err: Error | undefined, quiet: boolean): void {
    const prev = this.nodeErrors.get(node);
    if (!err) {
      if (prev !== undefined) {
        this.nodeErrors.delete(node);
        this.logger.info({ node }, 'cache node recovered');
      }
      return;
    }
    const msg = errorMessage(err).replace(/ \(next attempt in \d+s\)$/, '');
    if (msg !== prev) {
      this.nodeErrors.set(node, msg);
      if (quiet) this.logger.debug({ node, err: msg }, 'cache node collection failed');
      else this.logger.warn({ node, err: msg }, 'cache node collection failed');
    }
  }

  async stop(): Promise<void> {
    await Promise.all(
      this.sources.map(async (s) => {
        if (s.kind === 'cluster') await s.source.close();
        else await s.scraper.close();
      }),
    );
    this.sources = [];
  }
}

export default definePlugin<CacheOptions>({
  name: 'cache',
  description: 'Redis (standalone and Cluster) and memcached: hit ratio, evictions, memory vs limit, clients, replication and node imbalance, as interval rates.',
  metrics: cacheMetrics,
  parseOptions: zodOptions(cacheOptionsSchema),
  create: (options, ctx) => new CacheInstance(options, ctx),
});
