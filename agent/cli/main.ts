import { Command, Option } from 'commander';
import { registerRunCommand } from './run.ts';
import { registerCheckCommand } from './check.ts';
import { registerCollectCommand } from './collect.ts';
import { registerPluginsCommand } from './plugins.ts';
import { registerGpuCommands } from '../../plugins/gpu/cli.ts';
import { registerDetectCommands } from '../detect/anomaly/cli.ts';
import { registerDemoCommand } from '../demo/cli.ts';
import { VERSION } from '../version.ts';

/** Builds the `vigil` command tree (exported for tests). */
export function buildProgram(): Command {
  const program = new Command('vigil')
    .description('vigil: an OpenTelemetry sidecar that sees memory, GPU, cache and queue trouble coming')
    .version(VERSION)
    .showHelpAfterError()
    .addOption(new Option('--no-color', 'plain output').hideHelp());
  registerRunCommand(program);
  registerCheckCommand(program);
  registerCollectCommand(program);
  registerPluginsCommand(program);
  registerGpuCommands(program);
  registerDetectCommands(program);
  registerDemoCommand(program);
  return program;
}

await buildProgram().parseAsync(process.argv);
