/**
 * Every metric the gpu plugin emits, declared once. Names follow the OpenTelemetry hardware
 * conventions (`hw.gpu.*`, attributes `hw.id`/`hw.name`/`hw.vendor`) where they define one,
 * `vigil.gpu.*` for vendor-neutral extras and `nvidia.*` for NVIDIA-only concepts.
 * Units: bytes, watts, Celsius, Hz, ratios 0..1.
 */
import type { MetricSpec } from '../../agent/plugin/api.ts';

/** Attributes every per-GPU series carries. `hw.id` is the GPU UUID. */
export const GPU_ATTRS = ['hw.id', 'hw.name', 'hw.vendor', 'vigil.gpu.index', 'vigil.gpu.pci_bus_id'] as const;
export const MIG_ATTRS = [...GPU_ATTRS, 'nvidia.gpu.mig.index', 'nvidia.gpu.mig.gpu_instance_id', 'nvidia.gpu.mig.compute_instance_id'] as const;
export const PROCESS_ATTRS = [...GPU_ATTRS, 'process.pid', 'process.executable.name', 'nvidia.gpu.mig.gpu_instance_id', 'nvidia.gpu.mig.compute_instance_id'] as const;

export const M = {
  memoryUsage: 'hw.gpu.memory.usage',
  memoryLimit: 'hw.gpu.memory.limit',
  memoryUtilization: 'hw.gpu.memory.utilization',
  memoryFree: 'vigil.gpu.memory.free',
  memoryReserved: 'vigil.gpu.memory.reserved',
  memoryPressure: 'vigil.gpu.memory.pressure',
  utilization: 'hw.gpu.utilization',
  memoryControllerUtilization: 'nvidia.gpu.memory_controller.utilization',
  temperature: 'vigil.gpu.temperature',
  powerDraw: 'vigil.gpu.power.draw',
  powerLimit: 'vigil.gpu.power.limit',
  clockFrequency: 'vigil.gpu.clock.frequency',
  performanceState: 'vigil.gpu.performance_state',
  fanSpeedRatio: 'vigil.gpu.fan.speed_ratio',
  pcieLinkGeneration: 'vigil.gpu.pcie.link.generation',
  pcieLinkWidth: 'vigil.gpu.pcie.link.width',
  pcieThroughput: 'vigil.gpu.pcie.throughput',
  clockEventActive: 'nvidia.gpu.clock_event.active',
  eccErrors: 'nvidia.gpu.ecc.errors',
  retiredPages: 'nvidia.gpu.retired_pages',
  retiredPagesPending: 'nvidia.gpu.retired_pages.pending',
  remappedRows: 'nvidia.gpu.remapped_rows',
  remappedRowsPending: 'nvidia.gpu.remapped_rows.pending',
  remappedRowsFailure: 'nvidia.gpu.remapped_rows.failure',
  bar1Usage: 'nvidia.gpu.bar1.memory.usage',
  bar1Limit: 'nvidia.gpu.bar1.memory.limit',
  processMemoryUsage: 'vigil.gpu.process.memory.usage',
  migMemoryUsage: 'vigil.gpu.mig.memory.usage',
  migMemoryLimit: 'vigil.gpu.mig.memory.limit',
  migMemoryUtilization: 'vigil.gpu.mig.memory.utilization',
  count: 'vigil.gpu.count',
  parseErrors: 'vigil.gpu.parse.errors',
  smiFailures: 'vigil.gpu.smi.failures',
  smiRestarts: 'vigil.gpu.smi.restarts',
} as const;

const gauge = (name: string, unit: string, description: string, attributes: readonly string[] = GPU_ATTRS, extra: Partial<MetricSpec> = {}): MetricSpec => ({
  name,
  kind: 'gauge',
  unit,
  description,
  attributes,
  ...extra,
});

