/**
 * Parser for `nvidia-smi --query-gpu=... --format=csv[,noheader][,nounits]` and
 * `--query-compute-apps=...` output, and for `--help-query-gpu` (to learn which fields this
 * driver supports). Accepts headers with units (`memory.used [MiB]`), values with units
 * (`1234 MiB`), every "not reported" marker, Windows line endings, and field aliases.
 * Never throws on bad input: every problem becomes a GpuParseError in `errors`.
 */
import { CLOCK_EVENT_REASONS, emptyGpu, type ProcessRow, type RawGpu } from '../normalize.ts';
import { GpuParseError, excerpt } from './errors.ts';
import { isUnreadable, normalizeBusId, parseText, parseValue, type ValueKind } from './values.ts';

/** Query-gpu aliases (from `--help-query-gpu`: `"a" or "b"`) → the canonical name used here. */
const GPU_ALIASES: Record<string, string> = {
  gpu_name: 'name',
  gpu_serial: 'serial',
  gpu_uuid: 'uuid',
  gpu_bus_id: 'pci.bus_id',
  'clocks.gr': 'clocks.current.graphics',
  'clocks.sm': 'clocks.current.sm',
  'clocks.mem': 'clocks.current.memory',
  'clocks.video': 'clocks.current.video',
  'gpu.power.draw.average': 'power.draw.average',
  'gpu.power.draw.instant': 'power.draw.instant',
  'gpu.power.requested_limit': 'power.limit',
  'gpu.power.current_limit': 'enforced.power.limit',
  'gpu.power.default_limit': 'power.default_limit',
  'gpu.power.min_limit': 'power.min_limit',
  'gpu.power.max_limit': 'power.max_limit',
  'retired_pages.sbe': 'retired_pages.single_bit_ecc.count',
  'retired_pages.dbe': 'retired_pages.double_bit.count',
  'remapped_rows.sbe': 'remapped_rows.correctable',
  'remapped_rows.dbe': 'remapped_rows.uncorrectable',
};

const APPS_ALIASES: Record<string, string> = {
  name: 'process_name',
  used_memory: 'used_gpu_memory',
  uuid: 'gpu_uuid',
  'pci.bus_id': 'gpu_bus_id',
};

export function canonicalGpuField(name: string): string {
  const n = name.trim();
  if (n.startsWith('clocks_throttle_reasons.')) return `clocks_event_reasons.${n.slice('clocks_throttle_reasons.'.length)}`;
  return GPU_ALIASES[n] ?? n;
}

function canonicalAppsField(name: string): string {
  const n = name.trim();
  return APPS_ALIASES[n] ?? n;
}

/**
 * The fields the loop mode asks for, each as alternatives (newer name first). Only those the
 * driver lists in `--help-query-gpu` are requested: an unknown field makes nvidia-smi fail.
 */
export const WANTED_QUERY_FIELDS: readonly (readonly string[])[] = [
  ['index'],
  ['uuid'],
  ['name'],
  ['pci.bus_id'],
  ['driver_version'],
  ['pstate'],
  ['fan.speed'],
  ['memory.total'],
  ['memory.reserved'],
  ['memory.used'],
  ['memory.free'],
  ['utilization.gpu'],
  ['utilization.memory'],
  ['utilization.encoder'],
  ['utilization.decoder'],
  ['utilization.jpeg'],
  ['utilization.ofa'],
  ['temperature.gpu'],
  ['temperature.memory'],
  ['power.draw', 'power.draw.instant'],
  ['power.draw.average'],
  ['enforced.power.limit', 'power.limit'],
  ['power.default_limit'],
  ['power.min_limit'],
  ['power.max_limit'],
  ['clocks.current.graphics', 'clocks.gr'],
  ['clocks.current.sm', 'clocks.sm'],
  ['clocks.current.memory', 'clocks.mem'],
  ['clocks.current.video', 'clocks.video'],
  ['pcie.link.gen.current', 'pcie.link.gen.gpucurrent'],
  ['pcie.link.width.current'],
  ...CLOCK_EVENT_REASONS.map((r) => [`clocks_event_reasons.${r}`, `clocks_throttle_reasons.${r}`]),
  ['ecc.errors.corrected.volatile.total'],
  ['ecc.errors.uncorrected.volatile.total'],
  ['ecc.errors.corrected.aggregate.total'],
  ['ecc.errors.uncorrected.aggregate.total'],
  ['retired_pages.single_bit_ecc.count', 'retired_pages.sbe'],
  ['retired_pages.double_bit.count', 'retired_pages.dbe'],
  ['retired_pages.pending'],
  ['remapped_rows.correctable'],
  ['remapped_rows.uncorrectable'],
  ['remapped_rows.pending'],
  ['remapped_rows.failure'],
  ['mig.mode.current'],
];

