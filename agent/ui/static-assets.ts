import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { join, dirname } from 'node:path';
import { createHash } from 'node:crypto';

export interface Asset {
  readonly body: Buffer;
  readonly type: string;
  readonly etag: string;
}

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);

/**
 * The page's files, by URL name. The page and its script live next to this module (the
 * build copies `agent/ui/static/` into `dist/`); uPlot comes from node_modules, so the page
 * works offline and behind air gaps (no CDN).
 */
function assetPaths(): Record<string, { path: string; type: string }> {
  const uplotDir = dirname(require.resolve('uplot/dist/uPlot.iife.min.js'));
  return {
    'index.html': { path: join(here, 'static', 'index.html'), type: 'text/html; charset=utf-8' },
    'app.js': { path: join(here, 'static', 'app.js'), type: 'text/javascript; charset=utf-8' },
    'app.css': { path: join(here, 'static', 'app.css'), type: 'text/css; charset=utf-8' },
    'uplot.js': { path: join(uplotDir, 'uPlot.iife.min.js'), type: 'text/javascript; charset=utf-8' },
    'uplot.css': { path: join(uplotDir, 'uPlot.min.css'), type: 'text/css; charset=utf-8' },
  };
}

/** Loads assets on first request and keeps them (about 60 KiB in all); nothing at start-up. */
export class AssetCache {
  private readonly cache = new Map<string, Promise<Asset>>();
  private paths: Record<string, { path: string; type: string }> | undefined;

  has(name: string): boolean {
    this.paths ??= assetPaths();
    return Object.hasOwn(this.paths, name);
  }

  get(name: string): Promise<Asset> {
    this.paths ??= assetPaths();
    const entry = this.paths[name];
    if (!entry) return Promise.reject(new Error(`no UI asset ${name}`));
    let p = this.cache.get(name);
    if (!p) {
      p = readFile(entry.path).then(
        (body) => ({ body, type: entry.type, etag: `"${createHash('sha1').update(body).digest('base64url').slice(0, 16)}"` }),
        (err: unknown) => {
          this.cache.delete(name);
          throw new Error(`live page asset ${name} not readable at ${entry.path}: ${(err as Error).message}`);
        },
      );
      this.cache.set(name, p);
    }
    return p;
  }
}
