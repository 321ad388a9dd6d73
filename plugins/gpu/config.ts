/**
 * The gpu plugin's options (the `plugins:` entry minus the host keys use/name/enabled/
 * interval/timeout/jitter). snake_case keys, durations like "10s".
 */
import { z } from 'zod';
import { durationSchema } from '../../agent/util/duration.ts';

const ratio = z.number().gt(0).lt(1.0000001);

export const pressureThresholdsSchema = z
  .strictObject({
    medium: ratio.default(0.75),
    high: ratio.default(0.85),
    critical: ratio.default(0.95),
  })
  .refine((t) => t.medium < t.high && t.high < t.critical, { message: 'pressure_thresholds must rise: medium < high < critical' });

export const gpuOptionsSchema = z.strictObject({
  /** `loop`: one long-running `nvidia-smi --query-gpu -lms` child (default). `xml`: `nvidia-smi -q -x` per collection. */
  mode: z.enum(['loop', 'xml']).default('loop'),
  /** Path or name (looked up on PATH) of nvidia-smi. Run without a shell. */
  binary: z.string().min(1).default('nvidia-smi'),
  /** Extra arguments put before every invocation's own, e.g. ["-i", "0,1"] to pick GPUs. */
  extra_args: z.array(z.string()).default([]),
  /** Per-process GPU memory (`--query-compute-apps` in loop mode; part of `-q -x` in xml mode). */
  processes: z.boolean().default(true),
  /** How often the per-process query runs in loop mode. */
  processes_interval: durationSchema.default(10_000),
  /** Hard timeout of one-shot runs (`-q -x`, compute-apps, help); the run is killed after it. */
  exec_timeout: durationSchema.default(10_000),
  /** Loop mode: no output for this long → the child is killed and restarted. Default max(3 × interval, 5s). */
  stall_timeout: durationSchema.optional(),
  /** Loop mode: restart delay after the child ends, doubling up to restart_backoff_max. */
  restart_backoff: durationSchema.default(1_000),
  restart_backoff_max: durationSchema.default(60_000),
  /** used/total ratios at which memory pressure becomes medium, high, critical. */
  pressure_thresholds: pressureThresholdsSchema.default({ medium: 0.75, high: 0.85, critical: 0.95 }),
});

export type GpuOptions = z.output<typeof gpuOptionsSchema>;
