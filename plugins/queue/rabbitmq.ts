import { readFile } from 'node:fs/promises';
import amqp from 'amqplib';
import type { PluginLogger, Sample } from '../../agent/plugin/api.ts';
import { Backoff } from '../shared/backoff.ts';
import { CounterDeltas } from '../shared/rate.ts';
import { errorMessage, isUnreachable, redactUrl } from '../shared/redact.ts';
import type { RabbitmqConfig } from './config.ts';
import { queueAttributes, type QueueDeriver } from './derive.ts';
import { mapLimit } from './map-limit.ts';
import { Q } from './metrics.ts';
import { ManagementClient, type ManagementQueueStats } from './rabbitmq-management.ts';
import { BrokerUnreachableError, type QueueSource } from './source.ts';

type Connection = Awaited<ReturnType<typeof amqp.connect>>;
type Channel = Awaited<ReturnType<Connection['createChannel']>>;

/**
 * RabbitMQ queues over AMQP (`queue.declare passive` = checkQueue: ready messages and
 * consumers, no management plugin needed), plus the management API when configured.
 * A passive declare of a missing queue closes the channel, so the channel is recreated
 * and the other queues still get read. The connection reconnects lazily with backoff.
 */
export class RabbitmqSource implements QueueSource {
  readonly system = 'rabbitmq';
  readonly server: string;
  private conn: Connection | undefined;
  private channel: Channel | undefined;
  private readonly backoff = new Backoff(1000, 60_000);
  private lastConnectError: Error | undefined;
  private management: ManagementClient | undefined;
  private readonly vhost: string;
  private readonly missing = new Set<string>();
  private mgmtError: string | undefined;
  private url: string | undefined;
  private readonly opDeltas = new CounterDeltas();

  constructor(
    private readonly cfg: RabbitmqConfig,
    private readonly connectTimeoutMs: number,
    private readonly commandTimeoutMs: number,
    private readonly connectionName = 'vigil-agent',
  ) {
    const u = new URL(cfg.url);
    this.server = `${u.hostname}:${u.port || (u.protocol === 'amqps:' ? 5671 : 5672)}`;
    this.vhost = u.pathname.length > 1 ? decodeURIComponent(u.pathname.slice(1)) : '/';
  }

  private async resolve(): Promise<void> {
    if (this.url) return;
    const u = new URL(this.cfg.url);
    const password = this.cfg.password_file ? (await readSecret(this.cfg.password_file, 'rabbitmq.password_file')) : this.cfg.password;
    if (password !== undefined) u.password = encodeURIComponent(password);
    this.url = u.toString();
    const m = this.cfg.management;
    if (m) {
      const mPassword = m.password_file ? await readSecret(m.password_file, 'rabbitmq.management.password_file') : m.password;
      this.management = new ManagementClient(
        m.url,
        m.username ?? (decodeURIComponent(u.username) || 'guest'),
        mPassword ?? (decodeURIComponent(u.password) || 'guest'),
        this.commandTimeoutMs,
      );
    }
  }

  private async connection(): Promise<Connection> {
    if (this.conn) return this.conn;
    const now = Date.now();
    if (!this.backoff.ready(now)) {
      const Ctor = this.lastConnectError instanceof BrokerUnreachableError ? BrokerUnreachableError : Error;
      throw new Ctor(`${this.lastConnectError?.message ?? 'rabbitmq: not connected'} (next attempt in ${Math.ceil(this.backoff.waitMs(now) / 1000)}s)`);
    }
    await this.resolve();
    try {
      const conn = await amqp.connect(this.url!, { timeout: this.connectTimeoutMs, clientProperties: { connection_name: this.connectionName } });
      conn.on('error', () => {}); // 'close' follows; without a listener an error would crash the process
      conn.on('close', () => {
        if (this.conn === conn) {
          this.conn = undefined;
          this.channel = undefined;
        }
      });
      this.conn = conn;
      this.backoff.succeed();
      this.lastConnectError = undefined;
      return conn;
    } catch (err) {
      this.backoff.fail(Date.now());
      const msg = `rabbitmq ${redactUrl(this.cfg.url)}: ${/ACCESS_REFUSED|403/i.test(errorMessage(err)) ? 'authentication failed: ' : 'cannot connect: '}${errorMessage(err)}`;
      const e = isUnreachable(err) || /timeout|ETIMEDOUT|ECONNREFUSED|socket/i.test(errorMessage(err)) ? new BrokerUnreachableError(msg, { cause: err }) : new Error(msg, { cause: err });
      this.lastConnectError = e;
      throw e;
    }
  }

  private async openChannel(): Promise<Channel> {
    if (this.channel) return this.channel;
    const conn = await this.connection();
    const ch = await withTimeout(conn.createChannel(), this.commandTimeoutMs, 'rabbitmq: opening a channel');
    ch.on('error', () => {}); // a 404 from a passive declare closes the channel; handled below
    ch.on('close', () => {
      if (this.channel === ch) this.channel = undefined;
    });
    this.channel = ch;
    return ch;
  }

