import type { Tracer, Meter, Context } from '@opentelemetry/api';
import type { Logger } from 'pino';
import type { SeriesStore, Series } from './store/series-store.ts';
import type { MetricRegistry } from './telemetry/metric-registry.ts';
import type { HttpRoutes } from './http/routes.ts';
import type { PluginStatus } from './plugin/status.ts';
import type { TypedEmitter } from './util/events.ts';

/** Emitted after each plugin collection (successful or not). */
export interface CollectionEvent {
  readonly plugin: string;
  /** Collection start, Unix ms. */
  readonly at: number;
  readonly ok: boolean;
  /** Series written by this collection (empty when it failed). */
  readonly series: readonly Series[];
  /** Trace context of the collection's span, so follow-up work (detection) can be its child. */
  readonly context: Context;
}

/** Emitted when a scheduler tick's plugins have all finished (the "collection cycle"). */
export interface CycleEvent {
  readonly at: number;
  readonly plugins: readonly string[];
  readonly context: Context;
}

export type AgentEventMap = {
  collection: (e: CollectionEvent) => void;
  cycle: (e: CycleEvent) => void;
  /** Detector outputs and alert transitions use these to reach the live page, etc. */
  anomaly: (e: AnomalyEvent) => void;
};

export interface AnomalyEvent {
  readonly at: number;
  /** Series id (per-series detector) or group name. */
  readonly subject: string;
  readonly metric?: string;
  readonly attributes?: Readonly<Record<string, string | number | boolean>>;
  readonly score: number;
  readonly explanation: string;
}

/** What the core hands to every subsystem (detect, alerts, ui...). */
export interface AgentServices {
  readonly logger: Logger;
  readonly store: SeriesStore;
  readonly metrics: MetricRegistry;
  readonly tracer: Tracer;
  readonly meter: Meter;
  readonly events: TypedEmitter<AgentEventMap>;
  readonly http: HttpRoutes;
  readonly plugins: { statuses(): readonly PluginStatus[] };
  /** Writable directory for state that must survive restarts (alert outbox, models). */
  readonly dataDir: string;
  /** Base URL the agent is reachable at (for generatorURL and links). */
  readonly externalUrl: string;
}

/** A part of the agent with a lifecycle, started after the plugins and stopped before them. */
export interface Subsystem {
  start(): Promise<void>;
  stop(): Promise<void>;
}
