import { createServer, type IncomingMessage, type Server } from 'node:http';
import { gunzipSync } from 'node:zlib';
import type { AddressInfo } from 'node:net';
// The OTLP message shapes as the official OpenTelemetry JS transformer declares them
// (generated from opentelemetry-proto); the exporter serialises exactly these.
import type { IExportTraceServiceRequest } from '@opentelemetry/otlp-transformer/build/src/trace/internal-types.js';
import type { IExportMetricsServiceRequest, INumberDataPoint } from '@opentelemetry/otlp-transformer/build/src/metrics/internal-types.js';
import type { IAnyValue, IKeyValue } from '@opentelemetry/otlp-transformer/build/src/common/internal-types.js';

export type AttrValue = string | number | boolean | null | AttrValue[];

export interface ReceivedSpan {
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId: string | undefined;
  readonly name: string;
  readonly kind: number;
  readonly attributes: Record<string, AttrValue>;
  /** 0 unset, 1 ok, 2 error (OTLP StatusCode). */
  readonly statusCode: number;
  readonly statusMessage: string | undefined;
  readonly startNs: bigint;
  readonly endNs: bigint;
  readonly resource: Record<string, AttrValue>;
  readonly scope: string | undefined;
}

export interface ReceivedPoint {
  readonly attributes: Record<string, AttrValue>;
  readonly value: number;
  readonly timeNs: bigint;
}

export interface ReceivedMetric {
  readonly name: string;
  readonly unit: string | undefined;
  readonly description: string | undefined;
  readonly type: 'gauge' | 'sum' | 'histogram' | 'other';
  readonly monotonic: boolean | undefined;
  /** 1 delta, 2 cumulative (OTLP AggregationTemporality), for sums and histograms. */
  readonly temporality: number | undefined;
  readonly points: ReceivedPoint[];
  readonly resource: Record<string, AttrValue>;
}

export interface OtlpReceiver {
  readonly url: string;
  readonly spans: ReceivedSpan[];
  /** Every metric of every export request, in arrival order. */
  readonly metrics: ReceivedMetric[];
  /** Raw request log: path, content type, headers. */
  readonly requests: Array<{ path: string; contentType: string | undefined; headers: IncomingMessage['headers'] }>;
  /** Requests it could not decode (the test asserts this stays empty). */
  readonly errors: string[];
  close(): Promise<void>;
}

/**
 * An OTLP/HTTP receiver on loopback: POST /v1/traces and /v1/metrics with the OTLP/JSON
 * encoding (what @opentelemetry/exporter-*-otlp-http sends), gzip accepted. Decoding follows
 * the OTLP/JSON rules: lowerCamelCase fields, hex trace/span ids, int64 as strings.
 */
