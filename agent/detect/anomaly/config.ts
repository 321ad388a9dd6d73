import { z } from 'zod';
import { durationSchema } from '../../util/duration.ts';
import { FEATURE_NAMES } from './features.ts';
import { DEFAULT_DETECTOR_OPTIONS, type DetectorOptions } from './streaming-detector.ts';

const d = DEFAULT_DETECTOR_OPTIONS;

const groupSchema = z
  .object({
    /** Name of the group; the score's `group` attribute. */
    name: z.string().regex(/^[a-zA-Z][\w.-]*$/, 'expected a name of letters, digits, "_", "-" or "."'),
    /**
     * Metrics scored jointly (one channel each). One instance per series of the first metric;
     * the others are the series agreeing with it on the attributes they share.
     */
    metrics: z.array(z.string().min(1)).min(1).max(32),
    /** Only series whose attributes, where present, have these values. */
    match: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
  })
  .strict();

/** The `detect.anomaly` config section. Counts are in points (one point per collection). */
export const anomalyConfigSchema = z
  .object({
    enabled: z.boolean().default(true),
    /** Calibrated score (0..1) at which an anomaly event is raised; 0.5 ≈ a 1-in-100,000 surprise. */
    sensitivity: z.number().gt(0).max(1).default(0.5),
    /** Training window: the last N feature vectors of each series. */
    window: z.number().int().min(16).max(100_000).default(d.trainWindow),
    /** Rebuild each model after this many new points. */
    retrain_every: z.number().int().min(1).default(d.retrainEvery),
    /** Points needed before a series is scored at all. */
    min_train: z.number().int().min(8).default(d.minTrain),
    trees: z.number().int().min(1).max(1000).default(d.trees),
    sample_size: z.number().int().min(2).max(4096).default(d.sampleSize),
    seed: z.number().int().min(0).default(d.seed),
    /** Forest variant: axis-parallel cuts (the paper), or random hyperplanes (extended; no model persistence). */
    variant: z.enum(['standard', 'extended']).default('standard'),
    features: z
      .object({
        window: z.number().int().min(2).max(1000).default(d.features.window),
        use: z.array(z.enum(FEATURE_NAMES)).min(1).default([...d.features.features]),
      })
      .strict()
      .prefault({}),
    calibration: z
      .object({
        /** Horizon (points) of the raw-score distribution each score is compared against. */
        history: z.number().int().min(32).default(d.calibration.history),
        short: z.number().int().min(1).default(d.calibration.short),
        min_std: z.number().min(0).default(d.calibration.minStd),
      })
      .strict()
      .prefault({}),
    /** Weight of the out-of-range term (0 turns it off). */
    extrapolation: z.number().min(0).default(d.extrapolation),
    /**
     * Companion tail score fused with the forest's by max: value, difference and the mean of
     * about the last `short` values against their running mean/std over `window` points.
     * `weight: 0` turns it off (forest only).
     */
    gaussian: z
      .object({
        window: z.number().int().min(32).default(d.gaussian?.window ?? 8000),
        weight: z.number().min(0).max(1).default(d.gaussian?.weight ?? 0),
        short: z.number().int().min(1).default(d.gaussian?.short ?? 40),
        short_gain: z.number().min(0).default(d.gaussian?.shortGain ?? 3),
      })
      .strict()
      .prefault({}),
    /**
     * Daily-cycle companion, fused by max: a point against the median of the same time of day
     * (± one bin) on the previous `cycles` days, silent while the residuals are not below
     * `max_residual_share` of the values' variance (no cycle). `weight: 0` turns it off.
     */
    seasonal: z
      .object({
        period: durationSchema.refine((ms) => ms > 0, 'expected a period above 0').default(d.seasonal?.periodMs ?? 86_400_000),
        bins: z.number().int().min(1).max(10_000).default(d.seasonal?.bins ?? 288),
        cycles: z.number().int().min(2).max(60).default(d.seasonal?.cycles ?? 7),
        weight: z.number().min(0).max(1).default(d.seasonal?.weight ?? 0),
        max_residual_share: z.number().gt(0).max(1).default(d.seasonal?.maxResidualShare ?? 0.5),
        window: z.number().int().min(32).default(d.seasonal?.window ?? 8000),
      })
      .strict()
      .prefault({}),
    /**
     * Stuck-value companion, fused by max: a run of one repeated value longer than any earlier
     * run, scored by how many typical quiet spells beyond it; silent until the series has
     * varied (`min_points`, `min_runs`) and while more than `max_repeat_share` of its points
     * repeated the previous one. Off by default (`weight: 0`): neutral on the NAB subset.
     */
    flatline: z
      .object({
        weight: z.number().min(0).max(1).default(d.flatline?.weight ?? 0),
        min_points: z.number().int().min(2).default(d.flatline?.minPoints ?? 64),
        min_runs: z.number().int().min(1).default(d.flatline?.minRuns ?? 8),
        max_repeat_share: z.number().gt(0).max(1).default(d.flatline?.maxRepeatShare ?? 0.5),
      })
      .strict()
      .prefault({}),
    /** Which metrics get a per-series detector (glob patterns with `*`). */
    metrics: z
      .object({
        include: z.array(z.string()).default(['*']),
        exclude: z.array(z.string()).default([]),
      })
      .strict()
      .prefault({}),
    groups: z.array(groupSchema).default([]),
    /** Cap on detectors (series + group instances); each costs ≈ 110 KiB at the defaults. */
    max_detectors: z.number().int().min(1).default(200),
    /** Repeated detections: a new one must beat the previous `points` scores; events at most once per `cooldown` per subject. */
    suppression: z
      .object({
        points: z.number().int().min(0).default(d.suppression),
        cooldown: durationSchema.default(300_000),
      })
      .strict()
      .prefault({}),
    /** Work spent retraining per event-loop turn before yielding, so collection never waits. */
    retrain_budget: durationSchema.default(8),
    /**
     * Ceiling on the share of one core spent retraining, averaged over time. When more models
     * are due than this allows, retrains wait their turn (models get older, scoring goes on):
     * `retrain_every` is then a minimum, not a promise.
     */
    retrain_cpu: z.number().gt(0).max(1).default(0.02),
    /** Save models to `<data_dir>/anomaly/models.json` on stop and restore them on start. */
    persist: z.boolean().default(true),
  })
  .strict();

