import type { Command } from 'commander';
import { loadAgentConfig } from '../agent.ts';
import { ConfigError } from '../config/issues.ts';

export function registerCheckCommand(program: Command): void {
  program
    .command('check')
    .description('validate a config file: lists every error with file, line and field (exit 1), or a summary (exit 0)')
    .option('-c, --config <file>', 'config file (default: the embedded default config)')
    .action(async (opts: { config?: string }) => {
      try {
        const loaded = await loadAgentConfig(opts.config, process.env);
        const c = loaded.config;
        const lines = [
          `${loaded.source}: valid`,
          `  plugins: ${loaded.plugins.map((p) => `${p.name} (${p.entry.use}, every ${p.intervalMs / 1000}s)`).join(', ') || 'none'}`,
          loaded.disabled.length > 0 ? `  disabled: ${loaded.disabled.map((d) => d.name ?? d.use).join(', ')}` : undefined,
          `  server: ${c.server.enabled ? `${c.server.host}:${c.server.port}` : 'off'}`,
          `  store: ${c.agent.max_series} series max, ${c.agent.retention / 1000}s retention`,
          `  detect: anomaly ${c.detect.anomaly.enabled ? 'on' : 'off'}, forecast ${c.detect.forecast.enabled ? 'on' : 'off'}; alerts ${c.alerts.enabled ? 'on' : 'off'}`,
        ].filter((l): l is string => l !== undefined);
        process.stdout.write(`${lines.join('\n')}\n`);
      } catch (err) {
        if (err instanceof ConfigError) {
          process.stderr.write(`${err.issues.join('\n')}\n${err.issues.length} error${err.issues.length === 1 ? '' : 's'}\n`);
        } else {
          process.stderr.write(`${(err as Error).message}\n`);
        }
        process.exitCode = 1;
      }
    });
}
