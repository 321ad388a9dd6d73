import { z } from 'zod';
import { durationSchema } from '../../agent/util/duration.ts';

const tlsSchema = z.union([
  z.boolean(),
  z.object({ ca_file: z.string().optional(), server_name: z.string().optional(), insecure_skip_verify: z.boolean().default(false) }).strict(),
]);

/** One or many: `bullmq: {...}` or `bullmq: [{...}, {...}]`. */
function oneOrMany<T extends z.ZodType>(item: T) {
  return z.union([item, z.array(item)]).transform((v) => (Array.isArray(v) ? v : [v]) as z.output<T>[]);
}

export const bullmqSchema = z
  .object({
    /** Redis holding the queues: `redis://[user:pass@]host:port[/db]` or `rediss://`. */
    redis: z.string().regex(/^rediss?:\/\/\S+$/, 'expected redis://host:port'),
    username: z.string().optional(),
    password: z.string().optional(),
    password_file: z.string().optional(),
    tls: tlsSchema.optional(),
    /** Key prefix used by the producers (BullMQ and Bull default: `bull`). */
    prefix: z.string().min(1).default('bull'),
    /** Queue names; when absent, queues are discovered under the prefix with a bounded SCAN. */
    queues: z.array(z.string().min(1)).optional(),
    /** How often discovery re-runs. */
    discovery_interval: durationSchema.default(60_000),
    /** Most queues watched from discovery. */
    max_queues: z.number().int().positive().default(200),
    /** Most keys one discovery pass may SCAN (bounds the load on a large keyspace). */
    scan_limit: z.number().int().positive().default(100_000),
  })
  .strict();

export const rabbitmqSchema = z
  .object({
    /** `amqp://user:pass@host:5672/vhost` (or amqps://). */
    url: z.string().regex(/^amqps?:\/\/\S+$/, 'expected amqp://user:pass@host:5672[/vhost]'),
    /** Replaces the URL's password (from `${ENV}` or `password_file`). */
    password: z.string().optional(),
    password_file: z.string().optional(),
    queues: z.array(z.string().min(1)).min(1, 'list the queues to watch'),
    /** The management HTTP API adds unacked messages, bytes and publish/deliver/ack counters. */
    management: z
      .object({
        url: z.string().regex(/^https?:\/\/\S+$/, 'expected http(s)://host:15672'),
        username: z.string().optional(),
        password: z.string().optional(),
        password_file: z.string().optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

export const jetstreamSchema = z
  .object({
    servers: z.union([z.string(), z.array(z.string()).min(1)]).transform((v) => (Array.isArray(v) ? v : [v])),
    username: z.string().optional(),
    password: z.string().optional(),
    password_file: z.string().optional(),
    token: z.string().optional(),
    token_file: z.string().optional(),
    /** Streams to watch; all streams when absent. */
    streams: z.array(z.string().min(1)).optional(),
    /** Consumers as `STREAM/CONSUMER`; all consumers of the watched streams when absent. */
    consumers: z.array(z.string().regex(/^[^/\s]+\/[^/\s]+$/, 'expected STREAM/CONSUMER')).optional(),
    /** Most consumers watched when listing (bounds the API calls per collection). */
    max_consumers: z.number().int().positive().default(200),
  })
  .strict();

export const queueOptionsSchema = z
  .object({
    bullmq: oneOrMany(bullmqSchema).optional(),
    rabbitmq: oneOrMany(rabbitmqSchema).optional(),
    jetstream: oneOrMany(jetstreamSchema).optional(),
    /**
     * Backlog ceilings: `queue-name: N`, or `STREAM/CONSUMER: N` for JetStream, or
     * `system:queue-name: N` (system = bullmq | rabbitmq | nats) when names collide.
     * Emitted as vigil.queue.backlog.limit so forecasts give the time to the ceiling.
     */
    ceilings: z.record(z.string(), z.number().positive()).default({}),
    connect_timeout: durationSchema.default(3000),
    command_timeout: durationSchema.default(3000),
  })
  .strict()
  .refine((o) => (o.bullmq?.length ?? 0) + (o.rabbitmq?.length ?? 0) + (o.jetstream?.length ?? 0) > 0, {
    message: 'configure at least one of bullmq, rabbitmq, jetstream',
  });

export type QueueOptions = z.output<typeof queueOptionsSchema>;
export type BullmqConfig = z.output<typeof bullmqSchema>;
export type RabbitmqConfig = z.output<typeof rabbitmqSchema>;
export type JetstreamConfig = z.output<typeof jetstreamSchema>;
