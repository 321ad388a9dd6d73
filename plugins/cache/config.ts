import { z } from 'zod';
import { durationSchema } from '../../agent/util/duration.ts';

const nameSchema = z.string().regex(/^[\w.:/-]+$/, 'expected letters, digits and _ . : / -');

const tlsSchema = z.union([
  z.boolean(),
  z
    .object({
      /** PEM file with the CA that signed the server's certificate. */
      ca_file: z.string().optional(),
      /** SNI / certificate name to verify, when it differs from the host. */
      server_name: z.string().optional(),
      /** Skip certificate verification (test setups only). */
      insecure_skip_verify: z.boolean().default(false),
    })
    .strict(),
]);

export const redisEntrySchema = z
  .object({
    /** `redis://[user:pass@]host:port[/db]` or `rediss://` for TLS. */
    url: z.string().regex(/^rediss?:\/\/[^\s]+$/, 'expected redis://host:port or rediss://host:port'),
    /** Node name in attributes (default host:port); for a cluster the cluster's name. */
    name: nameSchema.optional(),
    username: z.string().optional(),
    /** Prefer `${ENV}` substitution or `password_file` over a literal. */
    password: z.string().optional(),
    password_file: z.string().optional(),
    tls: tlsSchema.optional(),
    /** Discover every node of a Redis Cluster from this seed with CLUSTER NODES. */
    cluster: z.boolean().default(false),
    /** Nodes with the same group are compared for imbalance (a cluster is one group). */
    group: nameSchema.optional(),
  })
  .strict();

export const memcachedEntrySchema = z
  .object({
    /** `host:port` of the memcached server. */
    address: z.string().regex(/^(\[[0-9a-fA-F:]+\]|[^\s:]+):\d+$/, 'expected host:port'),
    name: nameSchema.optional(),
    group: nameSchema.optional(),
  })
  .strict();

export const cacheOptionsSchema = z
  .object({
    redis: z.array(redisEntrySchema).default([]),
    memcached: z.array(memcachedEntrySchema).default([]),
    connect_timeout: durationSchema.default(3000),
    command_timeout: durationSchema.default(2000),
    /** How often a cluster's node list is re-read (also after a node fails). */
    cluster_refresh: durationSchema.default(60_000),
    /** Upper bound on nodes discovered per cluster (protects against huge clusters). */
    max_cluster_nodes: z.number().int().positive().default(64),
  })
  .strict()
  .refine((o) => o.redis.length + o.memcached.length > 0, { message: 'configure at least one redis or memcached server' });

export type CacheOptions = z.output<typeof cacheOptionsSchema>;
export type RedisEntry = z.output<typeof redisEntrySchema>;
export type MemcachedEntry = z.output<typeof memcachedEntrySchema>;
