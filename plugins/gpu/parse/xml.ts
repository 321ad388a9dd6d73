/**
 * Parser for `nvidia-smi -q -x` (DTD nvsmi_device_v10 … v13 and what the next ones will
 * likely keep). Element names that moved between schema versions are read from each place
 * they have lived: power_readings → gpu_power_readings, power_draw → instant_power_draw,
 * clocks_throttle_reasons → clocks_event_reasons, sram_uncorrectable → _parity + _secded.
 * Invalid or truncated XML throws GpuParseError; bad single values are reported in `errors`.
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { CLOCK_EVENT_REASONS, emptyGpu, memoryRatio, type ClockEventReason, type GpuProcess, type MigDevice, type RawGpu } from '../normalize.ts';
import { GpuParseError, excerpt } from './errors.ts';
import { isUnreadable, normalizeBusId, parseText, parseValue, type ValueKind } from './values.ts';

type XNode = string | number | boolean | null | undefined | XNode[] | { [k: string]: XNode };
type XObj = { [k: string]: XNode };

const SUPPORTED_CLOCKS_RE = /<supported_clocks>[\s\S]*?<\/supported_clocks>/g;

const ARRAY_TAGS = new Set(['gpu', 'mig_device', 'process_info']);

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  // nvidia-smi output holds no entities worth expanding; not expanding also rules out entity tricks.
  processEntities: false,
  isArray: (name) => ARRAY_TAGS.has(name),
});

function isObj(n: XNode): n is XObj {
  return typeof n === 'object' && n !== null && !Array.isArray(n);
}

function child(n: XNode, ...path: string[]): XNode {
  let cur: XNode = n;
  for (const p of path) {
    if (!isObj(cur)) return undefined;
    cur = cur[p];
  }
  return cur;
}

/** Text of an element: plain string, or `#text` when the element has attributes. */
function text(n: XNode, ...path: string[]): string | undefined {
  const v = child(n, ...path);
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (isObj(v) && typeof v['#text'] === 'string') return v['#text'];
  return undefined;
}

function list(n: XNode): XObj[] {
  if (Array.isArray(n)) return n.filter(isObj);
  return isObj(n) ? [n] : [];
}

export interface XmlResult {
  readonly gpus: RawGpu[];
  readonly errors: GpuParseError[];
  /** DTD version from the DOCTYPE (`nvsmi_device_v12.dtd` → 12), when present. */
  readonly schemaVersion: number | null;
}

/** Parses one `nvidia-smi -q -x` document. Throws GpuParseError when it is not one. */
export function parseNvidiaSmiXml(input: string, lineOffset = 0): XmlResult {
  // <supported_clocks> (hundreds of clock pairs on big GPUs) is most of the document and
  // nothing vigil reads: cut complete sections before validating and parsing (4× faster),
  // keeping their newlines so error line numbers still match the input. An unclosed section
  // (truncated output) is left in place and fails validation.
  const xml = input.replace(SUPPORTED_CLOCKS_RE, (m) => '\n'.repeat(m.split('\n').length - 1));
  const valid = XMLValidator.validate(xml);
  if (valid !== true) {
    const e = valid.err;
    const lines = xml.split(/\r?\n/);
    throw new GpuParseError(`invalid XML: ${e.msg}`, { source: 'xml', line: e.line + lineOffset, excerpt: excerpt(lines[e.line - 1] ?? '') });
  }
  let doc: XNode;
  try {
    doc = parser.parse(xml) as XNode;
  } catch (err) {
    throw new GpuParseError(`invalid XML: ${err instanceof Error ? err.message : String(err)}`, { source: 'xml' });
  }
  const root = child(doc, 'nvidia_smi_log');
  if (!isObj(root)) {
    throw new GpuParseError('not nvidia-smi XML: no <nvidia_smi_log> root element', { source: 'xml', excerpt: excerpt(xml.slice(0, 200)) });
  }
  const dtd = /nvsmi_device_v(\d+)\.dtd/.exec(xml.slice(0, 500));
  const errors: GpuParseError[] = [];
  const gpus = list(root['gpu']).map((g, i) => gpuFromXml(g, i, root, errors));
  return { gpus, errors, schemaVersion: dtd ? Number(dtd[1]) : null };
}

