import { readFile } from 'node:fs/promises';
import { connect, type ConsumerInfo, type JetStreamManager, type NatsConnection, type StreamInfo } from 'nats';
import type { PluginLogger, Sample } from '../../agent/plugin/api.ts';
import { Backoff } from '../shared/backoff.ts';
import { errorMessage } from '../shared/redact.ts';
import type { JetstreamConfig } from './config.ts';
import { queueAttributes, type QueueDeriver } from './derive.ts';
import { mapLimit } from './map-limit.ts';
import { Q } from './metrics.ts';
import { BrokerUnreachableError, type QueueSource } from './source.ts';

/**
 * NATS JetStream through the JetStream management API (read-only INFO/LIST requests):
 * per stream messages, bytes, consumer count and last sequence (the enqueue counter);
 * per consumer pending, ack pending, redelivered and waiting pulls. A consumer's backlog
 * is pending + ack pending. The nats client reconnects by itself; a first connection that
 * fails is retried on later collections with backoff.
 */
/** JetStream API requests in flight at once per collection. */
const PARALLEL = 8;

export class JetstreamSource implements QueueSource {
  readonly system = 'nats';
  readonly server: string;
  private nc: NatsConnection | undefined;
  private jsm: JetStreamManager | undefined;
  private connecting: Promise<JetStreamManager> | undefined;
  private readonly backoff = new Backoff(1000, 60_000);
  private lastError: Error | undefined;
  private readonly missing = new Set<string>();

