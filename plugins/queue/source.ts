import type { PluginLogger, Sample } from '../../agent/plugin/api.ts';
import type { QueueDeriver } from './derive.ts';

/** One broker connection (a BullMQ Redis, a RabbitMQ, a NATS) and the queues read from it. */
export interface QueueSource {
  readonly system: string;
  /** `host:port` of the broker (never credentials). */
  readonly server: string;
  /** Appends samples; throws when the broker cannot be read at all. */
  collect(now: number, deriver: QueueDeriver, out: Sample[], logger: PluginLogger): Promise<void>;
  close(): Promise<void>;
}

/** The broker could not be reached (down, refused, DNS): the plugin is `unavailable`. */
export class BrokerUnreachableError extends Error {
  override readonly name = 'BrokerUnreachableError';
}
