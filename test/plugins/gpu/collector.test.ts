/**
 * The plugin against fake nvidia-smi executables: loop mode streaming rows, garbage, a child
 * dying mid-stream, a stalled child, the driver-failure message, a missing binary; xml mode
 * with good, truncated and hung output. After each: no fake nvidia-smi process left.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { CollectContext, PluginLogger, Sample } from '../../../agent/plugin/api.ts';
import plugin from '../../../plugins/gpu/index.ts';
import type { GpuCollector } from '../../../plugins/gpu/collector.ts';
import type { GpuOptions } from '../../../plugins/gpu/config.ts';
import { GPU_METRICS, M } from '../../../plugins/gpu/metrics.ts';
import { eventually, fakeUsedMiB, makeFakeSmi, processesWithMarker, TESTDATA, zombieChildren, type FakeSmi, type Scenario } from './support/fake-smi.ts';

const MiB = 1024 * 1024;
const logs: { level: string; msg: string }[] = [];
const logger: PluginLogger = {
  debug: (o, m) => logs.push({ level: 'debug', msg: `${m ?? ''} ${JSON.stringify(o)}` }),
  info: (o, m) => logs.push({ level: 'info', msg: `${m ?? ''} ${JSON.stringify(o)}` }),
  warn: (o, m) => logs.push({ level: 'warn', msg: `${m ?? ''} ${JSON.stringify(o)}` }),
  error: (o, m) => logs.push({ level: 'error', msg: `${m ?? ''} ${JSON.stringify(o)}` }),
};

const fakes: FakeSmi[] = [];
const instances: GpuCollector[] = [];

function options(raw: Record<string, unknown>): GpuOptions {
  const r = plugin.parseOptions(raw);
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  return r.value;
}

function setup(scenario: Scenario, raw: Record<string, unknown> = {}, intervalMs = 100, fakeOpts: Parameters<typeof makeFakeSmi>[1] = {}): { f: FakeSmi; c: GpuCollector } {
  const f = makeFakeSmi(scenario, fakeOpts);
  fakes.push(f);
  const c = plugin.create(options({ binary: f.path, restart_backoff: '100ms', ...raw }), { instance: 'gpu', logger, intervalMs, configDir: '/' }) as GpuCollector;
  instances.push(c);
  return { f, c };
}

function ctx(timeoutMs = 2000): CollectContext {
  return { signal: AbortSignal.timeout(timeoutMs), now: Date.now(), logger };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const of = (samples: readonly Sample[], metric: string): Sample[] => samples.filter((s) => s.metric === metric);
const counter = (samples: readonly Sample[], metric: string, attr: string, value: string): number =>
  samples.find((s) => s.metric === metric && s.attributes?.[attr] === value)?.value ?? -1;

/** Every sample uses a declared metric and only its declared attribute keys. */
function expectDeclared(samples: readonly Sample[]): void {
  for (const s of samples) {
    const spec = GPU_METRICS.find((m) => m.name === s.metric);
    expect(spec, s.metric).toBeDefined();
    for (const k of Object.keys(s.attributes ?? {})) expect(spec!.attributes, `${s.metric} attribute ${k}`).toContain(k);
    expect(Number.isFinite(s.value)).toBe(true);
  }
}

afterEach(async () => {
  await Promise.all(instances.splice(0).map((c) => c.stop()));
});

afterAll(async () => {
  for (const f of fakes) {
    expect(await eventually(() => processesWithMarker(f.marker).length === 0, 3000), `leftover processes of ${f.marker}`).toBe(true);
    f.cleanup();
  }
  expect(zombieChildren()).toEqual([]);
});

