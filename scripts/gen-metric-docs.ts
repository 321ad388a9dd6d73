/**
 * Regenerates each plugin README's metrics table from the plugin's declared metrics, between
 * `<!-- metrics:start -->` and `<!-- metrics:end -->`. `--check` exits 1 when a README is stale
 * (the test suite runs it that way).
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BUILTIN_PLUGINS } from '../agent/plugin/builtin.ts';
import type { MetricSpec } from '../agent/plugin/api.ts';

const root = join(fileURLToPath(new URL('.', import.meta.url)), '..');
const START = '<!-- metrics:start -->';
const END = '<!-- metrics:end -->';

export function metricsTable(metrics: readonly MetricSpec[]): string {
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  const rows = metrics.map((m) => {
    const attrs = m.attributes.length > 0 ? m.attributes.map((a) => `\`${a}\``).join(', ') : '—';
    const limit = m.limit ? ` Limit: \`${m.limit}\`.` : '';
    return `| \`${m.name}\` | ${m.kind} | \`${m.unit}\` | ${attrs} | ${esc(m.description)}${limit} |`;
  });
  return [
    '_Generated from the plugin\'s declared metrics by `npm run docs:metrics`; do not edit by hand._',
    '',
    '| metric | kind | unit | attributes | description |',
    '|---|---|---|---|---|',
    ...rows,
  ].join('\n');
}

export async function renderReadme(name: string): Promise<{ path: string; current: string; next: string } | undefined> {
  const def = await BUILTIN_PLUGINS[name]!();
  const path = join(root, 'plugins', name, 'README.md');
  let current: string;
  try {
    current = await readFile(path, 'utf8');
  } catch {
    return undefined;
  }
  const a = current.indexOf(START);
  const b = current.indexOf(END);
  if (a < 0 || b < a) return { path, current, next: current };
  const next = `${current.slice(0, a + START.length)}\n${metricsTable(def.metrics)}\n${current.slice(b)}`;
  return { path, current, next };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const check = process.argv.includes('--check');
  let stale = 0;
  for (const name of Object.keys(BUILTIN_PLUGINS)) {
    const r = await renderReadme(name);
    if (!r) {
      process.stderr.write(`plugins/${name}/README.md: missing\n`);
      stale++;
      continue;
    }
    if (r.current === r.next) continue;
    if (check) {
      process.stderr.write(`${r.path}: metrics table is stale (run npm run docs:metrics)\n`);
      stale++;
    } else {
      await writeFile(r.path, r.next);
      process.stdout.write(`updated ${r.path}\n`);
    }
  }
  process.exit(check && stale > 0 ? 1 : 0);
}
