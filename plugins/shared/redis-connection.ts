import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { Redis, type RedisOptions } from 'ioredis';
import type { ConnectionOptions as TlsOptions } from 'node:tls';
import { Backoff } from './backoff.ts';
import { errorMessage, isUnreachable, redactUrl } from './redact.ts';

/** Where and how to reach one Redis server. */
export interface RedisTarget {
  readonly host: string;
  readonly port: number;
  readonly username?: string;
  readonly password?: string;
  readonly db?: number;
  readonly tls?: TlsOptions;
  /** `redis://host:port` without credentials, for logs and errors. */
  readonly label: string;
}

export interface RedisTlsConfig {
  readonly ca_file?: string;
  readonly server_name?: string;
  readonly insecure_skip_verify?: boolean;
}

export interface RedisEndpointConfig {
  readonly url: string;
  readonly username?: string;
  readonly password?: string;
  readonly password_file?: string;
  readonly tls?: boolean | RedisTlsConfig;
}

/** Builds a target from config: URL credentials, explicit username/password, *_file, TLS. */
export async function resolveRedisTarget(cfg: RedisEndpointConfig): Promise<RedisTarget> {
  const u = new URL(cfg.url);
  const secure = u.protocol === 'rediss:' || cfg.tls === true || typeof cfg.tls === 'object';
  let password = cfg.password ?? (u.password ? decodeURIComponent(u.password) : undefined);
  if (cfg.password_file) {
    try {
      password = (await readFile(cfg.password_file, 'utf8')).trim();
    } catch (err) {
      throw new Error(`redis ${redactUrl(cfg.url)}: cannot read password_file ${cfg.password_file}: ${errorMessage(err)}`);
    }
  }
  const username = cfg.username ?? (u.username ? decodeURIComponent(u.username) : undefined);
  const dbPath = u.pathname.replace(/^\//, '');
  const host = u.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1';
  const port = u.port ? Number(u.port) : 6379;
  let tls: TlsOptions | undefined;
  if (secure) {
    const t = typeof cfg.tls === 'object' ? cfg.tls : {};
    tls = {
      // SNI must not be an IP address (RFC 6066); Node then verifies the IP SAN itself.
      servername: t.server_name ?? (isIP(host) ? undefined : host),
      rejectUnauthorized: !t.insecure_skip_verify,
      ...(t.ca_file ? { ca: await readFile(t.ca_file, 'utf8') } : {}),
    };
  }
  return {
    host,
    port,
    username: username || undefined,
    password: password || undefined,
    db: dbPath ? Number(dbPath) : undefined,
    tls,
    label: `${secure ? 'rediss' : 'redis'}://${u.host}`,
  };
}

/** The same server credentials and TLS, another address (cluster nodes). */
export function withAddress(base: RedisTarget, host: string, port: number): RedisTarget {
  const scheme = base.tls ? 'rediss' : 'redis';
  const hostPart = host.includes(':') ? `[${host}]` : host;
  let tls = base.tls;
  // A servername derived from the seed's host follows the node; an explicit one is kept.
  if (tls && (tls.servername === undefined || tls.servername === base.host)) tls = { ...tls, servername: isIP(host) ? undefined : host };
  return { ...base, host, port, tls, label: `${scheme}://${hostPart}:${port}` };
}

export interface ManagedRedisOptions {
  readonly connectTimeoutMs: number;
  readonly commandTimeoutMs: number;
  /** Shown in CLIENT LIST, so operators can tell the agent's connections apart. */
  readonly connectionName?: string;
  /** Called (throttled by the caller) with connection errors seen between collections. */
  readonly onError?: (message: string) => void;
}

/** Failed to reach the server at all (refused, timed out, DNS). */
export class RedisUnreachableError extends Error {
  override readonly name = 'RedisUnreachableError';
}

/**
 * One Redis connection owned by the agent. ioredis' own reconnect loop is off: this class
 * reconnects lazily, on the next use, paced by a Backoff, so a dead server costs one
 * connect attempt per backoff step and never a retry storm. Commands fail fast while
 * disconnected (no offline queue) and each command has a timeout.
 */
export class ManagedRedis {
  private client: Redis | undefined;
  private connecting: Promise<Redis> | undefined;
  private readonly backoff = new Backoff(1000, 60_000);
  private lastError: Error | undefined;
  private closed = false;

  constructor(
    readonly target: RedisTarget,
    private readonly opts: ManagedRedisOptions,
  ) {}

  get label(): string {
    return this.target.label;
  }

  /** True while a usable connection is open. */
  get connected(): boolean {
    return this.client?.status === 'ready';
  }

  /**
   * Runs `fn` on a connected client. A connection that dropped since the last use (CLIENT
   * KILL, server restart) is reopened once within the same call.
   */
  async run<T>(fn: (client: Redis) => Promise<T>): Promise<T> {
    const hadHealthy = this.client?.status === 'ready';
    const client = await this.connect();
    try {
      return await fn(client);
    } catch (err) {
      if (!isConnectionError(err) || this.closed) throw this.wrap(err);
      this.drop();
      if (!hadHealthy) throw this.wrap(err);
      // The connection died under us: one immediate reconnect, then give up for this round.
      const again = await this.connect();
      return await fn(again);
    }
  }

  private async connect(): Promise<Redis> {
    if (this.closed) throw new Error(`${this.label}: connection closed`);
    if (this.client?.status === 'ready') return this.client;
    if (this.connecting) return this.connecting;
    if (this.client) this.drop();
    const now = Date.now();
    if (!this.backoff.ready(now)) {
      // Repeat the last error (it says what is wrong) without touching the network.
      const last = this.lastError ? errorMessage(this.lastError) : `${this.label}: not connected`;
      const Ctor = this.lastError instanceof RedisUnreachableError ? RedisUnreachableError : Error;
      throw new Ctor(`${last} (next attempt in ${Math.ceil(this.backoff.waitMs(now) / 1000)}s)`);
    }
    this.connecting = this.open().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private async open(): Promise<Redis> {
    const t = this.target;
    const options: RedisOptions = {
      host: t.host,
      port: t.port,
      username: t.username,
      password: t.password,
      db: t.db ?? 0,
      tls: t.tls,
      connectionName: this.opts.connectionName ?? 'vigil-agent',
      lazyConnect: true,
      // Reconnects are ours (see class comment); commands never wait for a connection.
      retryStrategy: () => null,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      enableReadyCheck: false,
      autoResendUnfulfilledCommands: false,
      disableClientInfo: true,
      protocol: 2,
      connectTimeout: this.opts.connectTimeoutMs,
      commandTimeout: this.opts.commandTimeoutMs,
    };
    const client = new Redis(options);
    let attemptError: Error | undefined;
    // Without a listener ioredis would print every socket error as unhandled. The listener
    // also keeps the real cause: connect() itself only rejects with "Connection is closed".
    client.on('error', (err: Error) => {
      attemptError ??= err;
      if (this.client === client && client.status === 'ready') this.opts.onError?.(`${this.label}: ${errorMessage(err)}`);
    });
    this.client = client;
    try {
      await client.connect();
      if (t.password !== undefined || t.username !== undefined) {
        // ioredis reports AUTH failures only through 'error'; PING surfaces them here.
        await client.ping();
      }
      this.backoff.succeed();
      this.lastError = undefined;
      return client;
    } catch (err) {
      this.drop();
      this.backoff.fail(Date.now());
      const wrapped = this.wrap(attemptError ?? err);
      this.lastError = wrapped;
      throw wrapped;
    }
  }

  private wrap(err: unknown): Error {
    const msg = errorMessage(err);
    if (/WRONGPASS|NOAUTH|invalid password|invalid username-password/i.test(msg)) {
      return new Error(`${this.label}: authentication failed${this.target.username ? ` for user ${this.target.username}` : ''}: ${msg}`, { cause: err });
    }
    if (/NOPERM/i.test(msg)) return new Error(`${this.label}: ACL denies a command the agent needs: ${msg}`, { cause: err });
    if (isUnreachable(err) || /connect|closed|ETIMEDOUT/i.test(msg)) {
      return new RedisUnreachableError(`${this.label}: cannot connect: ${msg}`, { cause: err });
    }
    return new Error(`${this.label}: ${msg}`, { cause: err });
  }

  private drop(): void {
    const c = this.client;
    this.client = undefined;
    if (c) {
      c.removeAllListeners('error');
      c.on('error', () => {});
      c.disconnect(false);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    const c = this.client;
    this.client = undefined;
    if (!c) return;
    c.on('error', () => {});
    if (c.status === 'ready') {
      await Promise.race([c.quit().catch(() => undefined), new Promise((r) => setTimeout(r, 500).unref())]);
    }
    c.disconnect(false);
  }
}

function isConnectionError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  if (isUnreachable(err)) return true;
  return /Connection is closed|Stream isn't writeable|enableOfflineQueue|socket closed|ECONNRESET|EPIPE/i.test(err.message);
}
