import type { Command } from 'commander';
import { loadAgentConfig, runnerSettings } from '../agent.ts';
import { ConfigError } from '../config/issues.ts';
import { PluginRunner } from '../plugin/runner.ts';
import { createLogger } from '../util/logger.ts';

export function registerCollectCommand(program: Command): void {
  program
    .command('collect')
    .description('run every enabled plugin once and print its samples (one JSON object per line with --json)')
    .option('-c, --config <file>', 'config file (default: the embedded default config)')
    .option('--once', 'collect once and exit (the only mode)', true)
    .option('--json', 'one JSON object per sample: plugin, metric, unit, attributes, value, timestamp')
    .action(async (opts: { config?: string; json?: boolean }) => {
      let loaded;
      try {
        loaded = await loadAgentConfig(opts.config, process.env);
      } catch (err) {
        process.stderr.write(`${err instanceof ConfigError ? err.issues.join('\n') : (err as Error).message}\n`);
        process.exit(1);
      }
      const logger = createLogger({ level: process.env.VIGIL_LOG_LEVEL ?? 'warn', secrets: loaded.secrets });
      const now = Date.now();
      const runners = runnerSettings(loaded).map((s) => new PluginRunner(s, logger, now));
      let failures = 0;
      await Promise.all(
        runners.map(async (r) => {
          const units = new Map(r.settings.definition.metrics.map((m) => [m.name, m.unit]));
          const outcome = await r.collect(Date.now());
          if (outcome.kind !== 'ok') {
            failures++;
            const why = outcome.kind === 'failed' ? outcome.error : outcome.reason;
            const state = outcome.kind === 'failed' && outcome.unavailable ? 'unavailable' : 'failed';
            process.stderr.write(`${r.settings.name}: ${state}: ${why}\n`);
            return;
          }
          for (const s of outcome.samples) {
            if (opts.json) {
              process.stdout.write(
                `${JSON.stringify({ plugin: r.settings.name, metric: s.metric, unit: units.get(s.metric), attributes: s.attributes ?? {}, value: s.value, timestamp: s.timestamp })}\n`,
              );
            } else {
              const attrs = s.attributes ? Object.entries(s.attributes).map(([k, v]) => `${k}=${String(v)}`).join(',') : '';
              process.stdout.write(`${r.settings.name} ${s.metric}{${attrs}} ${s.value} ${units.get(s.metric) ?? ''}\n`);
            }
          }
        }),
      );
      await Promise.all(runners.map((r) => r.stop()));
      // Exit 1 only when nothing at all could be collected.
      process.exit(failures > 0 && failures === runners.length ? 1 : 0);
    });
}
