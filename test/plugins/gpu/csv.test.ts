/** CSV parser quirks: units in headers or values, every "not reported" marker, aliases, garbage. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { attachProcesses, derive } from '../../../plugins/gpu/normalize.ts';
import {
  chooseQueryFields,
  LEGACY_QUERY_FIELDS,
  parseComputeAppsCsv,
  parseHelpQueryGpu,
  parseQueryGpuCsv,
} from '../../../plugins/gpu/parse/csv.ts';
import { isNotReported, isUnreadable, normalizeBusId, parseValue } from '../../../plugins/gpu/parse/values.ts';
import { realHelpQueryGpu, TESTDATA } from './support/fake-smi.ts';

const MiB = 1024 * 1024;

describe('values', () => {
  it('treats every status marker as not reported', () => {
    for (const v of ['[N/A]', 'N/A', '[Not Supported]', 'Not Supported', '[Requested functionality has been deprecated]', '[Unknown Error]', '[Insufficient Permissions]', '[GPU is lost]', '', '  ']) {
      expect(isNotReported(v), v).toBe(true);
      expect(parseValue(v, 'bytes'), v).toBeNull();
    }
    expect(isNotReported('0')).toBe(false);
  });

  it('converts units to base units, with nvidia-smi defaults for bare numbers', () => {
    expect(parseValue('1234 MiB', 'bytes')).toBe(1234 * MiB);
    expect(parseValue('1234', 'bytes', 'MiB')).toBe(1234 * MiB);
    expect(parseValue('1234', 'bytes')).toBe(1234 * MiB);
    expect(parseValue('2 GiB', 'bytes')).toBe(2048 * MiB);
    expect(parseValue('37 %', 'ratio')).toBeCloseTo(0.37, 12);
    expect(parseValue('100', 'ratio', '%')).toBe(1);
    expect(parseValue('631.95 W', 'watts')).toBe(631.95);
    expect(parseValue('1980 MHz', 'hz')).toBe(1.98e9);
    expect(parseValue('1980', 'hz', 'MHz')).toBe(1.98e9);
    expect(parseValue('59 C', 'celsius')).toBe(59);
    expect(parseValue('16x', 'count')).toBe(16);
    expect(parseValue('4000 KB/s', 'bytesPerSecond')).toBe(4000 * 1024);
    expect(parseValue('Active', 'active')).toBe(1);
    expect(parseValue('Not Active', 'active')).toBe(0);
    expect(parseValue('Yes', 'yesno')).toBe(1);
    expect(parseValue('No', 'yesno')).toBe(0);
  });

  it('reports garbage as unreadable, never as a number', () => {
    for (const [v, k] of [
      ['hot', 'celsius'],
      ['12 parsecs', 'bytes'],
      ['1e999', 'watts'],
      ['maybe', 'active'],
      ['12 F', 'celsius'],
      ['0x1F', 'count'],
    ] as const) {
      const r = parseValue(v, k);
      expect(isUnreadable(r), `${v} as ${k}`).toBe(true);
    }
  });

  it('normalizes PCI bus ids so CSV and XML agree', () => {
    expect(normalizeBusId('0000:3b:00.0')).toBe('00000000:3B:00.0');
    expect(normalizeBusId('00000000:0C:00.0')).toBe('00000000:0C:00.0');
  });
});

describe('--help-query-gpu', () => {
  it('lists fields and aliases of a real driver, skipping prose', () => {
    const names = parseHelpQueryGpu(realHelpQueryGpu());
    expect(names.has('memory.used')).toBe(true);
    expect(names.has('clocks.current.sm')).toBe(true);
    expect(names.has('clocks.sm')).toBe(true);
    expect(names.has('clocks_throttle_reasons.gpu_idle')).toBe(true);
    expect([...names].some((n) => n.includes(' ') || n.includes(':'))).toBe(false);
  });

  it('chooses the fields this driver supports, preferring current names', () => {
    const fields = chooseQueryFields(parseHelpQueryGpu(realHelpQueryGpu()));
    expect(fields).toContain('clocks.current.sm');
    expect(fields).toContain('clocks_event_reasons.sw_power_cap');
    expect(fields).toContain('enforced.power.limit');
    expect(fields).not.toContain('clocks.sm');
    expect(fields).not.toContain('clocks_event_reasons.display_clocks_setting'); // not a CSV field on 590
    // An old driver without the new names gets the old ones.
    const old = chooseQueryFields(new Set(['index', 'uuid', 'name', 'memory.used', 'memory.total', 'clocks.sm', 'clocks_throttle_reasons.hw_slowdown', 'power.limit']));
    expect(old).toEqual(['index', 'uuid', 'name', 'memory.total', 'memory.used', 'power.limit', 'clocks.sm', 'clocks_throttle_reasons.hw_slowdown']);
    expect(chooseQueryFields(null)).toEqual(LEGACY_QUERY_FIELDS);
  });
});

describe('--query-gpu CSV', () => {
  it('header with units, values with units, CRLF, aliases and status markers', () => {
    const r = parseQueryGpuCsv(readFileSync(join(TESTDATA, 'query-gpu-units-crlf.csv'), 'utf8'));
    expect(r.errors.map((e) => e.message)).toEqual([]);
    const [a, b] = r.gpus.map((g) => derive(g));
    expect(a!.memoryUsedBytes).toBe(15600 * MiB);
    expect(a!.utilizationGpu).toBeCloseTo(0.97, 12);
    expect(a!.clockGraphicsHz).toBe(1.53e9);
    expect(a!.powerLimitW).toBe(300);
    expect(a!.fanSpeed).toBeNull();
    expect(a!.clockEventReasons).toEqual({ hw_slowdown: 1 });
    expect(a!.retiredPagesSingleBit).toBe(2);
    expect(a!.memoryPressure).toBe('critical'); // 15600/16384 = 0.952
    expect(b!.pstate).toBeNull();
    expect(b!.utilizationGpu).toBeNull();
    expect(b!.utilizationMemory).toBeNull();
    expect(b!.temperatureC).toBeNull();
    expect(b!.powerDrawW).toBeNull();
    expect(b!.remappedRowsPending).toBe(1);
    expect(b!.memoryPressure).toBe('low');
  });

  it('nounits: units only in the header', () => {
    const r = parseQueryGpuCsv(readFileSync(join(TESTDATA, 'query-gpu-nounits.csv'), 'utf8'));
    expect(r.errors).toEqual([]);
    const g = derive(r.gpus[0]!);
    expect(g.index).toBe(3);
    expect(g.memoryUsedBytes).toBe(23000 * MiB);
    expect(g.powerDrawW).toBe(180.5);
    expect(g.clockSmHz).toBe(1.755e9);
    expect(g.memoryPressure).toBe('high'); // 23000/24576 = 0.936
  });

  it('noheader: columns from the field list; rows with the wrong shape are errors with line and excerpt', () => {
    const fields = ['index', 'uuid', 'memory.used', 'memory.total'];
    const text = '0, GPU-x, 100, 1000\ngarbage here\n1, GPU-y, 5\n2, GPU-z, 7, 1000\n';
    const r = parseQueryGpuCsv(text, fields, 0, false);
    expect(r.gpus.map((g) => g.uuid)).toEqual(['GPU-x', 'GPU-z']);
    expect(r.errors).toHaveLength(2);
    expect(r.errors[0]!.message).toMatch(/line 2.*expected 4 values, got 1.*garbage here/);
    expect(r.errors[1]!.context.line).toBe(3);
  });

  it('an unreadable value is an error with its field; the rest of the row stays', () => {
    const r = parseQueryGpuCsv('0, GPU-x, hot, 1000\n', ['index', 'uuid', 'temperature.gpu', 'memory.total'], 0, false);
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]!.context.field).toBe('temperature.gpu');
    expect(r.gpus[0]!.temperatureC).toBeNull();
    expect(r.gpus[0]!.memoryTotalBytes).toBe(1000 * MiB);
  });

  it('a headerless CSV without a field list is an error, not a guess', () => {
    const r = parseQueryGpuCsv('0, GPU-x, 100\n');
    expect(r.gpus).toEqual([]);
    expect(r.errors[0]!.message).toMatch(/no header/);
  });
});

describe('--query-compute-apps CSV', () => {
  it('parses rows, merging a process name that contains commas', () => {
    const r = parseComputeAppsCsv(readFileSync(join(TESTDATA, 'compute-apps.csv'), 'utf8'));
    expect(r.errors).toEqual([]);
    expect(r.processes.map((p) => [p.pid, p.name, p.usedMemoryBytes])).toEqual([
      [1234, '/opt/conda/bin/python -m train', 15000 * MiB],
      [5678, 'C:\\Program Files\\Vendor, Inc\\tool, with, commas.exe', null],
    ]);
  });

  it('attaches rows to GPUs by uuid, else by bus id; unmatched rows are returned', () => {
    const gpus = parseQueryGpuCsv(readFileSync(join(TESTDATA, 'query-gpu-units-crlf.csv'), 'utf8')).gpus.map((g) => derive(g));
    const rows = parseComputeAppsCsv(readFileSync(join(TESTDATA, 'compute-apps.csv'), 'utf8')).processes;
    const byBus = rows.map((r) => ({ ...r, gpuUuid: null }));
    const stray = { ...rows[0]!, pid: 9, gpuUuid: 'GPU-none', gpuBusId: '00000000:FF:00.0' };
    const { gpus: out, unmatched } = attachProcesses(gpus, [...byBus, stray]);
    expect(out[0]!.processes.map((p) => p.pid)).toEqual([1234]);
    expect(out[1]!.processes.map((p) => p.pid)).toEqual([5678]);
    expect(unmatched.map((u) => u.pid)).toEqual([9]);
  });

  it('"No running processes found" is an empty list, not an error', () => {
    expect(parseComputeAppsCsv('No running processes found\n')).toEqual({ processes: [], errors: [] });
  });

  it('rows without a valid pid are errors', () => {
    const r = parseComputeAppsCsv('GPU-x, 00000000:01:00.0, abc, python, 10\n', ['gpu_uuid', 'gpu_bus_id', 'pid', 'process_name', 'used_gpu_memory'], 0, false);
    expect(r.processes).toEqual([]);
    expect(r.errors[0]!.context.field).toBe('pid');
  });
});
