/**
 * Every real nvidia-smi output in ../shared/fixtures/nvidia-smi (and the plugin's own
 * testdata) parses, with the values Telegraf's own tests expect (after unit conversion),
 * and every capture file parses in every section, idle and load, with LF and CRLF endings.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { derive, type Gpu } from '../../../plugins/gpu/normalize.ts';
import { parseCapture, splitCapture } from '../../../plugins/gpu/parse/capture.ts';
import { parseNvidiaSmiXml } from '../../../plugins/gpu/parse/xml.ts';
import { FIXTURES, TESTDATA } from './support/fake-smi.ts';

const MiB = 1024 * 1024;

type Expected = { measurement: string; tags: Record<string, string>; fields: Record<string, number | string> };

/** Telegraf field → our value in Telegraf's units (MiB, %, W, °C, MHz, KB/s). */
const GPU_FIELDS: Record<string, (g: Gpu) => number | string | null> = {
  memory_total: (g) => mib(g.memoryTotalBytes),
  memory_used: (g) => mib(g.memoryUsedBytes),
  memory_free: (g) => mib(g.memoryFreeBytes),
  memory_reserved: (g) => mib(g.memoryReservedBytes),
  utilization_gpu: (g) => pct(g.utilizationGpu),
  utilization_memory: (g) => pct(g.utilizationMemory),
  utilization_encoder: (g) => pct(g.utilizationEncoder),
  utilization_decoder: (g) => pct(g.utilizationDecoder),
  utilization_jpeg: (g) => pct(g.utilizationJpeg),
  utilization_ofa: (g) => pct(g.utilizationOfa),
  temperature_gpu: (g) => g.temperatureC,
  temperature_memory: (g) => g.memoryTemperatureC,
  power_draw: (g) => g.powerDrawW,
  power_draw_average: (g) => g.powerDrawAverageW,
  power_limit: (g) => g.powerLimitW,
  power_limit_default: (g) => g.powerDefaultLimitW,
  power_limit_min: (g) => g.powerMinLimitW,
  power_limit_max: (g) => g.powerMaxLimitW,
  clocks_current_graphics: (g) => mhz(g.clockGraphicsHz),
  clocks_current_sm: (g) => mhz(g.clockSmHz),
  clocks_current_memory: (g) => mhz(g.clockMemoryHz),
  clocks_current_video: (g) => mhz(g.clockVideoHz),
  fan_speed: (g) => pct(g.fanSpeed),
  pcie_link_gen_current: (g) => g.pcieLinkGen,
  pcie_link_width_current: (g) => g.pcieLinkWidth,
  pcie_rx_util: (g) => kbs(g.pcieRxBytesPerSecond),
  pcie_tx_util: (g) => kbs(g.pcieTxBytesPerSecond),
  retired_pages_multiple_single_bit: (g) => g.retiredPagesSingleBit,
  retired_pages_double_bit: (g) => g.retiredPagesDoubleBit,
  retired_pages_pending: (g) => (g.retiredPagesPending === null ? null : g.retiredPagesPending ? 'Yes' : 'No'),
  driver_version: (g) => g.driverVersion,
  cuda_version: (g) => g.cudaVersion,
  vbios_version: (g) => g.vbiosVersion,
  serial: (g) => g.serial,
};
for (const r of ['gpu_idle', 'applications_clocks_setting', 'sw_power_cap', 'hw_slowdown', 'hw_thermal_slowdown', 'hw_power_brake_slowdown', 'sync_boost', 'sw_thermal_slowdown', 'display_clocks_setting'] as const) {
  GPU_FIELDS[`clocks_event_reason_${r}`] = (g) => g.clockEventReasons[r] ?? null;
}

/** Telegraf fields vigil deliberately does not model (named, so a new field fails the test). */
const NOT_MODELLED = /^(encoder_stats_|fbc_stats_|temperature_(max_|slow_|gpu_target)|power_limit_requested$|display_(mode|active)$|current_ecc$|clocks_event_reasons_counters_|ecc_errors_.*_repair_pending$|retired_pages_blacklist$)/;

const mib = (v: number | null): number | null => (v === null ? null : v / MiB);
const pct = (v: number | null): number | null => (v === null ? null : v * 100);
const mhz = (v: number | null): number | null => (v === null ? null : v / 1e6);
const kbs = (v: number | null): number | null => (v === null ? null : v / 1024);

function expectValue(actual: number | string | null, expected: number | string, where: string): void {
  if (typeof expected === 'number') {
    expect(actual, where).not.toBeNull();
    expect(typeof actual, where).toBe('number');
    expect(actual as number, where).toBeCloseTo(expected, 6);
  } else {
    expect(actual, where).toBe(expected);
  }
}

