import type { Command } from 'commander';
import { BUILTIN_PLUGINS } from '../plugin/builtin.ts';

export function registerPluginsCommand(program: Command): void {
  program
    .command('plugins')
    .description('list the built-in plugins and the metrics each declares')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) => {
      const defs = await Promise.all(Object.values(BUILTIN_PLUGINS).map((load) => load()));
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(defs.map((d) => ({ name: d.name, description: d.description, metrics: d.metrics })), null, 2)}\n`);
        return;
      }
      const out: string[] = [];
      for (const d of defs) {
        out.push(`${d.name} — ${d.description}`);
        for (const m of d.metrics) {
          const attrs = m.attributes.length > 0 ? ` {${m.attributes.join(', ')}}` : '';
          out.push(`  ${m.name} (${m.kind}, ${m.unit})${attrs}: ${m.description}`);
        }
        out.push('');
      }
      process.stdout.write(out.join('\n'));
    });
}
