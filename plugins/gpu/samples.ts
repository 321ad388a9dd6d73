/** Turns normalized GPUs into samples of the metrics declared in metrics.ts. */
import type { Attributes, Sample } from '../../agent/plugin/api.ts';
import { M } from './metrics.ts';
import { CLOCK_EVENT_REASONS, PRESSURE_LEVELS, type Gpu, type GpuProcess } from './normalize.ts';
import { pstateNumber } from './parse/values.ts';

export function gpuAttributes(g: Gpu): Record<string, string | number> {
  const a: Record<string, string | number> = { 'hw.vendor': 'NVIDIA' };
  // The UUID is the stable identity; fall back to the bus id, then the index, so two GPUs
  // never share a series even when a driver hides UUIDs.
  a['hw.id'] = g.uuid ?? g.pciBusId ?? `gpu-${g.index ?? 0}`;
  if (g.name !== null) a['hw.name'] = g.name;
  if (g.index !== null) a['vigil.gpu.index'] = g.index;
  if (g.pciBusId !== null) a['vigil.gpu.pci_bus_id'] = g.pciBusId;
  return a;
}

function executableName(p: GpuProcess): string {
  if (p.name === null) return 'unknown';
  // Linux paths, Windows paths, and command lines with arguments all end up as the binary name.
  const first = p.name.trim().split(/\s+--?\w/)[0] ?? p.name;
  const base = first.split(/[\\/]/).pop() ?? first;
  return base.trim() || p.name;
}

/** Samples for one GPU, timestamped with when its output was read. */
export function gpuSamples(g: Gpu, timestamp: number, out: Sample[] = []): Sample[] {
  const attrs = gpuAttributes(g);
  const push = (metric: string, value: number | null, extra?: Attributes): void => {
    if (value === null || !Number.isFinite(value)) return;
    out.push({ metric, value, attributes: extra ? { ...attrs, ...extra } : attrs, timestamp });
  };
  push(M.memoryUsage, g.memoryUsedBytes);
  push(M.memoryLimit, g.memoryTotalBytes);
  push(M.memoryUtilization, g.memoryUtilization);
  push(M.memoryFree, g.memoryHeadroomBytes);
  push(M.memoryReserved, g.memoryReservedBytes);
  push(M.memoryPressure, g.memoryPressure === null ? null : PRESSURE_LEVELS.indexOf(g.memoryPressure));
  push(M.utilization, g.utilizationGpu, { 'hw.gpu.task': 'general' });
  push(M.utilization, g.utilizationEncoder, { 'hw.gpu.task': 'encoder' });
  push(M.utilization, g.utilizationDecoder, { 'hw.gpu.task': 'decoder' });
  push(M.utilization, g.utilizationJpeg, { 'hw.gpu.task': 'jpeg' });
  push(M.utilization, g.utilizationOfa, { 'hw.gpu.task': 'ofa' });
  push(M.memoryControllerUtilization, g.utilizationMemory);
  push(M.temperature, g.temperatureC, { 'hw.sensor_location': 'gpu' });
  push(M.temperature, g.memoryTemperatureC, { 'hw.sensor_location': 'memory' });
  push(M.powerDraw, g.powerDrawW);
  push(M.powerLimit, g.powerLimitW);
  push(M.clockFrequency, g.clockGraphicsHz, { 'vigil.gpu.clock': 'graphics' });
  push(M.clockFrequency, g.clockSmHz, { 'vigil.gpu.clock': 'sm' });
  push(M.clockFrequency, g.clockMemoryHz, { 'vigil.gpu.clock': 'memory' });
  push(M.clockFrequency, g.clockVideoHz, { 'vigil.gpu.clock': 'video' });
  push(M.performanceState, pstateNumber(g.pstate));
  push(M.fanSpeedRatio, g.fanSpeed);
  push(M.pcieLinkGeneration, g.pcieLinkGen);
  push(M.pcieLinkWidth, g.pcieLinkWidth);
  push(M.pcieThroughput, g.pcieTxBytesPerSecond, { 'network.io.direction': 'transmit' });
  push(M.pcieThroughput, g.pcieRxBytesPerSecond, { 'network.io.direction': 'receive' });
  for (const r of CLOCK_EVENT_REASONS) {
    const v = g.clockEventReasons[r];
    if (v !== undefined) push(M.clockEventActive, v, { 'nvidia.gpu.clock_event.reason': r });
  }
  push(M.eccErrors, g.ecc.volatileCorrected, { 'nvidia.gpu.ecc.scope': 'volatile', 'nvidia.gpu.ecc.type': 'corrected' });
  push(M.eccErrors, g.ecc.volatileUncorrected, { 'nvidia.gpu.ecc.scope': 'volatile', 'nvidia.gpu.ecc.type': 'uncorrected' });
  push(M.eccErrors, g.ecc.aggregateCorrected, { 'nvidia.gpu.ecc.scope': 'aggregate', 'nvidia.gpu.ecc.type': 'corrected' });
  push(M.eccErrors, g.ecc.aggregateUncorrected, { 'nvidia.gpu.ecc.scope': 'aggregate', 'nvidia.gpu.ecc.type': 'uncorrected' });
  push(M.retiredPages, g.retiredPagesSingleBit, { 'nvidia.gpu.retirement.cause': 'single_bit' });
  push(M.retiredPages, g.retiredPagesDoubleBit, { 'nvidia.gpu.retirement.cause': 'double_bit' });
  push(M.retiredPagesPending, g.retiredPagesPending);
  push(M.remappedRows, g.remappedRowsCorrectable, { 'nvidia.gpu.remap.cause': 'correctable' });
  push(M.remappedRows, g.remappedRowsUncorrectable, { 'nvidia.gpu.remap.cause': 'uncorrectable' });
  push(M.remappedRowsPending, g.remappedRowsPending);
  push(M.remappedRowsFailure, g.remappedRowsFailure);
  push(M.bar1Usage, g.bar1UsedBytes);
  push(M.bar1Limit, g.bar1TotalBytes);
  migSamples(g, timestamp, out);
  processSamples(g, timestamp, out);
  return out;
}

