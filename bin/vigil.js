#!/usr/bin/env node
// In a checkout, run the TypeScript sources through tsx (never a stale dist/); in the
// production bundle (dist/ only, as the container image ships it), run the compiled CLI.
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const source = join(root, 'agent', 'cli', 'main.ts');
if (existsSync(source) && process.env.VIGIL_USE_DIST !== '1') {
  const { register } = await import('tsx/esm/api');
  register();
  await import(pathToFileURL(source).href);
} else {
  await import(pathToFileURL(join(root, 'dist', 'agent', 'cli', 'main.js')).href);
}
