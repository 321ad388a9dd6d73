import type { Command } from 'commander';

// Registration only: the detector and NAB scorer load when their command runs, so `vigil run`
// does not carry them.

function parseSeed(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`--seed expects a non-negative integer, got ${JSON.stringify(v)}`);
  return n;
}

export function registerDetectCommands(program: Command): void {
  program
    .command('detect')
    .description('score a NAB-format series (timestamp,value) with the streaming anomaly detector the agent runs')
    .requiredOption('--input <file>', 'CSV with a header timestamp,value')
    .requiredOption('--output <file>', 'CSV to write: timestamp,value,anomaly_score (one row per input row, same order)')
    .option('--seed <n>', 'PRNG seed of the isolation forest', parseSeed)
    .action(async (o: { input: string; output: string; seed?: number }) => {
      const { runDetect } = await import('./commands.ts');
      const { rows } = await runDetect(o.input, o.output, o.seed);
      process.stderr.write(`vigil detect: ${rows} rows scored → ${o.output}\n`);
    });

  const evalCmd = program.commands.find((c) => c.name() === 'eval') ?? program.command('eval').description('evaluate detectors on benchmarks');
  evalCmd
    .command('nab')
    .description('score the anomaly detector NAB-style (standard, reward_low_FP_rate, reward_low_FN_rate)')
    .requiredOption('--data <dir>', 'NAB data directory (<category>/<file>.csv)')
    .requiredOption('--labels <file>', 'NAB combined_windows.json')
    .option('--detector-output <dir>', 'score these precomputed outputs (<category>/<file>.csv with anomaly_score) instead of running the detector')
    .option('--seed <n>', 'PRNG seed when running the detector', parseSeed)
    .option('--json', 'print the full result as JSON')
    .action(async (o: { data: string; labels: string; detectorOutput?: string; seed?: number; json?: boolean }) => {
      const { runEvalNab } = await import('./commands.ts');
      const results = await runEvalNab(o);
      if (o.json) {
        process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
        return;
      }
      const files = results[0]?.perFile.length ?? 0;
      process.stdout.write(`NAB scores over ${files} files (threshold optimised per profile)\n`);
      for (const r of results) {
        process.stdout.write(`${r.profile.padEnd(20)} ${r.normalised.toFixed(2).padStart(7)}   (threshold ${r.threshold.toFixed(4)}, raw ${r.raw.toFixed(2)}, null ${r.nullRaw.toFixed(2)}, perfect ${r.perfectRaw.toFixed(2)})\n`);
      }
    });
}
