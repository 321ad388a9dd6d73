import { metrics, ROOT_CONTEXT } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { alertsConfigSchema, type AlertsConfig } from '../../agent/alerts/config.ts';
import { createAlerts } from '../../agent/alerts/index.ts';
import type { AlertEngine } from '../../agent/alerts/engine.ts';
import type { PluginStatus } from '../../agent/plugin/status.ts';
import type { AgentEventMap, AgentServices } from '../../agent/services.ts';
import { SeriesStore } from '../../agent/store/series-store.ts';
import { MetricRegistry } from '../../agent/telemetry/metric-registry.ts';
import { TypedEmitter } from '../../agent/util/events.ts';
import type { HttpMethod, RouteHandler, RouteOptions } from '../../agent/http/routes.ts';

export function tempDir(prefix = 'vigil-alerts-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** A request the stand-in received. */
export interface Received {
  readonly at: number;
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  json<T = unknown>(): T;
}

export type Behaviour = (req: Received, n: number) => { status: number; headers?: Record<string, string>; body?: string } | 'hang';

/** A loopback HTTP server standing in for Slack / a webhook receiver; records every request. */
export class StandIn {
  readonly received: Received[] = [];
  behaviour: Behaviour = () => ({ status: 200, body: 'ok' });
  private server: Server | undefined;
  private waiters: (() => void)[] = [];
  url = '';

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const r: Received = { at: Date.now(), method: req.method ?? '', path: req.url ?? '', headers: req.headers, body, json: <T,>() => JSON.parse(body) as T };
        this.received.push(r);
        const out = this.behaviour(r, this.received.length);
        for (const w of this.waiters.splice(0)) w();
        if (out === 'hang') return; // never answer
        res.writeHead(out.status, out.headers);
        res.end(out.body ?? '');
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  /** Resolves when `pred` holds for the received requests (polled on every request and every 50 ms). */
  async waitFor(pred: (r: readonly Received[]) => boolean, timeoutMs = 10_000, what = 'requests'): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pred(this.received)) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; got ${this.received.length}: ${this.received.map((r) => r.body.slice(0, 200)).join('\n')}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 50);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
  }
}

/** Collects routes registered by the subsystem, so tests can call them through a real server. */
export class RouteTable {
  readonly routes: { method: HttpMethod; path: string; handler: RouteHandler; prefix: boolean }[] = [];
  add(method: HttpMethod, path: string, handler: RouteHandler, options?: RouteOptions): void {
    this.routes.push({ method, path, handler, prefix: options?.prefix ?? false });
  }
}

export interface Harness {
  readonly services: AgentServices;
  readonly store: SeriesStore;
  readonly events: TypedEmitter<AgentEventMap>;
  readonly statuses: PluginStatus[];
  readonly spans: InMemorySpanExporter;
  readonly routes: RouteTable;
  readonly dataDir: string;
  clock: { now: number };
}

export function makeHarness(opts: { dataDir?: string; metrics?: readonly string[]; http?: AgentServices['http'] } = {}): Harness {
  const store = new SeriesStore({ retentionMs: 3_600_000, maxSeries: 10_000 });
  const registry = new MetricRegistry();
  registry.register('test', (opts.metrics ?? ['vigil.memory.utilization', 'test.value']).map((name) => ({ name, kind: 'gauge' as const, unit: '1', description: name, attributes: [] })));
  const events = new TypedEmitter<AgentEventMap>((err) => {
    throw err;
  });
  const spans = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] });
  const statuses: PluginStatus[] = [];
  const routes = new RouteTable();
  const dataDir = opts.dataDir ?? tempDir();
  const clock = { now: Date.now() };
  const services: AgentServices = {
    logger: pino({ level: process.env.VIGIL_TEST_LOG ?? 'silent' }),
    store,
    metrics: registry,
    tracer: provider.getTracer('test'),
    meter: metrics.getMeter('test'),
    events,
    http: opts.http ?? routes,
    plugins: { statuses: () => statuses },
    dataDir,
    externalUrl: 'http://vigil.test:9464',
  };
  return { services, store, events, statuses, spans, routes, dataDir, clock };
}

export function alertsConfig(raw: unknown): AlertsConfig {
  return alertsConfigSchema.parse(raw);
}

/** Starts the alert engine on a harness; `fakeClock` makes it read h.clock.now. */
export async function startEngine(h: Harness, raw: unknown, fakeClock = false): Promise<AlertEngine> {
  const sub = createAlerts(alertsConfig(raw), h.services, fakeClock ? { now: () => h.clock.now } : {});
  await sub.start();
  return sub.engine!;
}

/** Writes one point per series and emits a cycle, as the plugin host does after a tick. */
export function collect(h: Harness, points: readonly { metric: string; attrs?: Record<string, string | number>; value: number }[], at: number, intervalMs = 1000): void {
  for (const p of points) h.store.record('test', p.metric, p.attrs, p.value, at, intervalMs);
  h.events.emit('cycle', { at, plugins: ['test'], context: ROOT_CONTEXT });
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