/** Used when `--help-query-gpu` gives nothing usable: fields every driver of the last decade knows. */
export const LEGACY_QUERY_FIELDS: readonly string[] = [
  'index',
  'uuid',
  'name',
  'pci.bus_id',
  'driver_version',
  'pstate',
  'fan.speed',
  'memory.total',
  'memory.used',
  'memory.free',
  'utilization.gpu',
  'utilization.memory',
  'temperature.gpu',
  'power.draw',
  'power.limit',
  'clocks.gr',
  'clocks.sm',
  'clocks.mem',
  'clocks.video',
  'pcie.link.gen.current',
  'pcie.link.width.current',
];

export const COMPUTE_APPS_FIELDS: readonly string[] = ['gpu_uuid', 'gpu_bus_id', 'pid', 'process_name', 'used_gpu_memory'];

/** Field names (and aliases) listed by `nvidia-smi --help-query-gpu`. */
export function parseHelpQueryGpu(text: string): Set<string> {
  const names = new Set<string>();
  for (const line of text.split(/\r?\n/)) {
    // A field line is only quoted names joined by "or": `"clocks.current.sm" or "clocks.sm"`.
    if (!/^\s*"[^"]+"(\s+or\s+"[^"]+")*\s*$/.test(line)) continue;
    for (const m of line.matchAll(/"([^"]+)"/g)) {
      const name = m[1]!;
      if (/^[A-Za-z_][\w.]*$/.test(name)) names.add(name);
    }
  }
  return names;
}

/** Picks, for each wanted field, the first alternative this driver supports. */
export function chooseQueryFields(supported: ReadonlySet<string> | null): string[] {
  if (supported === null || !supported.has('uuid') || !supported.has('memory.used')) return [...LEGACY_QUERY_FIELDS];
  const out: string[] = [];
  for (const alts of WANTED_QUERY_FIELDS) {
    const pick = alts.find((a) => supported.has(a));
    if (pick !== undefined) out.push(pick);
  }
  return out;
}

interface Column {
  readonly name: string;
  readonly unit: string | undefined;
}

const HEADER_CELL_RE = /^([A-Za-z_][\w.]*)\s*(?:\[([^\]]*)\])?$/;

function splitRow(line: string): string[] {
  return line.split(',').map((c) => c.trim());
}

/** A header line names fields: every cell an identifier (with an optional `[unit]`), one of them known. */
function parseHeader(cells: readonly string[], known: (name: string) => boolean): Column[] | null {
  const cols: Column[] = [];
  let anyKnown = false;
  for (const cell of cells) {
    const m = HEADER_CELL_RE.exec(cell);
    if (!m) return null;
    const unit = m[2]?.trim();
    cols.push({ name: m[1]!, unit: unit === '' ? undefined : unit });
    if (known(m[1]!)) anyKnown = true;
  }
  return anyKnown ? cols : null;
}

const KNOWN_GPU_FIELDS = new Set<string>([...WANTED_QUERY_FIELDS.flat(), ...LEGACY_QUERY_FIELDS, 'timestamp', 'count', 'serial', 'vbios_version', 'compute_mode']);
const KNOWN_APPS_FIELDS = new Set<string>([...COMPUTE_APPS_FIELDS, 'timestamp', 'gpu_name', 'gpu_serial', 'name', 'used_memory']);

interface Table {
  readonly columns: Column[];
  readonly rows: { readonly line: number; readonly cells: string[] }[];
}

function readTable(
  text: string,
  source: string,
  fields: readonly string[] | undefined,
  known: (name: string) => boolean,
  errors: GpuParseError[],
  lineOffset: number,
  allowHeader = true,
): Table | null {
  const lines = text.split(/\r?\n/);
  let columns: Column[] | null = null;
  const rows: { line: number; cells: string[] }[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === '') continue;
    const cells = splitRow(line);
    if (allowHeader && columns === null && rows.length === 0) {
      const header = parseHeader(cells, known);
      if (header) {
        columns = header;
        continue;
      }
    }
    rows.push({ line: i + 1 + lineOffset, cells });
  }
  if (columns === null) {
    if (fields === undefined || fields.length === 0) {
      if (rows.length > 0) {
        errors.push(new GpuParseError('CSV has no header and no field list was given', { source, line: rows[0]!.line, excerpt: excerpt(lines.find((l) => l.trim() !== '') ?? '') }));
      }
      return null;
    }
    columns = fields.map((f) => ({ name: f, unit: undefined }));
  }
  return { columns, rows };
}