describe('loop mode', () => {
  it('streams rows from ONE long-running child; each row reported once, with its own timestamp', async () => {
    const { f, c } = setup('ok', { processes_interval: '100ms' });
    await c.start();
    expect(c.queryFields).toContain('clocks.current.sm');
    const first = await c.collect(ctx());
    expect(await eventually(() => c.bufferedRows >= 6, 5000)).toBe(true);
    const second = await c.collect(ctx());
    expectDeclared([...first, ...second]);

    const used = of(second, M.memoryUsage);
    const gpu0 = used.filter((s) => s.attributes?.['hw.id'] === 'GPU-11111111-1111-1111-1111-111111111111');
    const gpu1 = used.filter((s) => s.attributes?.['hw.id'] === 'GPU-22222222-2222-2222-2222-222222222222');
    expect(gpu0.length).toBeGreaterThanOrEqual(2); // every row since the last collection
    expect(Math.abs(gpu1.length - gpu0.length)).toBeLessThanOrEqual(1); // a collection may fall between the two rows of a tick
    // Rows are in order, distinct, growing by 1 MiB per row as the fake prints them.
    for (let i = 1; i < gpu0.length; i++) {
      expect(gpu0[i]!.value - gpu0[i - 1]!.value).toBe(MiB);
      expect(gpu0[i]!.timestamp!).toBeGreaterThanOrEqual(gpu0[i - 1]!.timestamp!);
    }
    const allUsed = [...of(first, M.memoryUsage), ...used].filter((s) => s.attributes?.['hw.id'] === gpu0[0]!.attributes!['hw.id']);
    expect(new Set(allUsed.map((s) => s.value)).size).toBe(allUsed.length); // never the same row twice
    expect(allUsed[0]!.value).toBe(fakeUsedMiB(0, 0) * MiB);

    const attrs = gpu0[0]!.attributes!;
    expect(attrs).toMatchObject({ 'hw.vendor': 'NVIDIA', 'hw.name': 'NVIDIA H100 80GB HBM3', 'vigil.gpu.index': 0, 'vigil.gpu.pci_bus_id': '00000000:00:09.0' });
    expect(of(second, M.utilization).find((s) => s.attributes?.['hw.id'] === attrs['hw.id'] && s.attributes?.['hw.gpu.task'] === 'general')?.value).toBe(1);
    expect(of(second, M.clockEventActive).find((s) => s.attributes?.['nvidia.gpu.clock_event.reason'] === 'sw_power_cap')?.value).toBe(1);
    expect(of(second, M.powerDraw).filter((s) => s.attributes?.['hw.id'] === 'GPU-22222222-2222-2222-2222-222222222222')).toEqual([]); // [Unknown Error]
    expect(of(second, M.memoryPressure).length).toBeGreaterThan(0);
    expect(of(second, M.count).at(-1)?.value).toBe(2);

    // Per-process memory from the compute-apps query, attached by uuid.
    const procs = [...of(first, M.processMemoryUsage), ...of(second, M.processMemoryUsage)];
    expect(procs).toHaveLength(1); // the second process reports [N/A]; the result is emitted once
    expect(procs[0]!.value).toBe(19000 * MiB);
    expect(procs[0]!.attributes).toMatchObject({ 'process.pid': 4242, 'process.executable.name': 'python3', 'hw.id': 'GPU-11111111-1111-1111-1111-111111111111' });

    // Nothing new since the last collection → no GPU values (not the old ones again).
    const third = await c.collect(ctx());
    expect(of(third, M.memoryUsage).length).toBeLessThanOrEqual(2);

    const loops = f.invocations().filter((l) => l.includes('--query-gpu='));
    expect(loops).toHaveLength(1);
    expect(loops[0]).toMatch(/--format=csv,noheader,nounits -lms 100$/);
    expect(counter(second, M.parseErrors, 'vigil.gpu.source', 'csv')).toBe(0);
    await c.stop();
    expect(processesWithMarker(f.marker)).toEqual([]);
  });

  it('a GPU in MIG mode: the side query becomes -q -x, and MIG devices are reported under the loop GPU identity', async () => {
    const a100 = readFileSync(join(TESTDATA, 'a100-sxm4-v12.xml'), 'utf8').replace('GPU-513536b6-7d19-9063-b049-1e69664bb298', 'GPU-11111111-1111-1111-1111-111111111111');
    const { f, c } = setup('ok', { processes_interval: '100ms' }, 100, { xml: a100, gpu0: { 'mig.mode.current': 'Enabled' } });
    await c.start();
    const samples: Sample[] = [];
    expect(
      await eventually(() => {
        void c.collect(ctx()).then((s) => samples.push(...s));
        return samples.some((s) => s.metric === M.migMemoryUsage);
      }, 5000, 150),
    ).toBe(true);
    expectDeclared(samples);
    const mig = of(samples, M.migMemoryUsage);
    expect(mig).toHaveLength(4);
    expect(mig.map((s) => s.attributes?.['nvidia.gpu.mig.gpu_instance_id']).sort()).toEqual([3, 4, 5, 6]);
    expect(mig.every((s) => s.attributes?.['hw.id'] === 'GPU-11111111-1111-1111-1111-111111111111' && s.attributes?.['vigil.gpu.pci_bus_id'] === '00000000:00:09.0')).toBe(true);
    expect(mig[0]!.value).toBe(12 * MiB);
    expect(of(samples, M.migMemoryLimit).find((s) => s.attributes?.['nvidia.gpu.mig.index'] === 0)?.value).toBe(19968 * MiB);
    expect(f.invocations().some((l) => l === '-q -x')).toBe(true);
    // Only the very first side query (before any row told the GPU is in MIG mode) was compute-apps.
    expect(f.invocations().filter((l) => l.includes('--query-compute-apps')).length).toBeLessThanOrEqual(1);
  });

  it('garbage and malformed rows are counted with context, good rows still reported, nothing crashes', async () => {
    logs.length = 0;
    const { c } = setup('garbage', { processes: false });
    await c.start();
    // Rows 0..3 (and the garbage after rows 0 and 1, the "hot" value in row 2) have arrived.
    expect(await eventually(() => c.bufferedRows >= 8, 5000)).toBe(true);
    const s = await c.collect(ctx());
    expectDeclared(s);
    expect(counter(s, M.parseErrors, 'vigil.gpu.source', 'csv')).toBe(3); // non-CSV line, short row, "hot"
    expect(logs.some((l) => l.level === 'warn' && /unreadable nvidia-smi output/.test(l.msg) && /expected \d+ values, got 1/.test(l.msg))).toBe(true);
    const temps = of(s, M.temperature).filter((x) => x.attributes?.['hw.id'] === 'GPU-11111111-1111-1111-1111-111111111111' && x.attributes?.['hw.sensor_location'] === 'gpu');
    const used = of(s, M.memoryUsage).filter((x) => x.attributes?.['hw.id'] === 'GPU-11111111-1111-1111-1111-111111111111');
    expect(temps.length).toBe(used.length - 1); // the row with "hot" keeps its other values
    expect(temps.every((t) => t.value === 59)).toBe(true);
    expect(of(s, M.memoryUsage).every((x) => typeof x.attributes?.['hw.id'] === 'string' && String(x.attributes['hw.id']).startsWith('GPU-'))).toBe(true);
  });

  it('a child dying mid-stream is restarted with backoff; its half row is never read as data', async () => {
    const { f, c } = setup('die', { processes: false, restart_backoff: '100ms' });
    await c.start();
    expect(await eventually(() => (c.loopRunner?.restarts ?? 0) >= 2, 5000)).toBe(true);
    const s = await c.collect(ctx());
    expectDeclared(s);
    expect(counter(s, M.smiFailures, 'vigil.gpu.failure', 'exit')).toBeGreaterThanOrEqual(2);
    expect(of(s, M.smiRestarts)[0]!.value).toBeGreaterThanOrEqual(2);
    expect(counter(s, M.parseErrors, 'vigil.gpu.source', 'csv')).toBeGreaterThanOrEqual(2); // one half row per death
    expect(s.some((x) => x.attributes?.['hw.name'] === 'NVIDIA H1')).toBe(false);
    // Backoff doubles: 100, 200, 400 ms … so few starts in this time, never a tight loop.
    expect(f.invocations().filter((l) => l.includes('--query-gpu=')).length).toBeLessThanOrEqual(6);
    // Never more than one loop child at a time.
    expect(processesWithMarker(f.marker).length).toBeLessThanOrEqual(1);
  });

  it('a stalled child is killed and restarted; a collection with no data for too long fails instead of repeating old values', async () => {
    const { f, c } = setup('stall', { processes: false, stall_timeout: '400ms', restart_backoff: '30s' });
    await c.start();
    expect(await eventually(() => c.bufferedRows >= 4, 5000)).toBe(true);
    const first = await c.collect(ctx());
    expect(of(first, M.memoryUsage).length).toBe(4);
    // The child goes silent after two rows (with a helper child sleeping in its group).
    expect(await eventually(() => c.failures.get('stall') === 1, 3000)).toBe(true);
    expect(await eventually(() => processesWithMarker(f.marker).length === 0, 2000)).toBe(true);
    await sleep(450);
    await expect(c.collect(ctx())).rejects.toThrow(/no GPU data from nvidia-smi for \d+ ms.*stalled/);
  });

  it('the driver-failure message makes the plugin unavailable with that message', async () => {
    const { c } = setup('driver-fail', { processes: false, restart_backoff: '50ms' });
    await c.start(); // --help-query-gpu works without the driver
    let err: unknown;
    try {
      await sleep(300);
      await c.collect(ctx());
    } catch (e) {
      err = e;
    }
    expect((err as Error)?.name).toBe('PluginUnavailableError');
    expect((err as Error).message).toMatch(/NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver/);
    expect(c.failures.get('unavailable')).toBeGreaterThanOrEqual(1);
  });

  it('a missing binary makes start() fail as unavailable', async () => {
    const c = plugin.create(options({ binary: '/nonexistent/vigil/nvidia-smi' }), { instance: 'gpu', logger, intervalMs: 100, configDir: '/' });
    await expect(Promise.resolve(c.start?.({ instance: 'gpu', logger, intervalMs: 100, configDir: '/' }))).rejects.toMatchObject({ name: 'PluginUnavailableError' });
    await c.stop?.();
  });

  it('a hung --help-query-gpu is killed at exec_timeout and the loop starts with the legacy fields', async () => {
    const { f, c } = setup('hang', { processes: false, exec_timeout: '300ms', stall_timeout: '5s' });
    const t0 = Date.now();
    await c.start();
    expect(Date.now() - t0).toBeLessThan(1500);
    expect(c.queryFields).toContain('clocks.sm');
    expect(c.failures.get('timeout')).toBe(1);
    await c.stop();
    expect(await eventually(() => processesWithMarker(f.marker).length === 0, 2000)).toBe(true);
  });
});

