import { Socket, createConnection } from 'node:net';
import { Backoff } from '../../shared/backoff.ts';

/** memcached could not be reached at all. */
export class MemcachedUnreachableError extends Error {
  override readonly name = 'MemcachedUnreachableError';
}

/**
 * A minimal client for the memcached text protocol's `stats` command over one persistent
 * TCP connection (so the agent does not inflate total_connections every interval).
 * One request at a time; reconnects lazily on the next call, paced by a Backoff.
 */
export class MemcachedStatsClient {
  private socket: Socket | undefined;
  private buffer = '';
  private pending: { resolve: (s: Map<string, string>) => void; reject: (e: Error) => void; timer: NodeJS.Timeout } | undefined;
  private readonly backoff = new Backoff(1000, 60_000);
  private lastError: Error | undefined;
  private closed = false;

  constructor(
    readonly host: string,
    readonly port: number,
    private readonly connectTimeoutMs: number,
    private readonly commandTimeoutMs: number,
  ) {}

  get label(): string {
    return `memcached://${this.host.includes(':') ? `[${this.host}]` : this.host}:${this.port}`;
  }

  /** Sends `stats` and returns the STAT name → value map. */
  async stats(): Promise<Map<string, string>> {
    if (this.pending) throw new Error(`${this.label}: previous stats request still running`);
    const hadSocket = this.socket !== undefined;
    const socket = await this.connect();
    try {
      return await this.request(socket);
    } catch (err) {
      // A connection that died since last time (server restart): retry once, fresh.
      if (hadSocket && !this.closed && err instanceof MemcachedUnreachableError) {
        return await this.request(await this.connect());
      }
      throw err;
    }
  }

  private request(socket: Socket): Promise<Map<string, string>> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.fail(new Error(`${this.label}: stats timed out after ${this.commandTimeoutMs}ms`));
      }, this.commandTimeoutMs);
      this.pending = { resolve, reject, timer };
      this.buffer = '';
      socket.write('stats\r\n');
    });
  }

  private connect(): Promise<Socket> {
    if (this.closed) return Promise.reject(new Error(`${this.label}: client closed`));
    if (this.socket && !this.socket.destroyed) return Promise.resolve(this.socket);
    const now = Date.now();
    if (!this.backoff.ready(now)) {
      const Ctor = this.lastError instanceof MemcachedUnreachableError ? MemcachedUnreachableError : Error;
      return Promise.reject(new Ctor(`${this.lastError?.message ?? `${this.label}: not connected`} (next attempt in ${Math.ceil(this.backoff.waitMs(now) / 1000)}s)`));
    }
    return new Promise((resolve, reject) => {
      const socket = createConnection({ host: this.host, port: this.port });
      socket.setNoDelay(true);
      socket.setEncoding('utf8');
      const timer = setTimeout(() => socket.destroy(Object.assign(new Error(`timed out connecting after ${this.connectTimeoutMs}ms`), { code: 'ETIMEDOUT' })), this.connectTimeoutMs);
      const onConnectError = (err: Error) => {
        clearTimeout(timer);
        const e = new MemcachedUnreachableError(`${this.label}: cannot connect: ${err.message}`, { cause: err });
        this.lastError = e;
        this.backoff.fail(Date.now());
        reject(e);
      };
      socket.once('error', onConnectError);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.off('error', onConnectError);
        this.backoff.succeed();
        this.lastError = undefined;
        this.socket = socket;
        socket.on('data', (chunk: string) => this.onData(chunk));
        socket.on('error', (err) => this.fail(new MemcachedUnreachableError(`${this.label}: ${err.message}`, { cause: err })));
        socket.on('close', () => {
          if (this.socket === socket) this.socket = undefined;
          this.fail(new MemcachedUnreachableError(`${this.label}: connection closed`));
        });
        resolve(socket);
      });
    });
  }

  private onData(chunk: string): void {
    this.buffer += chunk;
    const p = this.pending;
    if (!p) return;
    if (this.buffer.endsWith('END\r\n')) {
      const stats = new Map<string, string>();
      for (const line of this.buffer.split('\r\n')) {
        if (!line.startsWith('STAT ')) continue;
        const sp = line.indexOf(' ', 5);
        if (sp > 0) stats.set(line.slice(5, sp), line.slice(sp + 1));
      }
      this.settle();
      p.resolve(stats);
    } else if (/^(ERROR|CLIENT_ERROR|SERVER_ERROR)[^\r]*\r\n$/m.test(this.buffer)) {
      const msg = this.buffer.trim();
      this.settle();
      p.reject(new Error(`${this.label}: stats refused: ${msg}`));
    } else if (this.buffer.length > 1 << 20) {
      this.fail(new Error(`${this.label}: stats reply larger than 1 MiB`));
    }
  }

  private settle(): void {
    if (this.pending) clearTimeout(this.pending.timer);
    this.pending = undefined;
    this.buffer = '';
  }

  /** Rejects the request in flight and drops the connection (its stream state is unknown). */
  private fail(err: Error): void {
    const p = this.pending;
    this.settle();
    const s = this.socket;
    this.socket = undefined;
    if (s && !s.destroyed) s.destroy();
    p?.reject(err);
  }

  close(): void {
    this.closed = true;
    this.fail(new Error(`${this.label}: client closed`));
  }
}

/** Splits `host:port` / `[v6]:port`. */
export function parseAddress(address: string): { host: string; port: number } {
  const colon = address.lastIndexOf(':');
  return { host: address.slice(0, colon).replace(/^\[|\]$/g, ''), port: Number(address.slice(colon + 1)) };
}