  async collect(now: number, deriver: QueueDeriver, out: Sample[], logger: PluginLogger): Promise<void> {
    const hadConnection = this.conn !== undefined;
    let amqpStats: Map<string, { ready: number; consumers: number }>;
    try {
      amqpStats = await this.readAmqp(logger);
    } catch (err) {
      // A connection that was fine and dropped since (broker restart, closed by an operator)
      // is reopened at once, within this collection.
      if (!(err instanceof BrokerUnreachableError) || !hadConnection) throw err;
      amqpStats = await this.readAmqp(logger);
    }
    const mgmt = await this.readManagement(logger);
    this.emit(now, deriver, out, amqpStats, mgmt);
  }

  private emit(
    now: number,
    deriver: QueueDeriver,
    out: Sample[],
    amqpStats: Map<string, { ready: number; consumers: number }>,
    mgmt: Map<string, ManagementQueueStats>,
  ): void {
    for (const [name, s] of amqpStats) {
      const a = queueAttributes(this.system, this.server, name);
      const m = mgmt.get(name);
      out.push({ metric: Q.messages, value: s.ready, attributes: { ...a, 'vigil.queue.state': 'ready' } });
      out.push({ metric: Q.consumers, value: s.consumers, attributes: a });
      let backlog = s.ready;
      let enqueued: number | undefined;
      let dequeued: number | undefined;
      if (m) {
        if (m.unacknowledged !== undefined) {
          out.push({ metric: Q.messages, value: m.unacknowledged, attributes: { ...a, 'vigil.queue.state': 'unacknowledged' } });
          backlog += m.unacknowledged;
        }
        if (m.bytes !== undefined) out.push({ metric: Q.bytes, value: m.bytes, attributes: a });
        const ops: [string, number | undefined][] = [
          ['publish', m.publish],
          ['deliver', m.deliver],
          ['deliver_no_ack', m.deliverNoAck],
          ['get', m.get],
          ['get_no_ack', m.getNoAck],
          ['ack', m.ack],
          ['redeliver', m.redeliver],
        ];
        for (const [op, v] of ops) {
          if (v === undefined) continue;
          const oa = { ...a, 'vigil.queue.operation': op };
          out.push({ metric: Q.operations, value: v, attributes: oa });
          const d = this.opDeltas.observe(`${name}\u0000${op}`, v, now);
          if (d) out.push({ metric: Q.operationRate, value: d.delta / d.seconds, attributes: oa });
        }
        // Counters appear only after the first message; before that they are 0.
        enqueued = m.publish ?? 0;
        dequeued = (m.ack ?? 0) + (m.deliverNoAck ?? 0) + (m.getNoAck ?? 0);
      }
      deriver.derive(
        { key: `rabbitmq\u0000${this.server}\u0000${this.vhost}\u0000${name}`, attributes: a, backlog, enqueuedTotal: enqueued, dequeuedTotal: dequeued, ceilingKeys: [`rabbitmq:${name}`, name] },
        now,
        out,
      );
    }
  }

  private async readAmqp(logger: PluginLogger): Promise<Map<string, { ready: number; consumers: number }>> {
    const stats = new Map<string, { ready: number; consumers: number }>();
    for (const name of this.cfg.queues) {
      const ch = await this.openChannel();
      try {
        const r = await withTimeout(ch.checkQueue(name), this.commandTimeoutMs, `rabbitmq: checkQueue ${name}`);
        stats.set(name, { ready: r.messageCount, consumers: r.consumerCount });
        if (this.missing.delete(name)) logger.info({ queue: name }, 'rabbitmq queue exists again');
      } catch (err) {
        const msg = errorMessage(err);
        if (/NOT_FOUND|404/.test(msg)) {
          if (!this.missing.has(name)) logger.warn({ queue: name, vhost: this.vhost }, 'rabbitmq queue not found');
          this.missing.add(name);
          this.channel = undefined; // the broker closed it
          continue;
        }
        // Timeout or connection loss: the connection's state is unknown, start over.
        await this.reset();
        if (isUnreachable(err) || /closed|timed out|CONNECTION_FORCED|320/i.test(msg)) throw new BrokerUnreachableError(`rabbitmq ${this.server}: ${msg}`, { cause: err });
        throw err;
      }
    }
    return stats;
  }

  private async readManagement(logger: PluginLogger): Promise<Map<string, ManagementQueueStats>> {
    const out = new Map<string, ManagementQueueStats>();
    const m = this.management;
    if (!m) return out;
    try {
      const results = await mapLimit(this.cfg.queues, 8, async (q) => [q, await m.queue(this.vhost, q)] as const);
      for (const [q, s] of results) if (s) out.set(q, s);
      if (this.mgmtError !== undefined) logger.info({}, 'rabbitmq management API reachable again');
      this.mgmtError = undefined;
    } catch (err) {
      // AMQP figures still go out; the management extras are missing until it answers.
      const msg = errorMessage(err);
      if (msg !== this.mgmtError) logger.warn({ err: msg }, 'rabbitmq management API failed; reporting AMQP figures only');
      this.mgmtError = msg;
    }
    return out;
  }

  private async reset(): Promise<void> {
    const c = this.conn;
    this.conn = undefined;
    this.channel = undefined;
    if (c) await c.close().catch(() => undefined);
  }

  async close(): Promise<void> {
    await this.reset();
  }
}

async function readSecret(file: string, field: string): Promise<string> {
  try {
    return (await readFile(file, 'utf8')).trim();
  } catch (err) {
    throw new Error(`${field}: cannot read ${file}: ${errorMessage(err)}`);
  }
}

/** Rejects after `ms` (amqplib RPCs have no timeout of their own). */
function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms}ms`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}
