import { describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

/** Through the agent's own host: `vigil collect --once --json` with a heap entry in a config file. */
const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const TD = fileURLToPath(new URL('../../../plugins/heap/testdata/', import.meta.url));

describe('heap plugin through `vigil collect --once --json`', () => {
  it('loads as a built-in, validates its options, and its samples pass the host\'s checks', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vigil-heap-cli-'));
    try {
      const config = join(dir, 'vigil.yaml');
      await writeFile(
        config,
        [
          'plugins:',
          '  - use: heap',
          `    proc_root: ${TD}v2/proc`,
          '    process: [{ pid: 4242, name: app }]',
          `    cgroup: { root: ${TD}v2/sys/fs/cgroup, from: self }`,
          '    v8: [{ url: "http://127.0.0.1:1/metrics", name: down, timeout: 500ms }]',
          '',
        ].join('\n'),
      );
      const { stdout } = await promisify(execFile)(process.execPath, ['bin/vigil.js', 'collect', '--once', '--json', '--config', config], {
        cwd: REPO,
        env: { ...process.env, VIGIL_LOG_LEVEL: 'silent' },
      });
      const lines = stdout.trim().split('\n').map((l) => JSON.parse(l) as { plugin: string; metric: string; unit: string; attributes: Record<string, unknown>; value: number });
      const ws = lines.find((l) => l.metric === 'container.memory.working_set');
      expect(ws).toMatchObject({ plugin: 'heap', unit: 'By', attributes: { 'vigil.target': 'container' }, value: 314572800 - 62914560 });
      expect(lines.find((l) => l.metric === 'process.memory.usage')?.value).toBe(100 * 1024 * 1024);
      expect(lines.find((l) => l.metric === 'vigil.heap.source.up' && l.attributes['vigil.target'] === 'down')?.value).toBe(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
