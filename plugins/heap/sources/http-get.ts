import http from 'node:http';
import https from 'node:https';

export interface GetOptions {
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
  readonly headers?: Readonly<Record<string, string>>;
  /** Keep-alive agent (http or https, matching the URL), so a 1 s scrape reuses its connection. */
  readonly agent?: http.Agent;
  readonly maxBytes?: number;
}

export interface GetResult {
  readonly status: number;
  readonly contentType: string;
  readonly body: string;
}

/** A scrape failure; `unavailable` when nothing is listening or the host is unknown. */
export class FetchError extends Error {
  override readonly name = 'FetchError';
  constructor(
    message: string,
    readonly unavailable = false,
  ) {
    super(message);
  }
}

/** The URL without credentials or query, safe to log. */
export function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    u.search = '';
    return u.toString();
  } catch {
    return '<invalid url>';
  }
}

const UNAVAILABLE_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN']);

/** GET a URL as text with a hard deadline (connect + headers + body) and a size cap. */
export function getText(url: string, o: GetOptions): Promise<GetResult> {
  const shown = safeUrl(url);
  const maxBytes = o.maxBytes ?? 8 * 1024 * 1024;
  return new Promise((resolve, reject) => {
    const mod = url.startsWith('https:') ? https : http;
    let settled = false;
    const done = (err: Error | undefined, res?: GetResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      o.signal?.removeEventListener('abort', onAbort);
      if (err) reject(err);
      else resolve(res!);
    };
    const req = mod.get(url, { headers: o.headers, agent: o.agent }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > maxBytes) {
          req.destroy();
          done(new FetchError(`GET ${shown}: response larger than ${maxBytes} bytes`));
        } else chunks.push(c);
      });
      res.on('end', () =>
        done(undefined, {
          status: res.statusCode ?? 0,
          contentType: String(res.headers['content-type'] ?? ''),
          body: Buffer.concat(chunks).toString('utf8'),
        }),
      );
      res.on('error', (err) => done(new FetchError(`GET ${shown}: ${err.message}`)));
    });
    const timer = setTimeout(() => {
      req.destroy();
      done(new FetchError(`GET ${shown}: timed out after ${o.timeoutMs} ms`));
    }, o.timeoutMs);
    const onAbort = () => {
      req.destroy();
      done(new FetchError(`GET ${shown}: aborted (collection timeout or shutdown)`));
    };
    if (o.signal?.aborted) onAbort();
    else o.signal?.addEventListener('abort', onAbort, { once: true });
    req.on('error', (err: Error & { code?: string }) => {
      const code = err.code ? ` (${err.code})` : '';
      const msg = err.code === 'ECONNREFUSED' ? 'connection refused' : err.message;
      done(new FetchError(`GET ${shown}: ${msg}${err.code === 'ECONNREFUSED' ? code : ''}`, UNAVAILABLE_CODES.has(err.code ?? '')));
    });
  });
}