describe('xml mode', () => {
  const xml = readFileSync(join(TESTDATA, 'synthetic-legacy-ecc-mig.xml'), 'utf8');

  it('reports memory, MIG devices, per-process memory, ECC and remapping from -q -x', async () => {
    const { f, c } = setup('ok', { mode: 'xml' }, 1000, { xml });
    await c.start();
    const s = await c.collect(ctx());
    expectDeclared(s);
    const id = 'GPU-cccccccc-0000-0000-0000-000000000001';
    expect(of(s, M.memoryUsage).find((x) => x.attributes?.['hw.id'] === id)?.value).toBe(19100 * MiB);
    expect(of(s, M.migMemoryUsage)[0]).toMatchObject({ value: 19000 * MiB, attributes: { 'nvidia.gpu.mig.gpu_instance_id': 1, 'nvidia.gpu.mig.compute_instance_id': 0, 'nvidia.gpu.mig.index': 0 } });
    expect(of(s, M.processMemoryUsage)[0]).toMatchObject({ value: 18990 * MiB, attributes: { 'process.pid': 31337, 'nvidia.gpu.mig.gpu_instance_id': 1 } });
    expect(counter(s, M.eccErrors, 'nvidia.gpu.ecc.type', 'uncorrected')).toBe(1);
    expect(of(s, M.remappedRowsPending)[0]!.value).toBe(1);
    expect(of(s, M.clockEventActive).find((x) => x.attributes?.['nvidia.gpu.clock_event.reason'] === 'hw_thermal_slowdown')?.value).toBe(1);
    expect(of(s, M.count)[0]!.value).toBe(2);
    expect(f.invocations()).toEqual(['-q -x']);
  });

  it('truncated XML fails the collection with context and is counted; nothing is reported', async () => {
    const { c } = setup('ok', { mode: 'xml' }, 1000, { xml: xml.slice(0, 1500) });
    await c.start();
    await expect(c.collect(ctx())).rejects.toThrow(/nvidia-smi -q -x output unreadable: xml line \d+: invalid XML/);
    expect(c.parseErrors.get('xml')).toBe(1);
  });

  it('non-XML output is a parse failure, not a crash', async () => {
    const { c } = setup('ok', { mode: 'xml' }, 1000, { xml: 'Segmentation fault\n' });
    await c.start();
    await expect(c.collect(ctx())).rejects.toThrow(/unreadable/);
  });

  it('a hung -q -x is killed at exec_timeout; an overlapping collection is refused, not stacked', async () => {
    const { f, c } = setup('hang', { mode: 'xml', exec_timeout: '500ms' }, 1000);
    await c.start();
    const a = c.collect(ctx());
    await sleep(50);
    await expect(c.collect(ctx())).rejects.toThrow(/still in flight/);
    await expect(a).rejects.toThrow(/no answer within 500 ms/);
    expect(c.failures.get('busy')).toBe(1);
    expect(c.failures.get('timeout')).toBe(1);
    expect(f.invocations()).toHaveLength(1);
    expect(await eventually(() => processesWithMarker(f.marker).length === 0, 2000)).toBe(true);
  });

  it('the host timeout (ctx.signal) also kills the run', async () => {
    const { f, c } = setup('hang', { mode: 'xml', exec_timeout: '10s' }, 1000);
    await c.start();
    const t0 = Date.now();
    await expect(c.collect(ctx(200))).rejects.toThrow(/aborted/);
    expect(Date.now() - t0).toBeLessThan(1500);
    expect(await eventually(() => processesWithMarker(f.marker).length === 0, 2000)).toBe(true);
  });
});

describe('options', () => {
  it('defaults and validation', () => {
    const o = options({});
    expect(o).toMatchObject({ mode: 'loop', binary: 'nvidia-smi', processes: true, processes_interval: 10_000, exec_timeout: 10_000, pressure_thresholds: { medium: 0.75, high: 0.85, critical: 0.95 } });
    expect(options({ processes_interval: '30s', pressure_thresholds: { medium: 0.5, high: 0.6, critical: 0.7 } })).toMatchObject({ processes_interval: 30_000 });
    const bad = plugin.parseOptions({ mode: 'nvml', pressure_thresholds: { medium: 0.9, high: 0.8 }, typo_key: 1 });
    expect(bad.ok).toBe(false);
    if (!bad.ok) {
      const paths = bad.issues.map((i) => i.path.join('.'));
      expect(paths).toContain('mode');
      expect(paths.some((p) => p.startsWith('pressure_thresholds'))).toBe(true);
      expect(bad.issues.some((i) => /typo_key/.test(i.message) || i.path.includes('typo_key'))).toBe(true);
    }
  });
});
