import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { HttpError, sendJson, type HttpMethod, type HttpRoutes, type RouteHandler, type RouteOptions } from './routes.ts';
import { Router } from './router.ts';

export interface HttpServer extends HttpRoutes {
  /** Starts listening; resolves with the bound address (the real port when port is 0). */
  listen(): Promise<{ host: string; port: number }>;
  /** Stops accepting, lets in-flight requests finish briefly, then drops what is left. */
  close(): Promise<void>;
}

export interface HttpServerOptions {
  readonly host: string;
  readonly port: number;
  readonly logger: Logger;
  /** Requests announcing a larger body are refused with 413 before any handler runs. Default 1 MiB. */
  readonly maxBodyBytes?: number;
  /** Whole-request deadline (headers + body), ms. Default 30 s. */
  readonly requestTimeoutMs?: number;
  /** How long close() waits for in-flight requests before cutting them, ms. Default 2 s. */
  readonly closeGraceMs?: number;
}

/**
 * The agent's single HTTP port, on plain node:http. Handlers never take the process down: an
 * HttpError becomes its status with a JSON body, anything else thrown or rejected becomes a
 * 500 with the message and a log line.
 */
export function createHttpServer(opts: HttpServerOptions): HttpServer {
  const log = opts.logger.child({ component: 'http' });
  const router = new Router();
  const maxBody = opts.maxBodyBytes ?? 1 << 20;

  const requestTimeout = opts.requestTimeoutMs ?? 30_000;
  const server: Server = createServer({
    // Slow-loris guards: the whole request (headers + body) must arrive within requestTimeout,
    // the headers within 10 s; node checks both every connectionsCheckingInterval.
    requestTimeout,
    headersTimeout: Math.min(requestTimeout, 10_000),
    connectionsCheckingInterval: Math.min(5_000, Math.max(100, Math.floor(requestTimeout / 2))),
    keepAliveTimeout: 5_000,
  });
  server.maxHeadersCount = 100;
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    void dispatch(req, res);
  });
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    // Malformed requests and timeouts land here; answer if the socket still can, never throw.
    if (err.code !== 'ECONNRESET' && socket.writable) {
      const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
      socket.end(`HTTP/1.1 ${status} ${status === 431 ? 'Request Header Fields Too Large' : status === 408 ? 'Request Timeout' : 'Bad Request'}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
    } else socket.destroy();
  });

  async function dispatch(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let url: URL;
    try {
      // Concatenate rather than resolve: a target like "//x/metrics" is a path, not a host.
      const target = req.url ?? '/';
      url = new URL(target.startsWith('/') ? `http://localhost${target}` : target);
    } catch {
      sendJson(res, 400, { error: `malformed request URL ${JSON.stringify(req.url)}` });
      return;
    }
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > maxBody) {
      res.setHeader('connection', 'close');
      sendJson(res, 413, { error: `request body of ${declared} bytes is over the ${maxBody}-byte limit` });
      req.resume();
      return;
    }
    const match = router.match(req.method ?? 'GET', url.pathname);
    if (match.kind === 'not-found') {
      sendJson(res, 404, { error: `no route for ${url.pathname}` });
      return;
    }
    if (match.kind === 'method-not-allowed') {
      res.setHeader('allow', match.allowed.join(', '));
      sendJson(res, 405, { error: `method ${req.method ?? ''} not allowed on ${url.pathname}`, allowed: match.allowed });
      return;
    }
    try {
      await match.handler(req, res, url);
    } catch (err) {
      fail(req, res, url, err);
    }
  }

  function fail(req: IncomingMessage, res: ServerResponse, url: URL, err: unknown): void {
    if (err instanceof HttpError) {
      if (!res.headersSent) sendJson(res, err.status, { error: err.message });
      else res.destroy();
      return;
    }
    const message = err instanceof Error ? err.message : String(err);
    log.error({ err, method: req.method, path: url.pathname }, 'HTTP handler failed');
    if (!res.headersSent) sendJson(res, 500, { error: `internal error: ${message}` });
    else res.destroy(); // half-written body: cut it so the client does not take it as complete
  }

  let listening = false;
  return {
    add(method: HttpMethod, path: string, handler: RouteHandler, options?: RouteOptions) {
      router.add(method, path, handler, options);
    },
    listen() {
      return new Promise((resolve, reject) => {
        const onError = (err: NodeJS.ErrnoException) => {
          reject(new Error(`cannot listen on ${opts.host}:${opts.port}: ${err.code ?? err.message}`, { cause: err }));
        };
        server.once('error', onError);
        server.listen(opts.port, opts.host, () => {
          server.off('error', onError);
          server.on('error', (err) => log.error({ err }, 'HTTP server error'));
          listening = true;
          const a = server.address() as AddressInfo;
          log.info({ host: a.address, port: a.port }, 'HTTP server listening');
          resolve({ host: a.address, port: a.port });
        });
      });
    },
    close() {
      if (!listening) return Promise.resolve();
      listening = false;
      return new Promise<void>((resolve) => {
        const cut = setTimeout(() => server.closeAllConnections(), opts.closeGraceMs ?? 2000);
        cut.unref();
        server.close(() => {
          clearTimeout(cut);
          resolve();
        });
        server.closeIdleConnections();
      });
    },
  };
}