function gpuFromXml(x: XObj, position: number, root: XObj, errors: GpuParseError[]): RawGpu {
  const where = `gpu[${position}]`;
  const num = (kind: ValueKind, ...path: string[]): number | null => {
    const raw = text(x, ...path);
    if (raw === undefined) return null;
    const v = parseValue(raw, kind);
    if (isUnreadable(v)) {
      errors.push(new GpuParseError(v.reason, { source: 'xml', field: `${where}/${path.join('/')}`, excerpt: excerpt(raw) }));
      return null;
    }
    return v;
  };
  const txt = (...path: string[]): string | null => parseText(text(x, ...path));

  const g = emptyGpu();
  g.index = position;
  g.uuid = txt('uuid');
  g.name = txt('product_name');
  g.pciBusId = normalizeBusId(parseText(text(x, 'pci', 'pci_bus_id')) ?? parseText(text(x, '@_id')));
  g.driverVersion = parseText(text(root, 'driver_version'));
  g.cudaVersion = parseText(text(root, 'cuda_version'));
  g.architecture = txt('product_architecture');
  g.serial = txt('serial');
  g.vbiosVersion = txt('vbios_version');
  g.computeMode = txt('compute_mode');
  g.pstate = txt('performance_state');
  g.fanSpeed = num('ratio', 'fan_speed');

  g.memoryTotalBytes = num('bytes', 'fb_memory_usage', 'total');
  g.memoryUsedBytes = num('bytes', 'fb_memory_usage', 'used');
  g.memoryFreeBytes = num('bytes', 'fb_memory_usage', 'free');
  g.memoryReservedBytes = num('bytes', 'fb_memory_usage', 'reserved');
  g.bar1TotalBytes = num('bytes', 'bar1_memory_usage', 'total');
  g.bar1UsedBytes = num('bytes', 'bar1_memory_usage', 'used');
  g.bar1FreeBytes = num('bytes', 'bar1_memory_usage', 'free');

  g.utilizationGpu = num('ratio', 'utilization', 'gpu_util');
  g.utilizationMemory = num('ratio', 'utilization', 'memory_util');
  g.utilizationEncoder = num('ratio', 'utilization', 'encoder_util');
  g.utilizationDecoder = num('ratio', 'utilization', 'decoder_util');
  g.utilizationJpeg = num('ratio', 'utilization', 'jpeg_util');
  g.utilizationOfa = num('ratio', 'utilization', 'ofa_util');

  g.temperatureC = num('celsius', 'temperature', 'gpu_temp');
  g.memoryTemperatureC = num('celsius', 'temperature', 'memory_temp');

  // v12+ has gpu_power_readings (and module_power_readings); v11 and older power_readings.
  const pr = isObj(x['gpu_power_readings']) ? 'gpu_power_readings' : 'power_readings';
  g.powerDrawW = num('watts', pr, 'power_draw') ?? num('watts', pr, 'instant_power_draw');
  g.powerDrawAverageW = num('watts', pr, 'average_power_draw');
  g.powerLimitW = num('watts', pr, 'current_power_limit') ?? num('watts', pr, 'enforced_power_limit') ?? num('watts', pr, 'power_limit');
  g.powerDefaultLimitW = num('watts', pr, 'default_power_limit');
  g.powerMinLimitW = num('watts', pr, 'min_power_limit');
  g.powerMaxLimitW = num('watts', pr, 'max_power_limit');

  g.clockGraphicsHz = num('hz', 'clocks', 'graphics_clock');
  g.clockSmHz = num('hz', 'clocks', 'sm_clock');
  g.clockMemoryHz = num('hz', 'clocks', 'mem_clock');
  g.clockVideoHz = num('hz', 'clocks', 'video_clock');

  g.pcieLinkGen = num('count', 'pci', 'pci_gpu_link_info', 'pcie_gen', 'current_link_gen');
  g.pcieLinkWidth = num('count', 'pci', 'pci_gpu_link_info', 'link_widths', 'current_link_width');
  g.pcieTxBytesPerSecond = num('bytesPerSecond', 'pci', 'tx_util');
  g.pcieRxBytesPerSecond = num('bytesPerSecond', 'pci', 'rx_util');

  const reasons: Partial<Record<ClockEventReason, number>> = {};
  const [reasonNode, prefix] = isObj(x['clocks_event_reasons'])
    ? ['clocks_event_reasons', 'clocks_event_reason_']
    : ['clocks_throttle_reasons', 'clocks_throttle_reason_'];
  for (const r of CLOCK_EVENT_REASONS) {
    const v = num('active', reasonNode, `${prefix}${r}`);
    if (v !== null) reasons[r] = v;
  }
  g.clockEventReasons = reasons;

  const eccSum = (scope: string, names: readonly (readonly string[])[]): number | null => {
    // Each entry: alternatives for one counter (the first present wins), summed over entries.
    let sum: number | null = null;
    for (const alts of names) {
      for (const path of alts) {
        const v = num('count', 'ecc_errors', scope, ...path.split('/'));
        if (v !== null) {
          sum = (sum ?? 0) + v;
          break;
        }
      }
    }
    return sum;
  };
  const corrected = [['sram_correctable', 'single_bit/total'], ['dram_correctable']];
  const uncorrected = [['sram_uncorrectable', 'double_bit/total'], ['sram_uncorrectable_parity'], ['sram_uncorrectable_secded'], ['dram_uncorrectable']];
  g.ecc = {
    volatileCorrected: eccSum('volatile', corrected),
    volatileUncorrected: eccSum('volatile', uncorrected),
    aggregateCorrected: eccSum('aggregate', corrected),
    aggregateUncorrected: eccSum('aggregate', uncorrected),
  };

  g.retiredPagesSingleBit = num('count', 'retired_pages', 'multiple_single_bit_retirement', 'retired_count');
  g.retiredPagesDoubleBit = num('count', 'retired_pages', 'double_bit_retirement', 'retired_count');
  g.retiredPagesPending = num('yesno', 'retired_pages', 'pending_retirement');
  if (isObj(x['remapped_rows'])) {
    g.remappedRowsCorrectable = num('count', 'remapped_rows', 'remapped_row_corr');
    g.remappedRowsUncorrectable = num('count', 'remapped_rows', 'remapped_row_unc');
    g.remappedRowsPending = num('yesno', 'remapped_rows', 'remapped_row_pending');
    g.remappedRowsFailure = num('yesno', 'remapped_rows', 'remapped_row_failure');
  }

  g.migMode = txt('mig_mode', 'current_mig');
  g.mig = list(child(x, 'mig_devices', 'mig_device')).map((m, i) => migFromXml(m, `${where}/mig_device[${i}]`, errors));
  g.processes = list(child(x, 'processes', 'process_info')).flatMap((p, i) => {
    const proc = processFromXml(p, `${where}/process_info[${i}]`, errors);
    return proc ? [proc] : [];
  });
  return g;
}

