import type { Command } from 'commander';

// Placeholder: the owning area replaces this with its real commands.
export function registerDemoCommand(_program: Command): void {}
