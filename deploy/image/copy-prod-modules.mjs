#!/usr/bin/env node
// Copies the production dependency closure of node_modules into <dest>/node_modules, using
// package-lock.json's own `dev` flags (what `npm ci --omit=dev` would install). Lets the
// bundle be assembled from an existing checkout without running npm; packages that are
// optional for other platforms (esbuild's per-OS binaries) are copied only where present.
import { cpSync, existsSync, readFileSync, mkdirSync } from 'node:fs';
import { join, dirname } from 'node:path';

const [root, dest] = process.argv.slice(2);
if (!root || !dest) {
  console.error('usage: copy-prod-modules.mjs <project-root> <bundle-dir>');
  process.exit(2);
}
const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8'));
if (lock.lockfileVersion < 2 || !lock.packages) {
  console.error(`${join(root, 'package-lock.json')}: lockfileVersion ${lock.lockfileVersion} has no "packages" map (need npm 7+)`);
  process.exit(1);
}
// Never loaded by Node at run time: type declarations and source maps.
const TYPES_OR_MAPS = /(\.d\.[cm]?ts|\.map)$/;

/**
 * Build variants Node never loads: a package without an `exports` map is resolved through
 * `main` only, so its `module`/`esnext` builds (OpenTelemetry ships three builds of every
 * package; a third of the image) serve bundlers alone.
 */
function unusedBuilds(pkgDir) {
  let pkg;
  try {
    pkg = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8'));
  } catch {
    return [];
  }
  if (pkg.exports !== undefined || typeof pkg.main !== 'string') return [];
  const mainDir = '/' + pkg.main.replace(/^\.\//, '').split('/').slice(0, 2).join('/');
  const out = [];
  for (const field of ['module', 'esnext']) {
    const f = pkg[field];
    if (typeof f !== 'string') continue;
    const dir = '/' + f.replace(/^\.\//, '').split('/').slice(0, 2).join('/');
    // Only whole sibling build directories (build/esm next to build/src), never main's own.
    if (dir !== mainDir && dir.split('/').length === 3) out.push(dir);
  }
  return out;
}

let copied = 0;
let missing = [];
for (const [path, meta] of Object.entries(lock.packages)) {
  if (path === '' || meta.dev || meta.devOptional || meta.link) continue;
  const from = join(root, path);
  if (!existsSync(from)) {
    if (!meta.optional) missing.push(path);
    continue;
  }
  const to = join(dest, path);
  mkdirSync(dirname(to), { recursive: true });
  const unused = unusedBuilds(from);
  cpSync(from, to, {
    recursive: true,
    dereference: false,
    filter: (src) => {
      if (src === from) return true;
      const rel = src.slice(from.length);
      // Nested node_modules are copied by their own lock entries.
      if (rel.includes('/node_modules')) return false;
      if (TYPES_OR_MAPS.test(rel)) return false;
      return !unused.some((dir) => rel === dir || rel.startsWith(dir + '/'));
    },
  });
  copied++;
}
if (missing.length > 0) {
  console.error(`production packages missing from ${root}/node_modules (run npm ci first): ${missing.join(', ')}`);
  process.exit(1);
}
console.log(`copied ${copied} production packages`);
