/**
 * The normalized GPU model: what both parsers (CSV and XML) produce and what the plugin turns
 * into samples and `vigil gpu parse` prints. Base units throughout (bytes, watts, °C, Hz,
 * ratios 0..1); `null` wherever the GPU or driver does not report a value.
 */

/** Clock-event ("throttle") reasons nvidia-smi knows, with their XML/CSV suffixes. */
export const CLOCK_EVENT_REASONS = [
  'gpu_idle',
  'applications_clocks_setting',
  'sw_power_cap',
  'hw_slowdown',
  'hw_thermal_slowdown',
  'hw_power_brake_slowdown',
  'sync_boost',
  'sw_thermal_slowdown',
  'display_clocks_setting',
] as const;
export type ClockEventReason = (typeof CLOCK_EVENT_REASONS)[number];

export type PressureLevel = 'low' | 'medium' | 'high' | 'critical';
export const PRESSURE_LEVELS: readonly PressureLevel[] = ['low', 'medium', 'high', 'critical'];

export interface PressureThresholds {
  readonly medium: number;
  readonly high: number;
  readonly critical: number;
}

export const DEFAULT_PRESSURE_THRESHOLDS: PressureThresholds = { medium: 0.75, high: 0.85, critical: 0.95 };

export interface GpuProcess {
  readonly pid: number;
  readonly name: string | null;
  /** `C` compute, `G` graphics, `C+G`; null from the CSV compute-apps query. */
  readonly type: string | null;
  readonly usedMemoryBytes: number | null;
  /** MIG instance the process runs in, when the GPU is partitioned. */
  readonly gpuInstanceId: number | null;
  readonly computeInstanceId: number | null;
}

export interface MigDevice {
  readonly index: number | null;
  readonly gpuInstanceId: number | null;
  readonly computeInstanceId: number | null;
  readonly memoryTotalBytes: number | null;
  readonly memoryUsedBytes: number | null;
  readonly memoryFreeBytes: number | null;
  readonly memoryReservedBytes: number | null;
  readonly bar1TotalBytes: number | null;
  readonly bar1UsedBytes: number | null;
  readonly bar1FreeBytes: number | null;
  readonly memoryUtilization: number | null;
}

export interface EccErrors {
  readonly volatileCorrected: number | null;
  readonly volatileUncorrected: number | null;
  readonly aggregateCorrected: number | null;
  readonly aggregateUncorrected: number | null;
}

export interface Gpu {
  readonly uuid: string | null;
  /** nvidia-smi's enumeration index (CSV `index`; XML: position in the output). */
  readonly index: number | null;
  readonly name: string | null;
  readonly pciBusId: string | null;
  readonly driverVersion: string | null;
  readonly cudaVersion: string | null;
  readonly architecture: string | null;
  readonly serial: string | null;
  readonly vbiosVersion: string | null;
  readonly computeMode: string | null;

  readonly memoryTotalBytes: number | null;
  readonly memoryUsedBytes: number | null;
  readonly memoryFreeBytes: number | null;
  readonly memoryReservedBytes: number | null;
  readonly bar1TotalBytes: number | null;
  readonly bar1UsedBytes: number | null;
  readonly bar1FreeBytes: number | null;

  readonly utilizationGpu: number | null;
  /** Memory-controller (bandwidth) busy ratio, NOT memory used/total (see memoryUtilization). */
  readonly utilizationMemory: number | null;
  readonly utilizationEncoder: number | null;
  readonly utilizationDecoder: number | null;
  readonly utilizationJpeg: number | null;
  readonly utilizationOfa: number | null;

  readonly temperatureC: number | null;
  readonly memoryTemperatureC: number | null;

  readonly powerDrawW: number | null;
  readonly powerDrawAverageW: number | null;
  /** The enforced (current) power limit. */
  readonly powerLimitW: number | null;
  readonly powerDefaultLimitW: number | null;
  readonly powerMinLimitW: number | null;
  readonly powerMaxLimitW: number | null;

  readonly clockGraphicsHz: number | null;
  readonly clockSmHz: number | null;
  readonly clockMemoryHz: number | null;
  readonly clockVideoHz: number | null;

  /** "P0" … "P15". */
  readonly pstate: string | null;
  /** Fan speed as a ratio of its maximum (0..1; can exceed 1 on some boards). */
  readonly fanSpeed: number | null;
  readonly pcieLinkGen: number | null;
  readonly pcieLinkWidth: number | null;
  readonly pcieTxBytesPerSecond: number | null;
  readonly pcieRxBytesPerSecond: number | null;

  /** 1 = active, 0 = not active; only the reasons this GPU/driver reports. */
  readonly clockEventReasons: Partial<Record<ClockEventReason, number>>;
  readonly ecc: EccErrors;
  readonly retiredPagesSingleBit: number | null;
  readonly retiredPagesDoubleBit: number | null;
  /** 1 when a page retirement waits for a reboot. */
  readonly retiredPagesPending: number | null;
  readonly remappedRowsCorrectable: number | null;
  readonly remappedRowsUncorrectable: number | null;
  readonly remappedRowsPending: number | null;
  readonly remappedRowsFailure: number | null;

  /** "Enabled" / "Disabled", null when the GPU has no MIG. */
  readonly migMode: string | null;
  readonly mig: readonly MigDevice[];
  readonly processes: readonly GpuProcess[];

