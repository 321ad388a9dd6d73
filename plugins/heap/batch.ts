import type { Attributes, Sample } from '../../agent/plugin/api.ts';
import type { Scope } from './metrics.ts';

export type SourceKind = 'process' | 'cgroup' | 'v8' | 'kubelet';

/** A scope's usage and limit, from which the collector derives limit/utilization/pressure series. */
export interface ScopeUsage {
  readonly scope: Scope;
  /** Identity attributes of the usage series (without the scope). */
  readonly attributes: Attributes;
  readonly usage: number;
  /** Undefined or non-finite when unlimited or unknown. */
  readonly limit: number | undefined;
}

/** Outcome of one source target in one collection. */
export interface SourceReport {
  readonly source: SourceKind;
  readonly target: string;
  /** Undefined when it worked. */
  readonly error?: string;
  /** The watched thing is not there (no such process, no cgroup fs) rather than broken. */
  readonly unavailable?: boolean;
}

/** What one collection gathers; sources add to it and never throw. */
export class Batch {
  readonly samples: Sample[] = [];
  readonly scopes: ScopeUsage[] = [];
  readonly reports: SourceReport[] = [];
  /** Partial problems (one optional file unreadable) by key: logged once per change, not fatal. */
  readonly warnings = new Map<string, string>();

  add(metric: string, value: number | undefined, attributes: Attributes): void {
    if (value === undefined || !Number.isFinite(value)) return;
    this.samples.push({ metric, value, attributes });
  }

  scope(s: ScopeUsage): void {
    if (Number.isFinite(s.usage)) this.scopes.push(s);
  }

  ok(source: SourceKind, target: string): void {
    this.reports.push({ source, target });
  }

  fail(source: SourceKind, target: string, error: string, unavailable = false): void {
    this.reports.push({ source, target, error, unavailable });
  }

  warn(key: string, message: string): void {
    this.warnings.set(key, message);
  }
}
