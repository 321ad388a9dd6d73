import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BUILTIN_PLUGINS } from '../../agent/plugin/builtin.ts';
import { renderReadme } from '../../scripts/gen-metric-docs.ts';
import { VERSION } from '../../agent/version.ts';

describe('generated docs', () => {
  for (const name of Object.keys(BUILTIN_PLUGINS)) {
    it(`plugins/${name}/README.md documents every declared metric (npm run docs:metrics)`, async () => {
      const r = await renderReadme(name);
      expect(r, `plugins/${name}/README.md is missing`).toBeDefined();
      expect(r!.current).toContain('<!-- metrics:start -->');
      expect(r!.current === r!.next, `plugins/${name}/README.md metrics table is stale: run npm run docs:metrics`).toBe(true);
      const def = await BUILTIN_PLUGINS[name]!();
      for (const m of def.metrics) expect(r!.current).toContain(`\`${m.name}\``);
    });
  }

  it('VERSION matches package.json', () => {
    const pkg = JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', 'package.json'), 'utf8')) as { version: string };
    expect(VERSION).toBe(pkg.version);
  });
});
