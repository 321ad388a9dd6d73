/**
 * The RabbitMQ management HTTP API, for what AMQP cannot tell: unacknowledged messages,
 * bytes and the cumulative publish/deliver/ack counters. One GET per queue.
 */

export interface ManagementQueueStats {
  readonly ready?: number;
  readonly unacknowledged?: number;
  readonly consumers?: number;
  readonly bytes?: number;
  /** Cumulative counters from message_stats (absent until the queue saw traffic). */
  readonly publish?: number;
  readonly deliver?: number;
  readonly deliverNoAck?: number;
  readonly get?: number;
  readonly getNoAck?: number;
  readonly ack?: number;
  readonly redeliver?: number;
}

export class ManagementClient {
  private readonly auth: string;

  constructor(
    private readonly baseUrl: string,
    username: string,
    password: string,
    private readonly timeoutMs: number,
  ) {
    this.auth = `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
  }

  /** Stats of one queue; undefined when the queue does not exist (404). */
  async queue(vhost: string, name: string): Promise<ManagementQueueStats | undefined> {
    const url = `${this.baseUrl.replace(/\/$/, '')}/api/queues/${encodeURIComponent(vhost)}/${encodeURIComponent(name)}?disable_stats=false`;
    let res: Response;
    try {
      res = await fetch(url, { headers: { authorization: this.auth, accept: 'application/json' }, signal: AbortSignal.timeout(this.timeoutMs) });
    } catch (err) {
      throw new Error(`rabbitmq management ${this.baseUrl}: ${err instanceof Error ? (err.cause instanceof Error ? err.cause.message : err.message) : String(err)}`, { cause: err });
    }
    if (res.status === 404) {
      await res.body?.cancel();
      return undefined;
    }
    if (res.status === 401) {
      await res.body?.cancel();
      throw new Error(`rabbitmq management ${this.baseUrl}: authentication failed (HTTP 401); check management.username/password`);
    }
    if (!res.ok) {
      await res.body?.cancel();
      throw new Error(`rabbitmq management ${this.baseUrl}: HTTP ${res.status} for queue ${name}`);
    }
    return parseQueueStats(await res.json());
  }
}

/** Picks the fields vigil uses from a /api/queues/{vhost}/{name} document. */
export function parseQueueStats(doc: unknown): ManagementQueueStats {
  const o = isObject(doc) ? doc : {};
  const ms = isObject(o.message_stats) ? o.message_stats : {};
  return {
    ready: num(o.messages_ready),
    unacknowledged: num(o.messages_unacknowledged),
    consumers: num(o.consumers),
    bytes: num(o.message_bytes),
    publish: num(ms.publish),
    deliver: num(ms.deliver),
    deliverNoAck: num(ms.deliver_no_ack),
    get: num(ms.get),
    getNoAck: num(ms.get_no_ack),
    ack: num(ms.ack),
    redeliver: num(ms.redeliver),
  };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}