/** Memory samples of one GPU's MIG devices. */
export function migSamples(g: Gpu, timestamp: number, out: Sample[] = []): Sample[] {
  const attrs = gpuAttributes(g);
  for (const m of g.mig) {
    const a: Record<string, string | number> = { ...attrs };
    if (m.index !== null) a['nvidia.gpu.mig.index'] = m.index;
    if (m.gpuInstanceId !== null) a['nvidia.gpu.mig.gpu_instance_id'] = m.gpuInstanceId;
    if (m.computeInstanceId !== null) a['nvidia.gpu.mig.compute_instance_id'] = m.computeInstanceId;
    const push = (metric: string, value: number | null): void => {
      if (value !== null && Number.isFinite(value)) out.push({ metric, value, attributes: a, timestamp });
    };
    push(M.migMemoryUsage, m.memoryUsedBytes);
    push(M.migMemoryLimit, m.memoryTotalBytes);
    push(M.migMemoryUtilization, m.memoryUtilization);
  }
  return out;
}

/** Per-process memory samples of one GPU. */
export function processSamples(g: Gpu, timestamp: number, out: Sample[] = []): Sample[] {
  const attrs = gpuAttributes(g);
  for (const p of g.processes) {
    if (p.usedMemoryBytes === null) continue;
    const a: Record<string, string | number> = { ...attrs, 'process.pid': p.pid, 'process.executable.name': executableName(p) };
    if (p.gpuInstanceId !== null) a['nvidia.gpu.mig.gpu_instance_id'] = p.gpuInstanceId;
    if (p.computeInstanceId !== null) a['nvidia.gpu.mig.compute_instance_id'] = p.computeInstanceId;
    out.push({ metric: M.processMemoryUsage, value: p.usedMemoryBytes, attributes: a, timestamp });
  }
  return out;
}
