import type { Command } from 'commander';

// Placeholder: the owning area replaces this with its real commands.
export function registerDetectCommands(_program: Command): void {}