export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = [];
  const metrics: ReceivedMetric[] = [];
  const requests: OtlpReceiver['requests'] = [];
  const errors: string[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = req.url ?? '';
      const contentType = req.headers['content-type'];
      requests.push({ path, contentType, headers: req.headers });
      try {
        let body = Buffer.concat(chunks);
        if (req.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
        if (!contentType?.startsWith('application/json')) throw new Error(`unsupported content-type ${contentType ?? '(none)'}`);
        const doc: unknown = JSON.parse(body.toString('utf8'));
        if (req.method !== 'POST') throw new Error(`method ${req.method ?? ''}`);
        if (path === '/v1/traces') spans.push(...decodeTraces(doc as IExportTraceServiceRequest));
        else if (path === '/v1/metrics') metrics.push(...decodeMetrics(doc as IExportMetricsServiceRequest));
        else throw new Error(`unexpected path ${path}`);
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{}');
      } catch (err) {
        errors.push(`${path}: ${(err as Error).message}`);
        res.writeHead(400, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ message: (err as Error).message }));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    spans,
    metrics,
    requests,
    errors,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function decodeTraces(req: IExportTraceServiceRequest): ReceivedSpan[] {
  const out: ReceivedSpan[] = [];
  if (!Array.isArray(req.resourceSpans)) throw new Error('resourceSpans missing');
  for (const rs of req.resourceSpans) {
    const resource = attrs(rs.resource?.attributes);
    for (const ss of rs.scopeSpans ?? []) {
      for (const s of ss.spans ?? []) {
        const traceId = hexId(s.traceId, 32, 'traceId');
        const spanId = hexId(s.spanId, 16, 'spanId');
        const parent = s.parentSpanId === undefined || s.parentSpanId === '' ? undefined : hexId(s.parentSpanId, 16, 'parentSpanId');
        out.push({
          traceId,
          spanId,
          parentSpanId: parent,
          name: s.name,
          kind: s.kind,
          attributes: attrs(s.attributes),
          statusCode: s.status?.code ?? 0,
          statusMessage: s.status?.message ?? undefined,
          startNs: fixed64(s.startTimeUnixNano),
          endNs: fixed64(s.endTimeUnixNano),
          resource,
          scope: ss.scope?.name,
        });
      }
    }
  }
  return out;
}

function decodeMetrics(req: IExportMetricsServiceRequest): ReceivedMetric[] {
  const out: ReceivedMetric[] = [];
  if (!Array.isArray(req.resourceMetrics)) throw new Error('resourceMetrics missing');
  for (const rm of req.resourceMetrics) {
    const resource = attrs(rm.resource?.attributes);
    for (const sm of rm.scopeMetrics ?? []) {
      for (const m of sm.metrics ?? []) {
        const base = { name: m.name, unit: m.unit ?? undefined, description: m.description ?? undefined, resource };
        if (m.gauge) out.push({ ...base, type: 'gauge', monotonic: undefined, temporality: undefined, points: m.gauge.dataPoints.map(point) });
        else if (m.sum) out.push({ ...base, type: 'sum', monotonic: m.sum.isMonotonic ?? undefined, temporality: m.sum.aggregationTemporality, points: m.sum.dataPoints.map(point) });
        else if (m.histogram) out.push({ ...base, type: 'histogram', monotonic: undefined, temporality: m.histogram.aggregationTemporality, points: [] });
        else out.push({ ...base, type: 'other', monotonic: undefined, temporality: undefined, points: [] });
      }
    }
  }
  return out;
}

function point(p: INumberDataPoint): ReceivedPoint {
  const raw = p.asDouble ?? p.asInt;
  const value = typeof raw === 'string' ? Number(raw) : typeof raw === 'number' ? raw : Number.NaN;
  return { attributes: attrs(p.attributes), value, timeNs: fixed64(p.timeUnixNano) };
}

function attrs(list: IKeyValue[] | undefined): Record<string, AttrValue> {
  const out: Record<string, AttrValue> = {};
  for (const kv of list ?? []) out[kv.key] = anyValue(kv.value);
  return out;
}

function anyValue(v: IAnyValue | undefined): AttrValue {
  if (!v) return null;
  if (v.stringValue !== undefined && v.stringValue !== null) return v.stringValue;
  if (v.boolValue !== undefined && v.boolValue !== null) return v.boolValue;
  if (v.intValue !== undefined && v.intValue !== null) return Number(v.intValue);
  if (v.doubleValue !== undefined && v.doubleValue !== null) return Number(v.doubleValue);
  if (v.arrayValue) return v.arrayValue.values.map(anyValue);
  return null;
}

function hexId(v: string | Uint8Array, len: number, field: string): string {
  if (typeof v !== 'string' || v.length !== len || !/^[0-9a-f]+$/.test(v)) throw new Error(`${field} ${JSON.stringify(v)} is not ${len} lowercase hex digits`);
  return v;
}

function fixed64(v: unknown): bigint {
  if (typeof v === 'string' || typeof v === 'number') return BigInt(v);
  if (v && typeof v === 'object' && 'low' in v && 'high' in v) {
    const { low, high } = v as { low: number; high: number };
    return (BigInt(high >>> 0) << 32n) | BigInt(low >>> 0);
  }
  throw new Error(`unexpected fixed64 ${JSON.stringify(v)}`);
}
