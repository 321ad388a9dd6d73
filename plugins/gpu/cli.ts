/**
 * `vigil gpu parse FILE [--format xml|csv|capture]`: reads a saved nvidia-smi output and prints
 * what vigil sees in it, as JSON. Users run it to debug; it is also how other GPUs' outputs
 * get checked. Parse problems go to stderr (exit code 1); the JSON still holds what was read.
 * Registration only: the parsers load when the command runs.
 */
import { readFile } from 'node:fs/promises';
import { Option, type Command } from 'commander';
import type { ParseFormat } from './parse-text.ts';

export function registerGpuCommands(program: Command): void {
  const gpu = program.command('gpu').description('NVIDIA GPU tools (nvidia-smi)');
  gpu
    .command('parse')
    .description('parse a saved nvidia-smi output (XML from -q -x, CSV from --query-gpu/--query-compute-apps, or a capture file with "# $ nvidia-smi ..." sections) and print the normalized result as JSON')
    .argument('<file>', 'file to parse')
    .addOption(new Option('--format <format>', 'input format (default: detected)').choices(['xml', 'csv', 'capture']))
    .option('--fields <list>', 'comma-separated column names of a header-less CSV')
    .action(async (file: string, opts: { format?: ParseFormat; fields?: string }) => {
      let text: string;
      try {
        text = await readFile(file, 'utf8');
      } catch (err) {
        process.stderr.write(`vigil gpu parse: cannot read ${file}: ${(err as Error).message}\n`);
        process.exitCode = 2;
        return;
      }
      const fields = opts.fields?.split(',').map((f) => f.trim()).filter((f) => f !== '');
      const { parseGpuText } = await import('./parse-text.ts');
      const out = parseGpuText(text, opts.format, fields);
      process.stdout.write(`${JSON.stringify(out.json, null, 2)}\n`);
      for (const e of out.errors) process.stderr.write(`${file}: ${e.message}\n`);
      if (out.errors.length > 0) process.exitCode = 1;
    });
}
