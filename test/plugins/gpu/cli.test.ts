/** `vigil gpu parse FILE`: the real CLI on real and broken files. */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { detectFormat, parseGpuText } from '../../../plugins/gpu/parse-text.ts';
import { eventually, FIXTURES, makeFakeSmi, processesWithMarker, TESTDATA } from './support/fake-smi.ts';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '../../..');
const tmp = mkdtempSync(join(tmpdir(), 'vigil-gpu-cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function vigil(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run(process.execPath, [join(ROOT, 'bin/vigil.js'), ...args], { cwd: ROOT, maxBuffer: 64 * 1024 * 1024 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

const MiB = 1024 * 1024;
const REQUIRED = ['uuid', 'index', 'name', 'memoryTotalBytes', 'memoryUsedBytes', 'memoryFreeBytes', 'utilizationGpu', 'utilizationMemory', 'temperatureC', 'powerDrawW', 'powerLimitW', 'pstate', 'processes', 'mig'];

describe('vigil gpu parse', () => {
  it('a capture file: one entry per query-gpu section, processes attached', async () => {
    const r = await vigil('gpu', 'parse', join(FIXTURES, 'captures/linux-x86_64__nvidia-h200-mig__590.48.01.txt'));
    expect(r.stderr).not.toMatch(/line|error/i);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { section: string; gpus: Record<string, unknown>[] }[];
    expect(out.map((s) => s.section)).toEqual(['idle :: query-gpu', 'load :: query-gpu']);
    const load = out[1]!.gpus[0]!;
    for (const k of REQUIRED) expect(load, k).toHaveProperty(k);
    expect(load.name).toBe('NVIDIA H200');
    expect(load.utilizationGpu).toBeNull(); // MIG mode: [N/A]
    expect((load.processes as { pid: number; name: string; usedMemoryBytes: number }[]).map((p) => [p.pid, p.name, p.usedMemoryBytes])).toEqual([
      [12249, '/root/tools/memhog', 2194 * MiB],
      [12250, '/root/tools/memhog', 1170 * MiB],
      [12267, './gpu_burn', 13526 * MiB],
    ]);
  });

  it('an XML file, with MIG devices', async () => {
    const r = await vigil('gpu', 'parse', join(FIXTURES, 'a100-sxm4-v12.xml'));
    expect(r.code).toBe(0);
    const gpus = JSON.parse(r.stdout) as Record<string, unknown>[];
    expect(gpus).toHaveLength(1);
    for (const k of REQUIRED) expect(gpus[0], k).toHaveProperty(k);
    expect(gpus[0]!.mig).toHaveLength(4);
    expect(gpus[0]!.memoryTotalBytes).toBe(81920 * MiB);
  });

  it('garbage: exit 1, what broke on stderr with file and line, no crash', async () => {
    const bad = join(tmp, 'truncated.xml');
    writeFileSync(bad, '<?xml version="1.0" ?>\n<nvidia_smi_log>\n<gpu id="1">\n<fb_memory_usage><total>10 MiB</total>');
    const r = await vigil('gpu', 'parse', bad);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout)).toEqual([]);
    expect(r.stderr).toMatch(/truncated\.xml: xml line \d+: invalid XML/);
    const missing = await vigil('gpu', 'parse', join(tmp, 'nope.xml'));
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/cannot read/);
  });
});

describe('through the plugin host: vigil collect --once --json', () => {
  it('loop and xml instances report, a missing binary is unavailable, no nvidia-smi is left running', async () => {
    const f = makeFakeSmi('ok', { xml: readFileSync(join(TESTDATA, 'tesla-t4.xml'), 'utf8') });
    try {
      const cfg = join(tmp, 'vigil.yaml');
      writeFileSync(
        cfg,
        [
          'plugins:',
          '  - { use: gpu, name: gpu-loop, interval: 500ms, binary: ' + JSON.stringify(f.path) + ' }',
          '  - { use: gpu, name: gpu-xml, mode: xml, binary: ' + JSON.stringify(f.path) + ' }',
          '  - { use: gpu, name: gpu-missing, binary: /nonexistent/vigil/nvidia-smi }',
          '',
        ].join('\n'),
      );
      const r = await vigil('collect', '--once', '--json', '-c', cfg);
      expect(r.code).toBe(0); // some plugins collected
      const lines = r.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { plugin: string; metric: string; value: number; attributes: Record<string, unknown> });
      const used = (plugin: string) => lines.filter((l) => l.plugin === plugin && l.metric === 'hw.gpu.memory.usage');
      expect(used('gpu-loop').map((l) => l.attributes['hw.id'])).toEqual(expect.arrayContaining(['GPU-11111111-1111-1111-1111-111111111111']));
      expect(used('gpu-xml')).toEqual([expect.objectContaining({ value: 1032 * MiB, attributes: expect.objectContaining({ 'hw.name': 'Tesla T4' }) })]);
      expect(r.stderr).toMatch(/gpu-missing: unavailable: \/nonexistent\/vigil\/nvidia-smi not found/);
      expect(await eventually(() => processesWithMarker(f.marker).length === 0, 3000)).toBe(true);
    } finally {
      f.cleanup();
    }
  });
});

describe('parseGpuText', () => {
  it('detects formats', () => {
    expect(detectFormat('<?xml version="1.0"?><nvidia_smi_log/>')).toBe('xml');
    expect(detectFormat('# $ nvidia-smi --query-gpu=index --format=csv\nindex\n0\n')).toBe('capture');
    expect(detectFormat('index, uuid\n0, GPU-x\n')).toBe('csv');
  });

  it('CSV with units, compute-apps CSV, and a header-less CSV with a field list', () => {
    const withUnits = parseGpuText('index, uuid, memory.total [MiB], memory.used [MiB]\r\n0, GPU-x, 100 MiB, 96 MiB\r\n');
    expect(withUnits.errors).toEqual([]);
    expect(withUnits.json).toMatchObject([{ uuid: 'GPU-x', memoryUsedBytes: 96 * MiB, memoryPressure: 'critical' }]);
    const apps = parseGpuText('pid, process_name, gpu_uuid, used_gpu_memory [MiB]\n7, python, GPU-x, 12 MiB\n');
    expect(apps.format).toBe('compute-apps');
    expect(apps.json).toMatchObject([{ pid: 7, name: 'python', usedMemoryBytes: 12 * MiB, gpuUuid: 'GPU-x' }]);
    const headerless = parseGpuText('0, GPU-x, 5\n', 'csv', ['index', 'uuid', 'memory.used']);
    expect(headerless.json).toMatchObject([{ index: 0, uuid: 'GPU-x', memoryUsedBytes: 5 * MiB }]);
  });

  it('a capture section with a `-q -x` body is parsed as XML', () => {
    const xml = `# real :: xml\n# $ nvidia-smi -q -x\n${readFileSync(join(TESTDATA, 'gtx-1070-ti.xml'), 'utf8')}\n`;
    const r = parseGpuText(xml);
    expect(r.errors).toEqual([]);
    expect(r.json).toMatchObject([{ section: 'real :: xml', gpus: [{ name: 'GeForce GTX 1070 Ti' }] }]);
  });
});