export type AnomalyConfig = z.output<typeof anomalyConfigSchema>;

/** The detector settings a config describes (shared by the agent and `vigil detect`). */
export function detectorOptions(c: AnomalyConfig, seed = c.seed): DetectorOptions {
  return {
    trees: c.trees,
    sampleSize: c.sample_size,
    seed,
    trainWindow: c.window,
    retrainEvery: c.retrain_every,
    minTrain: Math.min(c.min_train, c.window),
    features: { window: c.features.window, features: c.features.use },
    calibration: { history: c.calibration.history, short: c.calibration.short, minStd: c.calibration.min_std },
    suppression: c.suppression.points,
    extrapolation: c.extrapolation,
    gaussian: { window: c.gaussian.window, weight: c.gaussian.weight, short: c.gaussian.short, shortGain: c.gaussian.short_gain },
    seasonal: { periodMs: c.seasonal.period, bins: c.seasonal.bins, cycles: c.seasonal.cycles, weight: c.seasonal.weight, maxResidualShare: c.seasonal.max_residual_share, window: c.seasonal.window },
    flatline: { weight: c.flatline.weight, minPoints: c.flatline.min_points, minRuns: c.flatline.min_runs, maxRepeatShare: c.flatline.max_repeat_share },
    ...(c.variant === 'extended' ? { variant: 'extended' as const } : {}),
  };
}