export const GPU_METRICS: readonly MetricSpec[] = [
  gauge(M.memoryUsage, 'By', 'Framebuffer memory used.', GPU_ATTRS, { limit: M.memoryLimit }),
  gauge(M.memoryLimit, 'By', 'Framebuffer memory total.'),
  gauge(M.memoryUtilization, '1', 'Framebuffer memory used / total (0..1).'),
  gauge(M.memoryFree, 'By', 'Free framebuffer memory: the headroom a new allocation can still get (reported free, else total − used − reserved).', GPU_ATTRS, {
    exhaustion: 'down',
  }),
  gauge(M.memoryReserved, 'By', 'Framebuffer memory reserved by the driver and firmware.'),
  gauge(M.memoryPressure, '1', 'Memory pressure level from used/total and the configured thresholds: 0 low, 1 medium, 2 high, 3 critical.'),
  gauge(M.utilization, '1', 'Share of time the GPU engine named by hw.gpu.task was busy (general = SMs/graphics, encoder, decoder, jpeg, ofa).', [
    ...GPU_ATTRS,
    'hw.gpu.task',
  ]),
  gauge(M.memoryControllerUtilization, '1', 'Share of time device memory was being read or written (nvidia-smi utilization.memory; NOT used/total).'),
  gauge(M.temperature, 'Cel', 'Temperature at hw.sensor_location (gpu die or memory).', [...GPU_ATTRS, 'hw.sensor_location']),
  gauge(M.powerDraw, 'W', 'Power drawn by the GPU board.', GPU_ATTRS, { limit: M.powerLimit }),
  gauge(M.powerLimit, 'W', 'Enforced power limit.'),
  gauge(M.clockFrequency, 'Hz', 'Current clock frequency of the domain named by vigil.gpu.clock (graphics, sm, memory, video).', [...GPU_ATTRS, 'vigil.gpu.clock']),
  gauge(M.performanceState, '1', 'Performance state as a number: 0 (P0, maximum performance) … 15 (P15, minimum).'),
  gauge(M.fanSpeedRatio, '1', 'Fan speed as a ratio of its maximum (0..1).'),
  gauge(M.pcieLinkGeneration, '1', 'Current PCIe link generation.'),
  gauge(M.pcieLinkWidth, '{lane}', 'Current PCIe link width.'),
  gauge(M.pcieThroughput, 'By/s', 'PCIe throughput in the direction named by network.io.direction (XML mode only).', [...GPU_ATTRS, 'network.io.direction']),
  gauge(M.clockEventActive, '1', 'Whether the clock-event (throttle) reason named by nvidia.gpu.clock_event.reason is active: 1 yes, 0 no.', [
    ...GPU_ATTRS,
    'nvidia.gpu.clock_event.reason',
  ]),
  {
    name: M.eccErrors,
    kind: 'counter',
    unit: '{error}',
    description: 'ECC errors since the driver loaded (volatile) or over the GPU lifetime (aggregate); nvidia.gpu.ecc.type corrected or uncorrected.',
    attributes: [...GPU_ATTRS, 'nvidia.gpu.ecc.scope', 'nvidia.gpu.ecc.type'],
  },
  gauge(M.retiredPages, '{page}', 'Framebuffer pages retired, by cause (single_bit: multiple single-bit errors, double_bit).', [...GPU_ATTRS, 'nvidia.gpu.retirement.cause']),
  gauge(M.retiredPagesPending, '1', 'Whether a page retirement waits for a reboot: 1 yes, 0 no.'),
  gauge(M.remappedRows, '{row}', 'Memory rows remapped, by the kind of error that caused it (correctable, uncorrectable).', [...GPU_ATTRS, 'nvidia.gpu.remap.cause']),
  gauge(M.remappedRowsPending, '1', 'Whether a row remapping waits for a GPU reset: 1 yes, 0 no.'),
  gauge(M.remappedRowsFailure, '1', 'Whether a row remapping failed: 1 yes, 0 no.'),
  gauge(M.bar1Usage, 'By', 'BAR1 (host-mapped) memory used.', GPU_ATTRS, { limit: M.bar1Limit }),
  gauge(M.bar1Limit, 'By', 'BAR1 (host-mapped) memory total.'),
  gauge(M.processMemoryUsage, 'By', 'GPU memory used by one process (pid, executable name).', PROCESS_ATTRS),
  gauge(M.migMemoryUsage, 'By', 'Memory used in one MIG device.', MIG_ATTRS, { limit: M.migMemoryLimit }),
  gauge(M.migMemoryLimit, 'By', 'Memory total of one MIG device.', MIG_ATTRS),
  gauge(M.migMemoryUtilization, '1', 'Memory used / total of one MIG device (0..1).', MIG_ATTRS),
  gauge(M.count, '{gpu}', 'GPUs in the latest nvidia-smi output.', []),
  {
    name: M.parseErrors,
    kind: 'counter',
    unit: '{error}',
    description: 'nvidia-smi output that could not be read (garbage, truncated, unknown units), by vigil.gpu.source.',
    attributes: ['vigil.gpu.source'],
  },
  {
    name: M.smiFailures,
    kind: 'counter',
    unit: '{failure}',
    description: 'nvidia-smi runs that failed, by vigil.gpu.failure (timeout, stall, exit, spawn, busy, unavailable).',
    attributes: ['vigil.gpu.failure'],
  },
  {
    name: M.smiRestarts,
    kind: 'counter',
    unit: '{restart}',
    description: 'Restarts of the long-running nvidia-smi loop child (loop mode).',
    attributes: [],
  },
];
