import { definePlugin, PluginUnavailableError, type CollectContext, type PluginInitContext, type PluginInstance, type PluginLogger, type Sample } from '../../agent/plugin/api.ts';
import { zodOptions } from '../../agent/plugin/zod-options.ts';
import { errorMessage } from '../shared/redact.ts';
import { BullmqSource } from './bullmq.ts';
import { queueOptionsSchema, type QueueOptions } from './config.ts';
import { QueueDeriver } from './derive.ts';
import { JetstreamSource } from './jetstream.ts';
import { Q, queueMetrics } from './metrics.ts';
import { RabbitmqSource } from './rabbitmq.ts';
import { BrokerUnreachableError, type QueueSource } from './source.ts';

/** Rate state of a queue unseen for this many intervals is dropped. */
const FORGET_AFTER_INTERVALS = 10;

/**
 * The queue plugin: BullMQ/Bull on Redis, RabbitMQ, NATS JetStream. Each broker is read in
 * parallel; a broker that fails yields `vigil.queue.source.up 0` and its error is logged
 * once per change while the others still report. Only when every broker fails does the
 * collection fail (unavailable when none could be reached).
 */
class QueueInstance implements PluginInstance {
  private readonly sources: QueueSource[] = [];
  private readonly deriver: QueueDeriver;
  private readonly errors = new Map<string, string>();
  private logger: PluginLogger;
  private readonly intervalMs: number;

  constructor(options: QueueOptions, init: PluginInitContext) {
    this.logger = init.logger;
    this.intervalMs = init.intervalMs;
    this.deriver = new QueueDeriver(options.ceilings);
    const redisOpts = {
      connectTimeoutMs: options.connect_timeout,
      commandTimeoutMs: options.command_timeout,
      connectionName: `vigil-${init.instance}`.replace(/[^\w.-]/g, '_'),
      onError: (msg: string) => this.logger.debug({ err: msg }, 'bullmq redis connection error'),
    };
    for (const b of options.bullmq ?? []) this.sources.push(new BullmqSource(b, redisOpts));
    for (const r of options.rabbitmq ?? []) this.sources.push(new RabbitmqSource(r, options.connect_timeout, options.command_timeout, redisOpts.connectionName));
    for (const j of options.jetstream ?? []) this.sources.push(new JetstreamSource(j, options.connect_timeout, options.command_timeout));
  }

  start(init: PluginInitContext): void {
    this.logger = init.logger;
  }

  async collect(ctx: CollectContext): Promise<readonly Sample[]> {
    const now = ctx.now;
    const results = await Promise.all(
      this.sources.map(async (s) => {
        const out: Sample[] = [];
        try {
          await s.collect(now, this.deriver, out, this.logger);
          return { source: s, out, error: undefined };
        } catch (err) {
          return { source: s, out: [] as Sample[], error: err instanceof Error ? err : new Error(String(err)) };
        }
      }),
    );
    const samples: Sample[] = [];
    const failed = results.filter((r) => r.error);
    // When everything fails the host logs the collection error; no second warning per broker.
    const allFailed = failed.length > 0 && failed.length === results.length;
    for (const r of results) {
      for (const s of r.out) samples.push(s);
      samples.push({ metric: Q.sourceUp, value: r.error ? 0 : 1, attributes: { 'messaging.system': r.source.system, 'server.address': r.source.server } });
      this.noteError(`${r.source.system} ${r.source.server}`, r.error, allFailed);
    }
    this.deriver.sweep(now - FORGET_AFTER_INTERVALS * Math.max(this.intervalMs, 1000));
    if (failed.length > 0 && failed.length === results.length) {
      const message = failed.map((f) => errorMessage(f.error)).join('; ');
      if (failed.every((f) => f.error instanceof BrokerUnreachableError)) throw new PluginUnavailableError(message);
      throw new Error(message);
    }
    return samples;
  }

  private noteError(source: string, err: Error | undefined, quiet: boolean): void {
    const prev = this.errors.get(source);
    if (!err) {
      if (prev !== undefined) {
        this.errors.delete(source);
        this.logger.info({ source }, 'queue source recovered');
      }
      return;
    }
    const msg = errorMessage(err).replace(/ \(next attempt in \d+s\)$/, '');
    if (msg !== prev) {
      this.errors.set(source, msg);
      if (quiet) this.logger.debug({ source, err: msg }, 'queue source collection failed');
      else this.logger.warn({ source, err: msg }, 'queue source collection failed');
    }
  }

  async stop(): Promise<void> {
    await Promise.all(this.sources.map((s) => s.close().catch(() => undefined)));
  }
}

export default definePlugin<QueueOptions>({
  name: 'queue',
  description: 'BullMQ/Bull, RabbitMQ and NATS JetStream: backlog by state, consumers, enqueue/dequeue rates, backlog growth and time to drain.',
  metrics: queueMetrics,
  parseOptions: zodOptions(queueOptionsSchema),
  create: (options, ctx) => new QueueInstance(options, ctx),
});