  constructor(
    private readonly cfg: JetstreamConfig,
    private readonly connectTimeoutMs: number,
    private readonly commandTimeoutMs: number,
  ) {
    this.server = cfg.servers.map((s) => s.replace(/^\w+:\/\//, '').replace(/^[^@]*@/, '')).join(',');
  }

  private async manager(): Promise<JetStreamManager> {
    if (this.jsm && this.nc && !this.nc.isClosed()) return this.jsm;
    if (this.connecting) return this.connecting;
    const now = Date.now();
    if (!this.backoff.ready(now)) {
      const Ctor = this.lastError instanceof BrokerUnreachableError ? BrokerUnreachableError : Error;
      throw new Ctor(`${this.lastError?.message ?? 'nats: not connected'} (next attempt in ${Math.ceil(this.backoff.waitMs(now) / 1000)}s)`);
    }
    this.connecting = this.open().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private async open(): Promise<JetStreamManager> {
    const c = this.cfg;
    const pass = c.password_file ? (await readFile(c.password_file, 'utf8')).trim() : c.password;
    const token = c.token_file ? (await readFile(c.token_file, 'utf8')).trim() : c.token;
    try {
      const nc = await connect({
        servers: c.servers,
        user: c.username,
        pass,
        token,
        name: 'vigil-agent',
        timeout: this.connectTimeoutMs,
        // After the first success the client reconnects on its own, paced by its wait.
        maxReconnectAttempts: -1,
        reconnectTimeWait: 2000,
      });
      // closed() resolves (with an error on failure) when the connection ends for good.
      void nc.closed().then(() => {
        if (this.nc === nc) {
          this.nc = undefined;
          this.jsm = undefined;
        }
      });
      const jsm = await nc.jetstreamManager({ timeout: this.commandTimeoutMs, checkAPI: false });
      this.nc = nc;
      this.jsm = jsm;
      this.backoff.succeed();
      this.lastError = undefined;
      return jsm;
    } catch (err) {
      this.backoff.fail(Date.now());
      const msg = errorMessage(err);
      const auth = /AUTHORIZATION|authentication|auth/i.test(msg);
      const e = auth
        ? new Error(`nats ${this.server}: authentication failed: ${msg}`, { cause: err })
        : new BrokerUnreachableError(`nats ${this.server}: cannot connect: ${msg}`, { cause: err });
      this.lastError = e;
      throw e;
    }
  }

  async collect(now: number, deriver: QueueDeriver, out: Sample[], logger: PluginLogger): Promise<void> {
    const jsm = await this.manager();
    let streams: StreamInfo[];
    try {
      streams = await this.readStreams(jsm, logger);
    } catch (err) {
      throw this.classify(err);
    }
    const byName = new Map(streams.map((s) => [s.config.name, s]));
    for (const s of streams) {
      const a = queueAttributes(this.system, this.server, s.config.name);
      out.push({ metric: Q.messages, value: s.state.messages, attributes: { ...a, 'vigil.queue.state': 'stored' } });
      out.push({ metric: Q.bytes, value: s.state.bytes, attributes: a });
      out.push({ metric: Q.consumers, value: s.state.consumer_count, attributes: a });
      if (s.config.retention === 'workqueue') {
        // In a work-queue stream a message is deleted once acked: stored = backlog.
        deriver.derive({ key: `nats\u0000${this.server}\u0000${s.config.name}`, attributes: a, backlog: s.state.messages, enqueuedTotal: s.state.last_seq, epoch: s.created, ceilingKeys: [`nats:${s.config.name}`, s.config.name] }, now, out);
      } else {
        out.push({ metric: Q.enqueued, value: s.state.last_seq, attributes: a });
      }
    }
    let consumers: ConsumerInfo[];
    try {
      consumers = await this.readConsumers(jsm, streams, logger);
    } catch (err) {
      throw this.classify(err);
    }
    for (const ci of consumers) {
      const stream = byName.get(ci.stream_name);
      const a = queueAttributes(this.system, this.server, ci.stream_name, ci.name);
      const state = (st: string, v: number) => out.push({ metric: Q.messages, value: v, attributes: { ...a, 'vigil.queue.state': st } });
      state('pending', ci.num_pending);
      state('ack_pending', ci.num_ack_pending);
      state('redelivered', ci.num_redelivered);
      state('waiting_pulls', ci.num_waiting);
      const filtered = Boolean(ci.config.filter_subject) || (ci.config.filter_subjects?.length ?? 0) > 0;
      deriver.derive(
        {
          key: `nats\u0000${this.server}\u0000${ci.stream_name}\u0000${ci.name}`,
          attributes: a,
          backlog: ci.num_pending + ci.num_ack_pending,
          // Every message stored in an unfiltered stream is work for the consumer.
          enqueuedTotal: !filtered && stream ? stream.state.last_seq : undefined,
          epoch: stream ? `${stream.created}/${ci.created}` : ci.created,
          ceilingKeys: [`${ci.stream_name}/${ci.name}`, `nats:${ci.name}`, ci.name],
        },
        now,
        out,
      );
    }
  }

  private async readStreams(jsm: JetStreamManager, logger: PluginLogger): Promise<StreamInfo[]> {
    const wanted = new Set<string>([...(this.cfg.streams ?? []), ...(this.cfg.consumers ?? []).map((c) => c.split('/')[0]!)]);
    if (wanted.size === 0) {
      const all: StreamInfo[] = [];
      for await (const s of jsm.streams.list()) all.push(s);
      return all;
    }
    const infos = await mapLimit([...wanted], PARALLEL, async (name) => {
      try {
        const info = await jsm.streams.info(name);
        this.found(`stream ${name}`, logger);
        return info;
      } catch (err) {
        if (!isNotFound(err)) throw err;
        this.notFound(`stream ${name}`, logger);
        return undefined;
      }
    });
    return infos.filter((i): i is StreamInfo => i !== undefined);
  }

  private async readConsumers(jsm: JetStreamManager, streams: StreamInfo[], logger: PluginLogger): Promise<ConsumerInfo[]> {
    const out: ConsumerInfo[] = [];
    if (this.cfg.consumers) {
      const present = new Set(streams.map((s) => s.config.name));
      const infos = await mapLimit(
        this.cfg.consumers.filter((sc) => present.has(sc.split('/')[0]!)),
        PARALLEL,
        async (sc) => {
          const [stream, consumer] = sc.split('/') as [string, string];
          try {
            const info = await jsm.consumers.info(stream, consumer);
            this.found(`consumer ${sc}`, logger);
            return info;
          } catch (err) {
            if (!isNotFound(err)) throw err;
            this.notFound(`consumer ${sc}`, logger);
            return undefined;
          }
        },
      );
      return infos.filter((i): i is ConsumerInfo => i !== undefined);
    }
    for (const s of streams) {
      for await (const ci of jsm.consumers.list(s.config.name)) {
        if (out.length >= this.cfg.max_consumers) return out;
        out.push(ci);
      }
    }
    return out;
  }

  private notFound(what: string, logger: PluginLogger): void {
    if (!this.missing.has(what)) logger.warn({ what, server: this.server }, 'jetstream object not found');
    this.missing.add(what);
  }

  private found(what: string, logger: PluginLogger): void {
    if (this.missing.delete(what)) logger.info({ what }, 'jetstream object exists again');
  }

  private classify(err: unknown): Error {
    const msg = errorMessage(err);
    if (/TIMEOUT|timeout|disconnect|closed|CONNECTION/i.test(msg)) return new BrokerUnreachableError(`nats ${this.server}: ${msg}`, { cause: err });
    return new Error(`nats ${this.server}: ${msg}`, { cause: err });
  }

  async close(): Promise<void> {
    const nc = this.nc;
    this.nc = undefined;
    this.jsm = undefined;
    if (nc && !nc.isClosed()) await nc.close().catch(() => undefined);
  }
}

function isNotFound(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown; api_error?: { code?: number } }).api_error?.code;
  return code === 404 || /not found/i.test(err.message);
}
