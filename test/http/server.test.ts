import { afterEach, describe, expect, it } from 'vitest';
import { Agent, request } from 'node:http';
import { connect } from 'node:net';
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import { createHttpServer, type HttpServer } from '../../agent/http/server.ts';
import { HttpError, readJson, sendJson } from '../../agent/http/routes.ts';

function capture(): { logger: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  return { logger: pino({ level: 'info' }, stream), lines };
}

/** Raw HTTP/1.1 exchange over one socket: what a client sends, everything the server answers. */
function raw(port: number, text: string, waitMs = 3000): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = connect(port, '127.0.0.1');
    let out = '';
    sock.on('data', (b) => (out += b.toString()));
    sock.on('error', reject);
    sock.on('close', () => resolve(out));
    sock.write(text);
    setTimeout(() => {
      sock.destroy();
      resolve(out);
    }, waitMs).unref();
  });
}

describe('createHttpServer', () => {
  let server: HttpServer | undefined;
  let base = '';
  let port = 0;
  const start = async (setup: (s: HttpServer) => void, extra: { requestTimeoutMs?: number; closeGraceMs?: number; logger?: Logger } = {}) => {
    server = createHttpServer({ host: '127.0.0.1', port: 0, logger: extra.logger ?? pino({ level: 'silent' }), ...extra });
    setup(server);
    const addr = await server.listen();
    port = addr.port;
    base = `http://127.0.0.1:${port}`;
    return server;
  };
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('routes exact and prefix paths, longest prefix first, at segment boundaries', async () => {
    await start((s) => {
      s.add('GET', '/a', (_q, r) => sendJson(r, 200, { route: 'exact a' }));
      s.add('GET', '/api', (_q, r, u) => sendJson(r, 200, { route: 'prefix api', path: u.pathname }), { prefix: true });
      s.add('GET', '/api/series', (_q, r, u) => sendJson(r, 200, { route: 'prefix series', path: u.pathname, q: u.searchParams.get('x') }), { prefix: true });
    });
    const get = async (p: string) => {
      const r = await fetch(base + p);
      return { status: r.status, body: (await r.json()) as Record<string, unknown> };
    };
    expect(await get('/a')).toEqual({ status: 200, body: { route: 'exact a' } });
    expect((await get('/a/b')).status).toBe(404);
    expect((await get('/api/series/12?x=1')).body).toEqual({ route: 'prefix series', path: '/api/series/12', q: '1' });
    expect((await get('/api/series')).body.route).toBe('prefix series');
    expect((await get('/api/seriesX')).body).toEqual({ route: 'prefix api', path: '/api/seriesX' });
    expect((await get('/api')).body.route).toBe('prefix api');
    const nf = await get('/nowhere');
    expect(nf).toEqual({ status: 404, body: { error: 'no route for /nowhere' } });
    // "//x" is a path here, not a host.
    expect((await raw(port, 'GET //a HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')).split('\r\n')[0]).toBe('HTTP/1.1 404 Not Found');
  });

  it('answers 405 with Allow for a known path and another method, and HEAD from GET', async () => {
    await start((s) => {
      s.add('GET', '/thing', (_q, r) => sendJson(r, 200, { ok: true }));
      s.add('POST', '/thing', (_q, r) => sendJson(r, 201, { made: true }));
      s.add('DELETE', '/things', (_q, r) => sendJson(r, 204, {}), { prefix: true });
    });
    const del = await fetch(`${base}/thing`, { method: 'DELETE' });
    expect(del.status).toBe(405);
    expect(del.headers.get('allow')).toBe('GET, POST, HEAD');
    expect(await del.json()).toMatchObject({ error: 'method DELETE not allowed on /thing' });
    expect((await fetch(`${base}/thing`, { method: 'POST' })).status).toBe(201);
    const head = await fetch(`${base}/thing`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
    expect((await fetch(`${base}/things/1`, { method: 'PUT' })).status).toBe(405);
  });

  it('refuses duplicate routes and bad paths at registration', async () => {
    await start((s) => s.add('GET', '/x', () => {}));
    expect(() => server!.add('GET', '/x', () => {})).toThrow('route GET /x is already registered');
    expect(() => server!.add('GET', 'x', () => {})).toThrow('must start with "/"');
    server!.add('POST', '/x', (_q, r) => sendJson(r, 200, { late: true })); // routes may be added after listen
    expect(await (await fetch(`${base}/x`, { method: 'POST' })).json()).toEqual({ late: true });
  });

  it('turns HttpError into its status, and a throw or rejection into a logged 500 without crashing', async () => {
    const { logger, lines } = capture();
    await start(
      (s) => {
        s.add('GET', '/teapot', () => {
          throw new HttpError(418, 'short and stout');
        });
        s.add('GET', '/throws', () => {
          throw new Error('sync boom');
        });
        s.add('GET', '/rejects', async () => {
          await new Promise((r) => setTimeout(r, 5));
          throw new Error('async boom');
        });
        s.add('GET', '/half', (_q, r) => {
          r.writeHead(200, { 'content-type': 'text/plain' });
          r.write('partial');
          throw new Error('after headers');
        });
        s.add('GET', '/ok', (_q, r) => sendJson(r, 200, { alive: true }));
      },
      { logger },
    );
    const teapot = await fetch(`${base}/teapot`);
    expect(teapot.status).toBe(418);
    expect(await teapot.json()).toEqual({ error: 'short and stout' });
    for (const [path, msg] of [
      ['/throws', 'sync boom'],
      ['/rejects', 'async boom'],
    ] as const) {
      const r = await fetch(base + path);
      expect(r.status).toBe(500);
      expect(await r.json()).toEqual({ error: `internal error: ${msg}` });
    }
    await expect(fetch(`${base}/half`).then((r) => r.text())).rejects.toThrow();
    expect(await (await fetch(`${base}/ok`)).json()).toEqual({ alive: true });
    const errs = lines.filter((l) => l.msg === 'HTTP handler failed');
    expect(errs.map((l) => l.path)).toEqual(['/throws', '/rejects', '/half']);
    expect(errs.every((l) => l.level === 50 && l.method === 'GET')).toBe(true);
    expect(lines.some((l) => l.path === '/teapot')).toBe(false);
  });

  it('refuses oversized bodies: declared (413 before the handler) and streamed (readJson limit)', async () => {
    let handlerRan = false;
    await start((s) => {
      s.add('POST', '/json', async (q, r) => {
        handlerRan = true;
        sendJson(r, 200, { got: await readJson(q, 1024) });
      });
    });
    const big = await fetch(`${base}/json`, { method: 'POST', body: 'x'.repeat(2 << 20), headers: { 'content-type': 'application/json' } });
    expect(big.status).toBe(413);
    expect(handlerRan).toBe(false);
    async function* chunks() {
      for (let i = 0; i < 10; i++) yield new TextEncoder().encode('a'.repeat(200));
    }
    const streamed = await fetch(`${base}/json`, { method: 'POST', body: chunks(), duplex: 'half' } as unknown as RequestInit);
    expect(streamed.status).toBe(413);
    const ok = await fetch(`${base}/json`, { method: 'POST', body: '{"a":1}' });
    expect(await ok.json()).toEqual({ got: { a: 1 } });
    const bad = await fetch(`${base}/json`, { method: 'POST', body: '{nope' });
    expect(bad.status).toBe(400);
  });

  it('serves several requests over one keep-alive connection', async () => {
    let n = 0;
    await start((s) => s.add('GET', '/n', (_q, r) => sendJson(r, 200, { n: ++n })));
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const ports = new Set<number>();
    const one = () =>
      new Promise<number>((resolve, reject) => {
        const req = request(`${base}/n`, { agent }, (res) => {
          ports.add(res.socket.localPort ?? -1);
          let body = '';
          res.on('data', (c: Buffer) => (body += c.toString()));
          res.on('end', () => resolve((JSON.parse(body) as { n: number }).n));
        });
        req.on('error', reject);
        req.end();
      });
    expect([await one(), await one(), await one()]).toEqual([1, 2, 3]);
    expect(ports.size).toBe(1);
    agent.destroy();
  });

  it('times out a request whose headers never finish, with 408', async () => {
    await start((s) => s.add('GET', '/x', () => {}), { requestTimeoutMs: 400 });
    const t0 = Date.now();
    const answer = await raw(port, 'GET /x HTTP/1.1\r\nHost: x\r\n', 4000);
    expect(answer.startsWith('HTTP/1.1 408')).toBe(true);
    expect(Date.now() - t0).toBeLessThan(3000);
  });

  it('answers 400 to a malformed request line', async () => {
    await start(() => {});
    expect((await raw(port, 'NOT HTTP\r\n\r\n')).startsWith('HTTP/1.1 400')).toBe(true);
  });

  it('reports the bound address, and a clear error for a port in use', async () => {
    await start(() => {});
    expect(port).toBeGreaterThan(0);
    const other = createHttpServer({ host: '127.0.0.1', port, logger: pino({ level: 'silent' }) });
    await expect(other.listen()).rejects.toThrow(`cannot listen on 127.0.0.1:${port}: EADDRINUSE`);
    await other.close();
  });

  it('close() lets an in-flight request finish, and cuts one that outlives the grace period', async () => {
    await start(
      (s) => {
        s.add('GET', '/slow', async (_q, r) => {
          await new Promise((res) => setTimeout(res, 200));
          sendJson(r, 200, { done: true });
        });
        s.add('GET', '/hang', () => new Promise(() => {}));
      },
      { closeGraceMs: 600 },
    );
    const slow = fetch(`${base}/slow`).then((r) => r.json());
    await new Promise((r) => setTimeout(r, 50));
    await server!.close();
    expect(await slow).toEqual({ done: true });
    server = undefined;

    await start((s) => s.add('GET', '/hang', () => new Promise(() => {})), { closeGraceMs: 300 });
    const hang = fetch(`${base}/hang`).then(
      () => 'answered',
      () => 'cut',
    );
    await new Promise((r) => setTimeout(r, 50));
    const t0 = Date.now();
    await server!.close();
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(await hang).toBe('cut');
    server = undefined;
  });
});
