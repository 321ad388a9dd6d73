import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { encodeEvent, type LiveModel } from './live-model.ts';

export interface LiveHubOptions {
  readonly tickMs: number;
  /** Viewers beyond this are refused with 503 (bounds memory whatever happens). */
  readonly maxViewers: number;
  /** A viewer whose unsent output exceeds this is dropped (its browser reconnects and resyncs). */
  readonly maxBufferedBytes: number;
}

export const DEFAULT_HUB_OPTIONS: LiveHubOptions = { tickMs: 1000, maxViewers: 256, maxBufferedBytes: 4 << 20 };

/**
 * Fans one serialised update per tick out to every open page (Server-Sent Events). The
 * ticker exists only while at least one viewer is connected: with nobody watching, the live
 * page costs no timer, no allocation and no alert polling.
 */
export class LiveHub {
  private readonly viewers = new Set<ServerResponse>();
  private timer: NodeJS.Timeout | undefined;
  private readonly model: LiveModel;
  private readonly logger: Logger;
  private readonly opts: LiveHubOptions;
  private closed = false;
  /** Frames broadcast since start (for tests and the page's own counters). */
  ticks = 0;

  constructor(model: LiveModel, logger: Logger, opts: LiveHubOptions = DEFAULT_HUB_OPTIONS) {
    this.model = model;
    this.logger = logger;
    this.opts = opts;
  }

  get viewerCount(): number {
    return this.viewers.size;
  }

  get running(): boolean {
    return this.timer !== undefined;
  }

  /** Handles `GET /api/live`: registers the viewer and sends it the snapshot. */
  connect(req: IncomingMessage, res: ServerResponse): void {
    if (this.closed || this.viewers.size >= this.opts.maxViewers) {
      res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8', 'retry-after': '5' });
      res.end(this.closed ? 'agent stopping\n' : `live page is at its limit of ${this.opts.maxViewers} viewers\n`);
      return;
    }
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      // Proxies (nginx) must not buffer the stream.
      'x-accel-buffering': 'no',
    });
    req.socket.setNoDelay(true);
    req.socket.setKeepAlive(true, 30_000);
    const now = Date.now();
    if (this.viewers.size === 0) {
      // First viewer: establish the selection so the snapshot and the next frame agree.
      this.model.frame(now);
      this.model.refreshAlerts(now, 0);
    }
    this.viewers.add(res);
    const onClose = (): void => this.disconnect(res);
    res.on('close', onClose);
    res.on('error', onClose);
    res.write(`retry: 2000\n\n`);
    res.write(this.model.snapshotBytes(now));
    this.ensureTicker();
  }

  private disconnect(res: ServerResponse): void {
    if (!this.viewers.delete(res)) return;
    if (this.viewers.size === 0) this.stopTicker();
  }

  private ensureTicker(): void {
    if (this.timer || this.closed) return;
    this.timer = setInterval(() => this.tick(), this.opts.tickMs);
  }

  private stopTicker(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.model.reset();
  }

  /** Builds the frame once and writes the same bytes to every viewer. */
  tick(): void {
    if (this.viewers.size === 0) {
      this.stopTicker();
      return;
    }
    const now = Date.now();
    let bytes: Buffer;
    try {
      this.model.refreshAlerts(now);
      bytes = encodeEvent('frame', this.model.frame(now));
    } catch (err) {
      this.logger.warn({ err }, 'live page: building the update failed');
      return;
    }
    this.ticks++;
    for (const res of this.viewers) {
      if (res.writableLength > this.opts.maxBufferedBytes) {
        this.logger.debug({ buffered: res.writableLength }, 'live page: dropping a viewer that does not keep up');
        res.destroy();
        continue;
      }
      res.write(bytes);
    }
  }

  /** Ends every stream and stops the ticker (agent shutdown). */
  close(): void {
    this.closed = true;
    for (const res of this.viewers) res.end();
    this.viewers.clear();
    this.stopTicker();
  }

  /** Re-opens after close (the subsystem was restarted, e.g. config reload). */
  open(): void {
    this.closed = false;
  }
}
