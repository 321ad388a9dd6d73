/** The metric declaration: consistent, limit pairs usable by the forecast module, README in sync. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderReadme } from '../../../scripts/gen-metric-docs.ts';
import plugin from '../../../plugins/gpu/index.ts';
import { GPU_METRICS, M } from '../../../plugins/gpu/metrics.ts';
import { derive } from '../../../plugins/gpu/normalize.ts';
import { parseNvidiaSmiXml } from '../../../plugins/gpu/parse/xml.ts';
import { gpuSamples } from '../../../plugins/gpu/samples.ts';
import { FIXTURES, TESTDATA } from './support/fake-smi.ts';

describe('gpu metrics', () => {
  it('the plugin exports exactly the declared metrics, each name once', () => {
    expect(plugin.metrics).toBe(GPU_METRICS);
    const names = GPU_METRICS.map((m) => m.name);
    expect(new Set(names).size).toBe(names.length);
    expect(new Set(Object.values(M))).toEqual(new Set(names));
  });

  it('uses hw.gpu.* names where OpenTelemetry defines them, base units, and allowed units only', () => {
    for (const n of ['hw.gpu.memory.usage', 'hw.gpu.memory.limit', 'hw.gpu.memory.utilization', 'hw.gpu.utilization']) expect(GPU_METRICS.map((m) => m.name)).toContain(n);
    for (const m of GPU_METRICS) {
      expect(m.name, m.name).toMatch(/^(hw\.gpu|vigil\.gpu|nvidia\.gpu)\./);
      expect(['By', '1', 'W', 'Cel', 'Hz', 'By/s', '{lane}', '{error}', '{page}', '{row}', '{gpu}', '{failure}', '{restart}']).toContain(m.unit);
    }
  });

  it('every limit names a declared metric with the same unit and attributes, so forecasts can pair them', () => {
    const withLimit = GPU_METRICS.filter((m) => m.limit);
    expect(withLimit.map((m) => [m.name, m.limit])).toEqual(
      expect.arrayContaining([
        ['hw.gpu.memory.usage', 'hw.gpu.memory.limit'],
        ['vigil.gpu.mig.memory.usage', 'vigil.gpu.mig.memory.limit'],
      ]),
    );
    for (const m of withLimit) {
      const limit = GPU_METRICS.find((x) => x.name === m.limit);
      expect(limit, m.limit).toBeDefined();
      expect(limit!.unit).toBe(m.unit);
      expect([...limit!.attributes]).toEqual([...m.attributes]);
    }
  });

  it('samples from every XML fixture use declared metrics and attributes; usage and limit series share attributes', () => {
    const files = [...readdirSync(FIXTURES).filter((f) => f.endsWith('.xml')).map((f) => join(FIXTURES, f)), join(TESTDATA, 'synthetic-legacy-ecc-mig.xml')];
    for (const file of files) {
      for (const raw of parseNvidiaSmiXml(readFileSync(file, 'utf8')).gpus) {
        const samples = gpuSamples(derive(raw), 1);
        for (const s of samples) {
          const spec = GPU_METRICS.find((m) => m.name === s.metric)!;
          expect(spec, s.metric).toBeDefined();
          for (const k of Object.keys(s.attributes ?? {})) expect(spec.attributes, `${file} ${s.metric} ${k}`).toContain(k);
          if (spec.unit === '1' && s.metric !== M.memoryPressure && s.metric !== M.performanceState && s.metric !== M.pcieLinkGeneration) {
            expect(s.value, `${s.metric} is a ratio`).toBeGreaterThanOrEqual(0);
            expect(s.value, `${s.metric} is a ratio`).toBeLessThanOrEqual(1.5);
          }
        }
        for (const m of GPU_METRICS.filter((x) => x.limit)) {
          for (const u of samples.filter((s) => s.metric === m.name)) {
            expect(samples.some((l) => l.metric === m.limit && JSON.stringify(l.attributes) === JSON.stringify(u.attributes)), `${file}: ${m.name} has its limit`).toBe(true);
          }
        }
      }
    }
  });

  it('README holds the generated metrics table, up to date', async () => {
    const r = await renderReadme('gpu');
    expect(r).toBeDefined();
    expect(r!.current).toContain('<!-- metrics:start -->');
    expect(r!.current).toContain('`hw.gpu.memory.usage`');
    expect(r!.next).toBe(r!.current);
  });
});
