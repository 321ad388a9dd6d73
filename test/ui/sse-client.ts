import { request, type IncomingMessage, type ClientRequest } from 'node:http';

export interface SseEvent { event: string; data: string }

/** A raw SSE client over node:http (no EventSource in Node 20), parsing events as they come. */
export class SseClient {
  readonly events: SseEvent[] = [];
  status = 0;
  bytes = 0;
  private req: ClientRequest | undefined;
  private res: IncomingMessage | undefined;
  private buf = '';
  private waiters: (() => void)[] = [];
  /** Keep only counts, not the data (load test: 100 clients). */
  private readonly keep: boolean;
  counts = new Map<string, number>();

  constructor(keep = true) {
    this.keep = keep;
  }

  open(url: string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.req = request(url, { headers: { accept: 'text/event-stream' } }, (res) => {
        this.res = res;
        this.status = res.statusCode ?? 0;
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => this.onData(chunk));
        res.on('error', () => {});
        resolve();
      });
      this.req.on('error', reject);
      this.req.end();
    });
  }

  private onData(chunk: string): void {
    this.bytes += Buffer.byteLength(chunk);
    this.buf += chunk;
    let i: number;
    while ((i = this.buf.indexOf('\n\n')) >= 0) {
      const block = this.buf.slice(0, i);
      this.buf = this.buf.slice(i + 2);
      let event = 'message';
      let data = '';
      for (const line of block.split('\n')) {
        if (line.startsWith('event: ')) event = line.slice(7);
        else if (line.startsWith('data: ')) data += line.slice(6);
      }
      if (data === '') continue;
      this.counts.set(event, (this.counts.get(event) ?? 0) + 1);
      if (this.keep) this.events.push({ event, data });
      for (const w of this.waiters.splice(0)) w();
    }
  }

  count(event: string): number {
    return this.counts.get(event) ?? 0;
  }

  async waitFor(event: string, n: number, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.count(event) < n) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${n} ${event} events (got ${this.count(event)})`);
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 200);
      });
    }
  }

  parsed<T>(event: string): T[] {
    return this.events.filter((e) => e.event === event).map((e) => JSON.parse(e.data) as T);
  }

  close(): void {
    this.res?.destroy();
    this.req?.destroy();
  }
}
