import type { PluginLogger } from '../../../agent/plugin/api.ts';
import { errorMessage } from '../../shared/redact.ts';
import { ManagedRedis, RedisUnreachableError, withAddress, type ManagedRedisOptions, type RedisTarget } from '../../shared/redis-connection.ts';
import { parseClusterNodes } from './cluster-nodes.ts';
import { RedisNodeScraper, type NodeResult } from './scraper.ts';

export interface ClusterSourceOptions {
  readonly name: string;
  readonly refreshMs: number;
  readonly maxNodes: number;
  readonly redis: ManagedRedisOptions;
  readonly logger: PluginLogger;
}

/**
 * A Redis Cluster found from one seed: `CLUSTER NODES` lists the nodes, each gets its own
 * connection and scraper. The list is re-read every `refreshMs`, and sooner when a node
 * failed (failover, resharding), through any node that still answers.
 */
export class RedisClusterSource {
  private readonly seed: ManagedRedis;
  private readonly scrapers = new Map<string, RedisNodeScraper>();
  private lastRefresh = 0;
  private stale = true;

  constructor(
    private readonly seedTarget: RedisTarget,
    private readonly opts: ClusterSourceOptions,
  ) {
    this.seed = new ManagedRedis(seedTarget, opts.redis);
  }

  get nodeCount(): number {
    return this.scrapers.size;
  }

  async collect(now: number): Promise<NodeResult[]> {
    let refreshError: Error | undefined;
    if (this.stale || now - this.lastRefresh >= this.opts.refreshMs || this.scrapers.size === 0) {
      try {
        await this.refresh(now);
      } catch (err) {
        refreshError = err instanceof Error ? err : new Error(String(err));
      }
    }
    if (this.scrapers.size === 0) {
      const e = refreshError ?? new Error(`cluster ${this.opts.name}: no nodes`);
      throw e;
    }
    const results = await Promise.all([...this.scrapers.values()].map((s) => s.collect(now)));
    if (results.some((r) => r.error)) this.stale = true;
    return results;
  }

  private async refresh(now: number): Promise<void> {
    // Ask a node we already talk to first; the seed is only the way in.
    const candidates = [...[...this.scrapers.values()].map((s) => s.conn).filter((c) => c.connected), this.seed];
    let lastErr: unknown;
    let allUnreachable = true;
    for (const conn of candidates) {
      try {
        const text = await conn.run((c) => c.cluster('NODES') as Promise<string>);
        this.apply(parseClusterNodes(text, conn.target.host));
        this.lastRefresh = now;
        this.stale = false;
        return;
      } catch (err) {
        lastErr = err;
        if (!(err instanceof RedisUnreachableError)) allUnreachable = false;
      }
    }
    // Nothing reachable → the plugin is `unavailable`; an answer we cannot use → `failing`.
    const Ctor = allUnreachable ? RedisUnreachableError : Error;
    throw new Ctor(`cluster ${this.opts.name}: cannot read CLUSTER NODES: ${errorMessage(lastErr)}`, { cause: lastErr });
  }

  private apply(nodes: ReturnType<typeof parseClusterNodes>): void {
    const wanted = new Map<string, { host: string; port: number }>();
    for (const n of nodes) {
      if (wanted.size >= this.opts.maxNodes) {
        this.opts.logger.warn({ cluster: this.opts.name, nodes: nodes.length, max: this.opts.maxNodes }, 'cluster has more nodes than max_cluster_nodes; extra nodes not watched');
        break;
      }
      wanted.set(`${n.host}:${n.port}`, { host: n.host, port: n.port });
    }
    for (const [key, scraper] of this.scrapers) {
      if (!wanted.has(key)) {
        this.scrapers.delete(key);
        void scraper.close();
      }
    }
    for (const [key, a] of wanted) {
      if (this.scrapers.has(key)) continue;
      const conn = new ManagedRedis(withAddress(this.seedTarget, a.host, a.port), this.opts.redis);
      this.scrapers.set(key, new RedisNodeScraper(conn, key, this.opts.name));
    }
  }

  async close(): Promise<void> {
    await Promise.all([this.seed.close(), ...[...this.scrapers.values()].map((s) => s.close())]);
    this.scrapers.clear();
  }
}