const expected = JSON.parse(readFileSync(join(FIXTURES, 'expected-telegraf.json'), 'utf8')) as Record<string, Expected[]>;
const xmlFiles = readdirSync(FIXTURES).filter((f) => f.endsWith('.xml'));

describe('XML fixtures match Telegraf expectations', () => {
  it('has fixtures to check', () => {
    expect(xmlFiles.length).toBeGreaterThanOrEqual(5);
    for (const f of xmlFiles) expect(expected[f], f).toBeDefined();
  });

  for (const file of xmlFiles) {
    it(file, () => {
      const r = parseNvidiaSmiXml(readFileSync(join(FIXTURES, file), 'utf8'));
      expect(r.errors.map((e) => e.message)).toEqual([]);
      const gpus = r.gpus.map((g) => derive(g));
      let checked = 0;
      for (const exp of expected[file]!) {
        if (exp.measurement === 'nvidia_smi') {
          const g = gpus.find((x) => x.uuid === exp.tags.uuid);
          expect(g, `${file} gpu ${exp.tags.uuid}`).toBeDefined();
          expect(g!.name).toBe(exp.tags.name);
          expect(String(g!.index)).toBe(exp.tags.index);
          expect(g!.pstate).toBe(exp.tags.pstate);
          if (exp.tags.arch) expect(g!.architecture).toBe(exp.tags.arch);
          if (exp.tags.compute_mode) expect(g!.computeMode).toBe(exp.tags.compute_mode);
          for (const [field, value] of Object.entries(exp.fields)) {
            const get = GPU_FIELDS[field];
            if (!get) {
              expect(field, `${file}: Telegraf field ${field} is neither compared nor listed as not modelled`).toMatch(NOT_MODELLED);
              continue;
            }
            expectValue(get(g!), value, `${file} ${field}`);
            checked++;
          }
        } else if (exp.measurement === 'nvidia_smi_mig') {
          const g = gpus.find((x) => x.uuid === exp.tags.uuid)!;
          const m = g.mig.find((x) => String(x.index) === exp.tags.index);
          expect(m, `${file} mig ${exp.tags.index}`).toBeDefined();
          expect(String(m!.gpuInstanceId)).toBe(exp.tags.gpu_index);
          expect(String(m!.computeInstanceId)).toBe(exp.tags.compute_index);
          const f = exp.fields;
          expectValue(mib(m!.memoryTotalBytes), f.memory_fb_total!, 'mig fb total');
          expectValue(mib(m!.memoryUsedBytes), f.memory_fb_used!, 'mig fb used');
          expectValue(mib(m!.memoryFreeBytes), f.memory_fb_free!, 'mig fb free');
          expectValue(mib(m!.memoryReservedBytes), f.memory_fb_reserved!, 'mig fb reserved');
          expectValue(mib(m!.bar1TotalBytes), f.memory_bar1_total!, 'mig bar1 total');
          expectValue(mib(m!.bar1UsedBytes), f.memory_bar1_used!, 'mig bar1 used');
          expectValue(mib(m!.bar1FreeBytes), f.memory_bar1_free!, 'mig bar1 free');
          checked += 7;
        } else if (exp.measurement === 'nvidia_smi_process') {
          const p = gpus.flatMap((g) => g.processes).find((x) => x.pid === exp.fields.pid);
          expect(p, `${file} pid ${exp.fields.pid}`).toBeDefined();
          expectValue(mib(p!.usedMemoryBytes), exp.fields.used_memory!, 'process used_memory');
          expect(p!.type).toBe(exp.tags.type);
          // Telegraf's expectation trims long command lines; ours keeps them whole.
          expect(p!.name!.startsWith(exp.tags.name!.trimEnd())).toBe(true);
          checked += 2;
        }
      }
      expect(checked).toBeGreaterThan(10);
      // Every process Telegraf saw (its T4 expectation lists none; see the T4 test below).
      expect(gpus.flatMap((g) => g.processes).length).toBeGreaterThanOrEqual(expected[file]!.filter((e) => e.measurement === 'nvidia_smi_process').length);
    });
  }

  it('Tesla T4 (schema v11): both processes, throttle reasons under their old element names', () => {
    const g = derive(parseNvidiaSmiXml(readFileSync(join(FIXTURES, 'tesla-t4.xml'), 'utf8')).gpus[0]!);
    expect(g.processes.map((p) => [p.pid, p.type, p.name, p.usedMemoryBytes])).toEqual([
      [675, 'G', '/usr/lib/xorg/Xorg', 22 * MiB],
      [5762, 'C', 'python', 1005 * MiB],
    ]);
    expect(Object.keys(g.clockEventReasons)).toHaveLength(9);
    expect(g.ecc.aggregateUncorrected).toBe(0);
  });

  it('A100 in MIG mode: 4 MIG devices, no utilization (N/A), memory pressure derived', () => {
    const g = derive(parseNvidiaSmiXml(readFileSync(join(FIXTURES, 'a100-sxm4-v12.xml'), 'utf8')).gpus[0]!);
    expect(g.migMode).toBe('Enabled');
    expect(g.mig).toHaveLength(4);
    expect(g.utilizationGpu).toBeNull();
    expect(g.memoryUtilization).toBeCloseTo(50 / 81920, 9);
    expect(g.memoryPressure).toBe('low');
    expect(g.memoryHeadroomBytes).toBe(80999 * MiB);
  });
});