function numAt(n: XNode, kind: ValueKind, where: string, errors: GpuParseError[], ...path: string[]): number | null {
  const raw = text(n, ...path);
  if (raw === undefined) return null;
  const v = parseValue(raw, kind);
  if (isUnreadable(v)) {
    errors.push(new GpuParseError(v.reason, { source: 'xml', field: `${where}/${path.join('/')}`, excerpt: excerpt(raw) }));
    return null;
  }
  return v;
}

function migFromXml(m: XObj, where: string, errors: GpuParseError[]): MigDevice {
  const n = (kind: ValueKind, ...path: string[]) => numAt(m, kind, where, errors, ...path);
  const total = n('bytes', 'fb_memory_usage', 'total');
  const used = n('bytes', 'fb_memory_usage', 'used');
  return {
    index: n('count', 'index'),
    gpuInstanceId: n('count', 'gpu_instance_id'),
    computeInstanceId: n('count', 'compute_instance_id'),
    memoryTotalBytes: total,
    memoryUsedBytes: used,
    memoryFreeBytes: n('bytes', 'fb_memory_usage', 'free'),
    memoryReservedBytes: n('bytes', 'fb_memory_usage', 'reserved'),
    bar1TotalBytes: n('bytes', 'bar1_memory_usage', 'total'),
    bar1UsedBytes: n('bytes', 'bar1_memory_usage', 'used'),
    bar1FreeBytes: n('bytes', 'bar1_memory_usage', 'free'),
    memoryUtilization: memoryRatio(used, total),
  };
}

function processFromXml(p: XObj, where: string, errors: GpuParseError[]): GpuProcess | null {
  const n = (kind: ValueKind, ...path: string[]) => numAt(p, kind, where, errors, ...path);
  const pid = n('count', 'pid');
  if (pid === null || !Number.isInteger(pid) || pid < 0) {
    errors.push(new GpuParseError('missing or invalid pid', { source: 'xml', field: `${where}/pid`, excerpt: excerpt(text(p, 'pid') ?? '') }));
    return null;
  }
  return {
    pid,
    name: parseText(text(p, 'process_name')),
    type: parseText(text(p, 'type')),
    usedMemoryBytes: n('bytes', 'used_memory'),
    gpuInstanceId: n('count', 'gpu_instance_id'),
    computeInstanceId: n('count', 'compute_instance_id'),
  };
}
