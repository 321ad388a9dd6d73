import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export type SlackTier = 'critical' | 'warning' | 'info' | 'resolved';

/** One message as the Slack stand-in received it. */
export interface SlackMessage {
  /** Unix ms of arrival. */
  readonly at: number;
  readonly tier: SlackTier;
  /** The fallback text (title line). */
  readonly text: string;
  /** Every mrkdwn/plain text of the message's blocks, in order. */
  readonly lines: readonly string[];
  readonly body: unknown;
}

export interface SlackStandin {
  /** The incoming-webhook URL to configure. */
  readonly url: string;
  readonly messages: SlackMessage[];
  /** Called for every message as it arrives (the demo prints them). */
  onMessage(listener: (m: SlackMessage) => void): void;
  close(): Promise<void>;
}

const COLOR_TIER: Readonly<Record<string, SlackTier>> = {
  '#D00000': 'critical',
  '#F2A900': 'warning',
  '#439FE0': 'info',
  '#2EB67D': 'resolved',
};

/**
 * A loopback HTTP server standing in for a Slack incoming webhook: accepts the JSON payloads
 * vigil's Slack notifier posts, answers `ok` like Slack, and keeps them with arrival times.
 */
export async function startSlackStandin(): Promise<SlackStandin> {
  const messages: SlackMessage[] = [];
  const listeners: Array<(m: SlackMessage) => void> = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const at = Date.now();
      try {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as SlackBody;
        const m = parse(at, body);
        messages.push(m);
        for (const l of listeners) l(m);
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end('ok');
      } catch (err) {
        res.writeHead(400, { 'content-type': 'text/plain' });
        res.end(`invalid_payload: ${(err as Error).message}`);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/services/T000/B000/demo`,
    messages,
    onMessage: (l) => listeners.push(l),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

interface SlackBody {
  text?: string;
  attachments?: { color?: string; blocks?: unknown[] }[];
}

function parse(at: number, body: SlackBody): SlackMessage {
  if (typeof body.text !== 'string') throw new Error('missing text');
  const att = body.attachments?.[0];
  const tier = COLOR_TIER[att?.color ?? ''] ?? (/RESOLVED/.test(body.text) ? 'resolved' : 'info');
  const lines: string[] = [];
  const walk = (x: unknown): void => {
    if (Array.isArray(x)) x.forEach(walk);
    else if (x && typeof x === 'object') {
      const o = x as Record<string, unknown>;
      if (typeof o['text'] === 'string') lines.push(o['text']);
      else walk(o['text']);
      if (o['elements']) walk(o['elements']);
    }
  };
  walk(att?.blocks ?? []);
  return { at, tier, text: body.text, lines, body };
}