const captureFiles = readdirSync(join(FIXTURES, 'captures')).filter((f) => f.endsWith('.txt'));

/** An independent, naive reading of a capture's query-gpu CSV: header → value strings. */
function naiveCsv(body: string): Record<string, string>[] {
  const [header, ...rows] = body.split(/\r?\n/).filter((l) => l.trim() !== '');
  const cols = header!.split(',').map((c) => c.trim().replace(/\s*\[.*\]$/, ''));
  return rows.map((r) => Object.fromEntries(r.split(',').map((v, i) => [cols[i]!, v.trim()])));
}

describe('capture files parse in every section, idle and load', () => {
  it('has captures to check', () => {
    expect(captureFiles.length).toBeGreaterThanOrEqual(4);
  });

  for (const file of captureFiles) {
    it(file, () => {
      const text = readFileSync(join(FIXTURES, 'captures', file), 'utf8');
      const sections = parseCapture(text);
      const names = sections.map((s) => s.section);
      expect(names).toContain('idle :: query-gpu');
      expect(names).toContain('load :: query-gpu');
      const raw = splitCapture(text);
      for (const s of sections) {
        expect(s.errors.map((e) => e.message), s.section).toEqual([]);
        expect(s.gpus.length, s.section).toBeGreaterThanOrEqual(1);
        const body = raw.find((r) => r.name === s.section)!.body;
        const rows = naiveCsv(body);
        expect(s.gpus).toHaveLength(rows.length);
        s.gpus.forEach((g, i) => {
          const row = rows[i]!;
          expect(g.uuid).toBe(row.uuid);
          expect(g.name).toBe(row.name);
          expect(g.index).toBe(Number(row.index));
          expect(g.pstate).toBe(row.pstate);
          expect(g.memoryTotalBytes).toBe(parseFloat(row['memory.total']!) * MiB);
          expect(g.memoryUsedBytes).toBe(parseFloat(row['memory.used']!) * MiB);
          expect(g.memoryFreeBytes).toBe(parseFloat(row['memory.free']!) * MiB);
          expect(g.memoryUtilization).toBeCloseTo(parseFloat(row['memory.used']!) / parseFloat(row['memory.total']!), 12);
          expect(g.powerDrawW).toBe(parseFloat(row['power.draw']!));
          expect(g.temperatureC).toBe(parseFloat(row['temperature.gpu']!));
          const util = row['utilization.gpu']!;
          if (util.startsWith('[')) expect(g.utilizationGpu).toBeNull();
          else expect(g.utilizationGpu).toBeCloseTo(parseFloat(util) / 100, 12);
          expect(g.clockSmHz).toBe(parseFloat(row['clocks.current.sm']!) * 1e6);
          expect(g.memoryPressure).not.toBeNull();
        });
        // Processes: as many as the same state's compute-apps section lists.
        const state = s.section.split(' :: ')[0];
        const apps = raw.find((r) => r.name === `${state} :: query-compute-apps`);
        const appRows = apps ? apps.body.split(/\r?\n/).filter((l) => l.trim() !== '').length - 1 : 0;
        expect(s.gpus.flatMap((g) => g.processes)).toHaveLength(appRows);
      }
    });

    it(`${file} with Windows line endings gives the same result`, () => {
      const text = readFileSync(join(FIXTURES, 'captures', file), 'utf8');
      const crlf = text.replace(/\r?\n/g, '\r\n');
      expect(crlf).not.toBe(text);
      const a = parseCapture(text).map((s) => ({ section: s.section, gpus: s.gpus, errors: s.errors.length }));
      const b = parseCapture(crlf).map((s) => ({ section: s.section, gpus: s.gpus, errors: s.errors.length }));
      expect(b).toEqual(a);
    });
  }

  it('H100 under load: 3 processes with their memory, utilization 100 %, power from the W column', () => {
    const text = readFileSync(join(FIXTURES, 'captures/linux-x86_64__nvidia-h100-80gb-hbm3__590.48.01.txt'), 'utf8');
    const load = parseCapture(text).find((s) => s.section === 'load :: query-gpu')!;
    const g = load.gpus[0]!;
    expect(g.utilizationGpu).toBe(1);
    expect(g.memoryUsedBytes).toBe(19818 * MiB);
    expect(g.powerDrawAverageW).toBe(631.95);
    expect(g.powerLimitW).toBe(700);
    expect(g.ecc.volatileUncorrected).toBe(0);
    expect(g.remappedRowsPending).toBe(0);
    expect(g.processes).toHaveLength(3);
    expect(g.processes.every((p) => p.usedMemoryBytes !== null && p.usedMemoryBytes > 0)).toBe(true);
  });

  it('Windows: per-process memory is [N/A] → null, not 0', () => {
    const text = readFileSync(join(FIXTURES, 'captures/windows-x86_64__nvidia-geforce-rtx-2080-super__591.86.txt'), 'utf8');
    const idle = parseCapture(text).find((s) => s.section === 'idle :: query-gpu')!;
    const procs = idle.gpus[0]!.processes;
    expect(procs.length).toBeGreaterThan(5);
    expect(procs.every((p) => p.usedMemoryBytes === null)).toBe(true);
    expect(procs.some((p) => p.name === 'C:\\Windows\\explorer.exe')).toBe(true);
  });
});

