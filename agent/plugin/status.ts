export type PluginState = 'pending' | 'ok' | 'failing' | 'unavailable' | 'disabled';

/** What `/api/status` and the alert engine's `absent` rules see of a plugin instance. */
export interface PluginStatus {
  /** Instance name (config `name`, default the plugin name). */
  readonly name: string;
  /** The `use:` value it was loaded from. */
  readonly use: string;
  readonly state: PluginState;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly lastError?: string;
  readonly lastErrorAt?: number;
  readonly lastSuccessAt?: number;
  /** Since when the current state holds (Unix ms). */
  readonly stateSince: number;
  readonly consecutiveFailures: number;
  readonly collections: number;
  readonly errors: number;
  readonly samples: number;
  /** Samples dropped as malformed (undeclared metric, non-finite value, bad attributes). */
  readonly malformed: number;
  readonly lastDurationMs?: number;
  readonly nextDueAt?: number;
}
