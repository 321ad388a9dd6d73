import type { SendResult } from './types.ts';

export interface PostOptions {
  readonly url: string;
  readonly body: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
  readonly signal: AbortSignal;
  readonly now: number;
}

/**
 * POSTs JSON and classifies the answer. Error texts name only the origin: webhook URLs carry
 * their secret in the path, so a full URL must never reach a log or the dead-letter list.
 */
export async function postJson(opts: PostOptions): Promise<SendResult> {
  const origin = safeOrigin(opts.url);
  const timeout = AbortSignal.timeout(opts.timeoutMs);
  const signal = AbortSignal.any([opts.signal, timeout]);
  let res: Response;
  try {
    res = await fetch(opts.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'vigil-alerts', ...opts.headers },
      body: opts.body,
      signal,
      redirect: 'error',
    });
  } catch (err) {
    if (timeout.aborted) return { kind: 'retry', error: `${origin}: no answer within ${opts.timeoutMs}ms` };
    if (opts.signal.aborted) return { kind: 'retry', error: `${origin}: aborted (agent stopping)` };
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    return { kind: 'retry', error: `${origin}: ${cause?.code ?? cause?.message ?? (err as Error).message}` };
  }
  let text = '';
  try {
    text = (await res.text()).slice(0, 300);
  } catch {
    // Body lost (timeout while reading): the status is what counts.
  }
  const status = res.status;
  if (status >= 200 && status < 300) return { kind: 'ok', status };
  const error = `${origin}: HTTP ${status}${text ? ` ${oneLine(text)}` : ''}`;
  if (status === 429 || status === 408 || status >= 500) {
    const ra = parseRetryAfter(res.headers.get('retry-after'), opts.now);
    return { kind: 'retry', status, error, ...(ra !== undefined ? { retryAfterMs: ra } : {}) };
  }
  return { kind: 'fatal', status, error };
}

/** `Retry-After`: delay-seconds or an HTTP date (RFC 9110 §10.2.3); ms from now, capped at 1 h. */
export function parseRetryAfter(value: string | null, now: number): number | undefined {
  if (!value) return undefined;
  const v = value.trim();
  let ms: number | undefined;
  if (/^\d+(\.\d+)?$/.test(v)) ms = Number(v) * 1000;
  else {
    const t = Date.parse(v);
    if (Number.isFinite(t)) ms = Math.max(0, t - now);
  }
  return ms === undefined ? undefined : Math.min(ms, 3_600_000);
}

export function safeOrigin(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}`;
  } catch {
    return '<invalid url>';
  }
}

function oneLine(s: string): string {
  return s.replace(/\s+/g, ' ').trim();
}