export interface CsvGpuResult {
  readonly gpus: RawGpu[];
  readonly errors: GpuParseError[];
}

/**
 * Parses `--query-gpu` output. `fields` names the columns when the output has no header
 * (`noheader`, as the loop mode asks for); a header in the text wins over it.
 */
export function parseQueryGpuCsv(text: string, fields?: readonly string[], lineOffset = 0, allowHeader = true): CsvGpuResult {
  const errors: GpuParseError[] = [];
  const gpus: RawGpu[] = [];
  const known = (n: string): boolean => KNOWN_GPU_FIELDS.has(canonicalGpuField(n)) || KNOWN_GPU_FIELDS.has(n);
  const table = readTable(text, 'csv', fields, known, errors, lineOffset, allowHeader);
  if (!table) return { gpus, errors };
  const canon = table.columns.map((c) => ({ name: canonicalGpuField(c.name), unit: c.unit }));
  for (const row of table.rows) {
    if (row.cells.length !== canon.length) {
      errors.push(new GpuParseError(`expected ${canon.length} values, got ${row.cells.length}`, { source: 'csv', line: row.line, excerpt: excerpt(row.cells.join(', ')) }));
      continue;
    }
    const cells = new Map<string, { raw: string; unit: string | undefined }>();
    canon.forEach((c, i) => cells.set(c.name, { raw: row.cells[i]!, unit: c.unit }));
    const gpu = gpuFromCells(cells, row.line, errors);
    if (gpu.uuid === null && gpu.index === null && gpu.pciBusId === null) {
      errors.push(new GpuParseError('row identifies no GPU (no uuid, index or bus id)', { source: 'csv', line: row.line, excerpt: excerpt(row.cells.join(', ')) }));
      continue;
    }
    gpus.push(gpu);
  }
  return { gpus, errors };
}

function gpuFromCells(cells: ReadonlyMap<string, { raw: string; unit: string | undefined }>, line: number, errors: GpuParseError[]): RawGpu {
  const num = (name: string, kind: ValueKind): number | null => {
    const c = cells.get(name);
    if (c === undefined) return null;
    const v = parseValue(c.raw, kind, c.unit);
    if (isUnreadable(v)) {
      errors.push(new GpuParseError(v.reason, { source: 'csv', line, field: name, excerpt: excerpt(c.raw) }));
      return null;
    }
    return v;
  };
  const txt = (name: string): string | null => parseText(cells.get(name)?.raw);
  const g = emptyGpu();
  g.index = num('index', 'count');
  g.uuid = txt('uuid');
  g.name = txt('name');
  g.pciBusId = normalizeBusId(txt('pci.bus_id'));
  g.driverVersion = txt('driver_version');
  g.serial = txt('serial');
  g.vbiosVersion = txt('vbios_version');
  g.computeMode = txt('compute_mode');
  g.pstate = txt('pstate');
  g.fanSpeed = num('fan.speed', 'ratio');
  g.memoryTotalBytes = num('memory.total', 'bytes');
  g.memoryReservedBytes = num('memory.reserved', 'bytes');
  g.memoryUsedBytes = num('memory.used', 'bytes');
  g.memoryFreeBytes = num('memory.free', 'bytes');
  g.utilizationGpu = num('utilization.gpu', 'ratio');
  g.utilizationMemory = num('utilization.memory', 'ratio');
  g.utilizationEncoder = num('utilization.encoder', 'ratio');
  g.utilizationDecoder = num('utilization.decoder', 'ratio');
  g.utilizationJpeg = num('utilization.jpeg', 'ratio');
  g.utilizationOfa = num('utilization.ofa', 'ratio');
  g.temperatureC = num('temperature.gpu', 'celsius');
  g.memoryTemperatureC = num('temperature.memory', 'celsius');
  g.powerDrawW = num('power.draw', 'watts') ?? num('power.draw.instant', 'watts');
  g.powerDrawAverageW = num('power.draw.average', 'watts');
  g.powerLimitW = num('enforced.power.limit', 'watts') ?? num('power.limit', 'watts');
  g.powerDefaultLimitW = num('power.default_limit', 'watts');
  g.powerMinLimitW = num('power.min_limit', 'watts');
  g.powerMaxLimitW = num('power.max_limit', 'watts');
  g.clockGraphicsHz = num('clocks.current.graphics', 'hz');
  g.clockSmHz = num('clocks.current.sm', 'hz');
  g.clockMemoryHz = num('clocks.current.memory', 'hz');
  g.clockVideoHz = num('clocks.current.video', 'hz');
  g.pcieLinkGen = num('pcie.link.gen.current', 'count') ?? num('pcie.link.gen.gpucurrent', 'count');
  g.pcieLinkWidth = num('pcie.link.width.current', 'count');
  const reasons: Partial<Record<(typeof CLOCK_EVENT_REASONS)[number], number>> = {};
  for (const r of CLOCK_EVENT_REASONS) {
    const v = num(`clocks_event_reasons.${r}`, 'active');
    if (v !== null) reasons[r] = v;
  }
  g.clockEventReasons = reasons;
  g.ecc = {
    volatileCorrected: num('ecc.errors.corrected.volatile.total', 'count'),
    volatileUncorrected: num('ecc.errors.uncorrected.volatile.total', 'count'),
    aggregateCorrected: num('ecc.errors.corrected.aggregate.total', 'count'),
    aggregateUncorrected: num('ecc.errors.uncorrected.aggregate.total', 'count'),
  };
  g.retiredPagesSingleBit = num('retired_pages.single_bit_ecc.count', 'count');
  g.retiredPagesDoubleBit = num('retired_pages.double_bit.count', 'count');
  g.retiredPagesPending = num('retired_pages.pending', 'yesno');
  g.remappedRowsCorrectable = num('remapped_rows.correctable', 'count');
  g.remappedRowsUncorrectable = num('remapped_rows.uncorrectable', 'count');
  g.remappedRowsPending = num('remapped_rows.pending', 'yesno');
  g.remappedRowsFailure = num('remapped_rows.failure', 'yesno');
  g.migMode = txt('mig.mode.current');
  return g;
}

