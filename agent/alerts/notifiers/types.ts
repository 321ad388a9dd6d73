import type { NotificationMessage } from '../types.ts';

/** Outcome of one delivery attempt, classified for the outbox. */
export type SendResult =
  | { readonly kind: 'ok'; readonly status: number }
  /** Try again later (5xx, 408, 429, network error, timeout); `retryAfterMs` from `Retry-After`. */
  | { readonly kind: 'retry'; readonly status?: number; readonly error: string; readonly retryAfterMs?: number }
  /** Will not succeed by retrying (other 4xx): dead-letter it. */
  | { readonly kind: 'fatal'; readonly status?: number; readonly error: string };

export interface Notifier {
  readonly name: string;
  readonly type: 'slack' | 'webhook' | 'alertmanager';
  /** Delivery targets, each with its own outbox queue (Alertmanager: one per URL). */
  readonly targets: number;
  /** Minimum spacing between two requests to one target (Slack: ~1 s). */
  readonly minIntervalMs: number;
  /** Re-notify interval for firing groups, when the notifier wants its own (Alertmanager resend). */
  readonly repeatIntervalMs?: number;
  /** Renders and sends a message to one target. Never throws; never puts a secret in `error`. */
  send(target: number, message: NotificationMessage, signal: AbortSignal, now: number): Promise<SendResult>;
  /** Config for the API and logs, with secrets redacted. */
  describe(): Record<string, unknown>;
  /** Non-secret name of a target for logs and spans (scheme://host:port). */
  targetLabel(target: number): string;
}
