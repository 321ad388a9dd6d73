import { z } from 'zod';
import { durationSchema } from '../../util/duration.ts';

/** Estimators the forecaster can use; `theil-sen` is the default because it measured best (bench/forecast.ts). */
export const FORECAST_METHODS = ['theil-sen', 'floor-trend', 'holt', 'linear'] as const;
export type ForecastMethod = (typeof FORECAST_METHODS)[number];

/**
 * Which level of a sawtooth series is forecast to reach the threshold:
 * `peak` — the top of the sawtooth (what a cgroup / kernel limit kills on);
 * `floor` — the post-GC floor (the live set; what a V8 heap limit kills on).
 */
export const ENVELOPES = ['peak', 'floor'] as const;
export type Envelope = (typeof ENVELOPES)[number];

const attributeValue = z.union([z.string(), z.number(), z.boolean()]);

/** A fixed limit for series whose metric declares none (a queue backlog ceiling, a disk quota). */
const ceilingSchema = z
  .object({
    metric: z.string().min(1),
    /** Only series whose attributes include all of these. */
    match: z.record(z.string(), attributeValue).default({}),
    /** The ceiling, in the metric's unit (e.g. 10000 jobs). */
    value: z.number().positive(),
    /** Also forecast the time until the series drains to zero (queues). */
    drain: z.boolean().default(true),
  })
  .strict();

/** Per-metric adjustments of the global settings. */
const overrideSchema = z
  .object({
    metric: z.string().min(1),
    match: z.record(z.string(), attributeValue).default({}),
    threshold: z.number().gt(0).max(1).optional(),
    envelope: z.enum(ENVELOPES).optional(),
    /** Skip these series entirely. */
    enabled: z.boolean().optional(),
  })
  .strict();

export const forecastConfigSchema = z
  .object({
    enabled: z.boolean().default(true),
    /** Fraction of the limit whose crossing is forecast (time_to_exhaustion counts down to it). */
    threshold: z.number().gt(0).max(1).default(0.95),
    /** History the trend is fitted on. */
    window: durationSchema.default(600_000),
    /**
     * Width of the min/max buckets the sawtooth is reduced to; should span at least one GC
     * cycle. Default: window / 30, at least 1 s.
     */
    bucket: durationSchema.optional(),
    /** Floor points (closed buckets) needed before the first forecast. */
    min_points: z.number().int().min(3).default(6),
    method: z.enum(FORECAST_METHODS).default('theil-sen'),
    envelope: z.enum(ENVELOPES).default('peak'),
    /**
     * Growth whose post-GC floor bends over with this significance (|t| of the quadratic term)
     * counts as saturating (warm-up ramp, cache filling, a leak that stopped) and is projected
     * to its asymptote instead of linearly. Lower: fewer false forecasts on plateaus, more risk
     * of under-forecasting a leak that wobbles.
     */
    curvature_significance: z.number().positive().default(2),
    /**
     * Consecutive fits (bucket closes) that must find the series degrading before a time to
     * exhaustion is published: one bucket's noise can swing a fit, a real leak holds.
     */
    confirm_fits: z.number().int().min(1).default(2),
    /** Limit values at or above this are "unlimited" (cgroup v1 reports 2^63 - page). */
    unlimited_above: z.number().positive().default(2 ** 60),
    /** Watch only these metrics (default: every metric that declares a limit, plus ceilings). */
    metrics: z.array(z.string().min(1)).default([]),
    ceilings: z.array(ceilingSchema).default([]),
    /** Metrics (with a limit) that also get a time to drain while they fall: queue backlogs. */
    drain: z.array(z.string().min(1)).default(['vigil.queue.backlog']),
    overrides: z.array(overrideSchema).default([]),
  })
  .strict();

export type ForecastConfig = z.output<typeof forecastConfigSchema>;
export type CeilingConfig = z.output<typeof ceilingSchema>;
export type OverrideConfig = z.output<typeof overrideSchema>;

/** The bucket width actually used. */
export function bucketMsOf(config: Pick<ForecastConfig, 'window' | 'bucket'>): number {
  return config.bucket ?? Math.max(1000, Math.round(config.window / 30));
}
