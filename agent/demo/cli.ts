import type { Command } from 'commander';
import type { DemoOptions } from './run-demo.ts';

/** `vigil demo`: scenario 1 (container OOM in a memory cgroup) or 2 (V8 heap OOM), live in the terminal. */
export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description(
      'watch vigil warn before an OOM kill: a leaking app under a real memory limit, vigil forecasting it, and the alerts as Slack would show them',
    )
    .option('-s, --scenario <n>', '1 = container OOM (a memory cgroup; needs root and cgroup v1), 2 = V8 heap OOM (--max-old-space-size)', '1')
    .option('--scale <scale>', 'short (the leak takes under a minute) or long (about 12 minutes, the default alert thresholds)', 'short')
    .option('--no-restart', 'do not restart the app after it dies (the alerts then stay until they expire)')
    .action(async (opts: DemoOptions) => {
      const { runDemo } = await import('./run-demo.ts');
      process.exitCode = await runDemo(opts);
    });
}