describe('the plugin testdata parses', () => {
  for (const file of readdirSync(TESTDATA).filter((f) => f.endsWith('.xml'))) {
    it(file, () => {
      const r = parseNvidiaSmiXml(readFileSync(join(TESTDATA, file), 'utf8'));
      expect(r.errors.map((e) => e.message)).toEqual([]);
      expect(r.gpus.length).toBeGreaterThanOrEqual(1);
      for (const g of r.gpus) expect(g.uuid).toMatch(/^GPU-/);
    });
  }

  it('synthetic legacy XML: single/double-bit ECC totals, remapped rows, MIG processes, throttle reasons', () => {
    const r = parseNvidiaSmiXml(readFileSync(join(TESTDATA, 'synthetic-legacy-ecc-mig.xml'), 'utf8'));
    expect(r.schemaVersion).toBe(9);
    const [a, b] = r.gpus.map((g) => derive(g));
    expect(a!.pciBusId).toBe('00000000:3B:00.0');
    expect(a!.ecc).toEqual({ volatileCorrected: 3, volatileUncorrected: 1, aggregateCorrected: 12, aggregateUncorrected: 2 });
    expect([a!.remappedRowsCorrectable, a!.remappedRowsUncorrectable, a!.remappedRowsPending, a!.remappedRowsFailure]).toEqual([2, 1, 1, 0]);
    expect([a!.retiredPagesSingleBit, a!.retiredPagesDoubleBit, a!.retiredPagesPending]).toEqual([0, 1, 1]);
    expect(a!.clockEventReasons).toEqual({ gpu_idle: 0, hw_thermal_slowdown: 1 });
    expect(a!.powerDrawW).toBe(245.1);
    expect(a!.powerLimitW).toBe(240); // the enforced limit wins over the requested one
    expect(a!.mig[0]!.memoryUtilization).toBeCloseTo(19000 / 20096, 12);
    expect(a!.processes[0]).toEqual({ pid: 31337, name: 'python3 train.py', type: 'C', usedMemoryBytes: 18990 * MiB, gpuInstanceId: 1, computeInstanceId: 0 });
    expect(b!.index).toBe(1);
    expect(b!.processes).toEqual([]);
    expect(b!.powerDrawW).toBeNull();
  });

  it('real-* captures from GPU machines, when present, parse without errors', () => {
    const dirs = existsSync(TESTDATA) ? readdirSync(TESTDATA).filter((d) => d.startsWith('real-')) : [];
    for (const d of dirs) {
      for (const f of readdirSync(join(TESTDATA, d))) {
        const text = readFileSync(join(TESTDATA, d, f), 'utf8');
        if (f.endsWith('.xml')) expect(parseNvidiaSmiXml(text).errors, `${d}/${f}`).toEqual([]);
        if (f.endsWith('.txt')) for (const s of parseCapture(text)) expect(s.errors, `${d}/${f} ${s.section}`).toEqual([]);
      }
    }
  });
});
