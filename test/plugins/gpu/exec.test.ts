/**
 * One-shot runs against fake nvidia-smi scripts: a hung run is killed at its timeout with its
 * whole process group, at most one run per kind is in flight, driver failures / missing or
 * non-executable binaries become PluginUnavailableError, and nothing is left behind.
 */
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkResult, ExecBusyError, ExecGate, ExecTimeoutError, execOnce } from '../../../plugins/gpu/runner/exec.ts';
import { eventually, makeFakeSmi, processesWithMarker, zombieChildren, type FakeSmi } from './support/fake-smi.ts';

const fakes: FakeSmi[] = [];
function fake(...args: Parameters<typeof makeFakeSmi>): FakeSmi {
  const f = makeFakeSmi(...args);
  fakes.push(f);
  return f;
}

afterAll(async () => {
  for (const f of fakes) {
    expect(await eventually(() => processesWithMarker(f.marker).length === 0, 3000), `leftover processes of ${f.marker}`).toBe(true);
    f.cleanup();
  }
  expect(zombieChildren()).toEqual([]);
});

describe('execOnce', () => {
  it('kills a hung nvidia-smi and its helper child at the timeout', async () => {
    const f = fake('hang');
    const t0 = Date.now();
    const p = execOnce({ binary: f.path, args: ['-q', '-x'], timeoutMs: 300 });
    // While it hangs, the script and its helper are alive.
    expect(await eventually(() => processesWithMarker(f.marker).length >= 2, 2000)).toBe(true);
    await expect(p).rejects.toBeInstanceOf(ExecTimeoutError);
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(await eventually(() => processesWithMarker(f.marker).length === 0, 2000)).toBe(true);
    expect(zombieChildren()).toEqual([]);
  });

  it('an aborted signal kills the run', async () => {
    const f = fake('hang');
    const ac = new AbortController();
    const p = execOnce({ binary: f.path, args: ['-q', '-x'], timeoutMs: 10_000, signal: ac.signal });
    setTimeout(() => ac.abort(), 100);
    await expect(p).rejects.toThrow(/aborted/);
    expect(await eventually(() => processesWithMarker(f.marker).length === 0, 2000)).toBe(true);
  });

  it('returns output and exit code of a normal run', async () => {
    const f = fake('ok');
    const r = await execOnce({ binary: f.path, args: ['--help-query-gpu'], timeoutMs: 5000 });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('"memory.used"');
  });

  it('driver failure message → PluginUnavailableError carrying that message', async () => {
    const f = fake('driver-fail');
    const r = await execOnce({ binary: f.path, args: ['-q', '-x'], timeoutMs: 5000 });
    expect(r.code).toBe(9);
    let err: unknown;
    try {
      checkResult(r, f.path, '-q -x');
    } catch (e) {
      err = e;
    }
    expect((err as Error).name).toBe('PluginUnavailableError');
    expect((err as Error).message).toContain("NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver");
  });

  it('other non-zero exits are plain failures with nvidia-smi’s message', async () => {
    const f = fake('ok');
    const r = await execOnce({ binary: f.path, args: ['--bogus'], timeoutMs: 5000 });
    expect(() => checkResult(r, f.path, '--bogus')).toThrow(/exited with 2: fake nvidia-smi: unsupported arguments/);
  });

  it('a missing binary or one without execute permission → PluginUnavailableError', async () => {
    await expect(execOnce({ binary: '/nonexistent/nvidia-smi', args: [], timeoutMs: 1000 })).rejects.toMatchObject({ name: 'PluginUnavailableError', message: /not found/ });
    const f = fake('ok');
    const noexec = join(f.dir, 'not-executable');
    writeFileSync(noexec, '#!/bin/sh\necho hi\n');
    chmodSync(noexec, 0o644);
    await expect(execOnce({ binary: noexec, args: [], timeoutMs: 1000 })).rejects.toMatchObject({ name: 'PluginUnavailableError', message: /permission denied/ });
  });

  it('caps runaway output', async () => {
    const r = execOnce({ binary: '/bin/sh', args: ['-c', 'yes vigil-runaway-output'], timeoutMs: 5000, maxOutputBytes: 64 * 1024 });
    await expect(r).rejects.toThrow(/output over 65536 bytes/);
    expect(await eventually(() => processesWithMarker('vigil-runaway-output').length === 0, 2000)).toBe(true);
  });
});

describe('ExecGate', () => {
  it('allows one run per kind in flight; a second is refused at once, not queued', async () => {
    const f = fake('hang');
    const gate = new ExecGate();
    const first = gate.run('xml', { binary: f.path, args: ['-q', '-x'], timeoutMs: 500 });
    const t0 = Date.now();
    await expect(gate.run('xml', { binary: f.path, args: ['-q', '-x'], timeoutMs: 500 })).rejects.toBeInstanceOf(ExecBusyError);
    expect(Date.now() - t0).toBeLessThan(100);
    // Another kind is independent.
    const ok = fake('ok');
    await expect(gate.run('help', { binary: ok.path, args: ['--help-query-gpu'], timeoutMs: 5000 })).resolves.toMatchObject({ code: 0 });
    await expect(first).rejects.toBeInstanceOf(ExecTimeoutError);
    expect(gate.busy('xml')).toBe(false);
    // Only the first hung run ever started: no pile-up.
    expect(f.invocations()).toHaveLength(1);
    expect(await eventually(() => processesWithMarker(f.marker).length === 0, 2000)).toBe(true);
  });
});
