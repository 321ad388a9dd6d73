/**
 * gpu plugin: NVIDIA GPUs through nvidia-smi (no NVML binding). See README.md.
 */
import { definePlugin } from '../../agent/plugin/api.ts';
import { zodOptions } from '../../agent/plugin/zod-options.ts';
import { GpuCollector } from './collector.ts';
import { gpuOptionsSchema, type GpuOptions } from './config.ts';
import { GPU_METRICS } from './metrics.ts';

export default definePlugin<GpuOptions>({
  name: 'gpu',
  description: 'NVIDIA GPUs through nvidia-smi: memory, utilization, power, clocks, throttling, ECC, per-process and MIG memory, memory pressure',
  metrics: GPU_METRICS,
  parseOptions: zodOptions(gpuOptionsSchema),
  create: (options, ctx) => new GpuCollector(options, ctx),
});