  /** Derived: memoryUsedBytes / memoryTotalBytes (0..1). */
  readonly memoryUtilization: number | null;
  /** Derived from memoryUtilization and the configured thresholds. */
  readonly memoryPressure: PressureLevel | null;
  /**
   * Derived: bytes a new allocation can still get: reported free memory, or
   * total − used − reserved when free is not reported.
   */
  readonly memoryHeadroomBytes: number | null;
}

/** A Gpu before derivation: what a parser fills in. */
export type RawGpu = Omit<Gpu, 'memoryUtilization' | 'memoryPressure' | 'memoryHeadroomBytes'>;

export function emptyGpu(): { -readonly [K in keyof RawGpu]: RawGpu[K] } {
  return {
    uuid: null,
    index: null,
    name: null,
    pciBusId: null,
    driverVersion: null,
    cudaVersion: null,
    architecture: null,
    serial: null,
    vbiosVersion: null,
    computeMode: null,
    memoryTotalBytes: null,
    memoryUsedBytes: null,
    memoryFreeBytes: null,
    memoryReservedBytes: null,
    bar1TotalBytes: null,
    bar1UsedBytes: null,
    bar1FreeBytes: null,
    utilizationGpu: null,
    utilizationMemory: null,
    utilizationEncoder: null,
    utilizationDecoder: null,
    utilizationJpeg: null,
    utilizationOfa: null,
    temperatureC: null,
    memoryTemperatureC: null,
    powerDrawW: null,
    powerDrawAverageW: null,
    powerLimitW: null,
    powerDefaultLimitW: null,
    powerMinLimitW: null,
    powerMaxLimitW: null,
    clockGraphicsHz: null,
    clockSmHz: null,
    clockMemoryHz: null,
    clockVideoHz: null,
    pstate: null,
    fanSpeed: null,
    pcieLinkGen: null,
    pcieLinkWidth: null,
    pcieTxBytesPerSecond: null,
    pcieRxBytesPerSecond: null,
    clockEventReasons: {},
    ecc: { volatileCorrected: null, volatileUncorrected: null, aggregateCorrected: null, aggregateUncorrected: null },
    retiredPagesSingleBit: null,
    retiredPagesDoubleBit: null,
    retiredPagesPending: null,
    remappedRowsCorrectable: null,
    remappedRowsUncorrectable: null,
    remappedRowsPending: null,
    remappedRowsFailure: null,
    migMode: null,
    mig: [],
    processes: [],
  };
}

export function memoryRatio(used: number | null, total: number | null): number | null {
  if (used === null || total === null || total <= 0) return null;
  return used / total;
}

export function pressureLevel(ratio: number | null, t: PressureThresholds = DEFAULT_PRESSURE_THRESHOLDS): PressureLevel | null {
  if (ratio === null) return null;
  if (ratio >= t.critical) return 'critical';
  if (ratio >= t.high) return 'high';
  if (ratio >= t.medium) return 'medium';
  return 'low';
}

/** Adds the derived fields (memory utilization, pressure level, headroom). */
export function derive(raw: RawGpu, thresholds: PressureThresholds = DEFAULT_PRESSURE_THRESHOLDS): Gpu {
  const memoryUtilization = memoryRatio(raw.memoryUsedBytes, raw.memoryTotalBytes);
  let memoryHeadroomBytes = raw.memoryFreeBytes;
  if (memoryHeadroomBytes === null && raw.memoryTotalBytes !== null && raw.memoryUsedBytes !== null) {
    memoryHeadroomBytes = Math.max(0, raw.memoryTotalBytes - raw.memoryUsedBytes - (raw.memoryReservedBytes ?? 0));
  }
  return {
    ...raw,
    memoryUtilization,
    memoryPressure: pressureLevel(memoryUtilization, thresholds),
    memoryHeadroomBytes,
  };
}

function sameBus(a: string | null, b: string | null): boolean {
  return a !== null && b !== null && a === b;
}

/** A compute-apps row before it is attached to its GPU. */
export interface ProcessRow extends GpuProcess {
  readonly gpuUuid: string | null;
  readonly gpuBusId: string | null;
}

/**
 * Attaches compute-apps rows to their GPUs, by uuid, else by PCI bus id. Rows that match no
 * GPU are returned so the caller can count them.
 */
export function attachProcesses(gpus: readonly Gpu[], rows: readonly ProcessRow[]): { gpus: Gpu[]; unmatched: ProcessRow[] } {
  const byGpu = new Map<number, GpuProcess[]>();
  const unmatched: ProcessRow[] = [];
  for (const row of rows) {
    let i = row.gpuUuid !== null ? gpus.findIndex((g) => g.uuid === row.gpuUuid) : -1;
    if (i < 0) i = gpus.findIndex((g) => sameBus(g.pciBusId, row.gpuBusId));
    if (i < 0) {
      unmatched.push(row);
      continue;
    }
    const { gpuUuid: _u, gpuBusId: _b, ...proc } = row;
    let list = byGpu.get(i);
    if (!list) byGpu.set(i, (list = []));
    list.push(proc);
  }
  return { gpus: gpus.map((g, i) => (byGpu.has(i) ? { ...g, processes: byGpu.get(i)! } : g)), unmatched };
}
