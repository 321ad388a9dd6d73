import type { MetricSpec } from '../../agent/plugin/api.ts';

/** Every metric the system plugin emits (the README table is generated from this). */
export const SYSTEM_METRICS = [
  { name: 'system.cpu.utilization', kind: 'gauge', unit: '1', description: 'Share of CPU time in each mode over the last interval, all CPUs together (0..1).', attributes: ['cpu.mode'] },
  { name: 'vigil.system.cpu.busy', kind: 'gauge', unit: '1', description: 'Share of CPU time not idle or waiting on I/O over the last interval (0..1).', attributes: [] },
  { name: 'system.cpu.logical.count', kind: 'gauge', unit: '{cpu}', description: 'Logical CPUs.', attributes: [] },
  { name: 'system.cpu.load_average.1m', kind: 'gauge', unit: '{thread}', description: 'Load average over 1 minute.', attributes: [] },
  { name: 'system.cpu.load_average.5m', kind: 'gauge', unit: '{thread}', description: 'Load average over 5 minutes.', attributes: [] },
  { name: 'system.cpu.load_average.15m', kind: 'gauge', unit: '{thread}', description: 'Load average over 15 minutes.', attributes: [] },
  { name: 'system.memory.usage', kind: 'gauge', unit: 'By', description: 'Host memory by state (used = total − available).', attributes: ['system.memory.state'] },
  { name: 'system.memory.limit', kind: 'gauge', unit: 'By', description: 'Total host memory.', attributes: [] },
  { name: 'system.memory.utilization', kind: 'gauge', unit: '1', description: 'Used share of host memory (0..1).', attributes: ['system.memory.state'] },
  { name: 'system.linux.memory.available', kind: 'gauge', unit: 'By', description: 'MemAvailable: memory available for new work without swapping.', attributes: [] },
  { name: 'vigil.system.info', kind: 'gauge', unit: '1', description: 'Always 1; static host facts as attributes.', attributes: ['os.type', 'os.description', 'host.arch', 'host.cpu.model.name'] },
] as const satisfies readonly MetricSpec[];
