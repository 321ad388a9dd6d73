import type { PressureThresholds } from './config.ts';
import { A, M, PRESSURE_LEVELS, type PressureLevel } from './metrics.ts';
import type { Batch } from './batch.ts';

/** Usage / limit, or undefined when the limit is unknown, unlimited or not positive. */
export function utilization(usage: number, limit: number | undefined): number | undefined {
  if (limit === undefined || !Number.isFinite(limit) || limit <= 0) return undefined;
  return usage / limit;
}

/** Level index 0..3 (low, medium, high, critical) of a utilization. */
export function pressureLevel(u: number, t: PressureThresholds): number {
  if (u >= t.critical) return 3;
  if (u >= t.high) return 2;
  if (u >= t.medium) return 1;
  return 0;
}

export function pressureLevelName(level: number): PressureLevel {
  return PRESSURE_LEVELS[Math.max(0, Math.min(3, level))]!;
}

/** Adds vigil.memory.limit / utilization / pressure.level for every scope usage in the batch. */
export function addDerived(batch: Batch, t: PressureThresholds): void {
  for (const s of batch.scopes) {
    const u = utilization(s.usage, s.limit);
    if (u === undefined) continue;
    const attributes = { ...s.attributes, [A.scope]: s.scope };
    batch.add(M.limit, s.limit, attributes);
    batch.add(M.utilization, u, attributes);
    batch.add(M.pressure, pressureLevel(u, t), attributes);
  }
}