export interface CsvAppsResult {
  readonly processes: ProcessRow[];
  readonly errors: GpuParseError[];
}

/** Parses `--query-compute-apps` output (header optional when `fields` is given). */
export function parseComputeAppsCsv(text: string, fields?: readonly string[], lineOffset = 0, allowHeader = true): CsvAppsResult {
  const errors: GpuParseError[] = [];
  const processes: ProcessRow[] = [];
  // "No running processes found" (older drivers print it instead of an empty table).
  if (/^\s*No running (compute )?processes found\s*$/im.test(text) && !/\d/.test(text.replace(/No running.*$/im, ''))) {
    return { processes, errors };
  }
  const table = readTable(text, 'compute-apps', fields, (n) => KNOWN_APPS_FIELDS.has(n), errors, lineOffset, allowHeader);
  if (!table) return { processes, errors };
  const canon = table.columns.map((c) => ({ name: canonicalAppsField(c.name), unit: c.unit }));
  const nameCol = canon.findIndex((c) => c.name === 'process_name');
  for (const row of table.rows) {
    let cells = row.cells;
    // nvidia-smi does not quote: a process name with commas spills into extra cells.
    if (cells.length > canon.length && nameCol >= 0) {
      const extra = cells.length - canon.length;
      cells = [...cells.slice(0, nameCol), cells.slice(nameCol, nameCol + extra + 1).join(', '), ...cells.slice(nameCol + extra + 1)];
    }
    if (cells.length !== canon.length) {
      errors.push(new GpuParseError(`expected ${canon.length} values, got ${cells.length}`, { source: 'compute-apps', line: row.line, excerpt: excerpt(row.cells.join(', ')) }));
      continue;
    }
    const get = (name: string): { raw: string; unit: string | undefined } | undefined => {
      const i = canon.findIndex((c) => c.name === name);
      return i < 0 ? undefined : { raw: cells[i]!, unit: canon[i]!.unit };
    };
    const pidCell = get('pid');
    const pid = pidCell ? parseValue(pidCell.raw, 'count') : null;
    if (pid === null || isUnreadable(pid) || !Number.isInteger(pid) || pid < 0) {
      errors.push(new GpuParseError('missing or invalid pid', { source: 'compute-apps', line: row.line, field: 'pid', excerpt: excerpt(pidCell?.raw ?? '') }));
      continue;
    }
    let used: number | null = null;
    const memCell = get('used_gpu_memory');
    if (memCell) {
      const v = parseValue(memCell.raw, 'bytes', memCell.unit);
      if (isUnreadable(v)) errors.push(new GpuParseError(v.reason, { source: 'compute-apps', line: row.line, field: 'used_gpu_memory', excerpt: excerpt(memCell.raw) }));
      else used = v;
    }
    processes.push({
      pid,
      name: parseText(get('process_name')?.raw),
      type: null,
      usedMemoryBytes: used,
      gpuInstanceId: null,
      computeInstanceId: null,
      gpuUuid: parseText(get('gpu_uuid')?.raw),
      gpuBusId: normalizeBusId(parseText(get('gpu_bus_id')?.raw)),
    });
  }
  return { processes, errors };
}
