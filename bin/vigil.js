#!/usr/bin/env -S node --max-semi-space-size=4
// --max-semi-space-size=4: a 4 MiB young generation instead of V8's 32 MiB cuts the agent's RSS by
// ~20 MiB at the same CPU (bench:overhead); `npm start` and the container image pass it too.
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
