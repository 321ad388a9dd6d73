import type { HttpMethod, RouteHandler, RouteOptions } from './routes.ts';

interface PrefixRoute {
  readonly path: string;
  readonly handlers: Map<HttpMethod, RouteHandler>;
}

export type RouteMatch =
  | { readonly kind: 'found'; readonly handler: RouteHandler }
  | { readonly kind: 'method-not-allowed'; readonly allowed: readonly string[] }
  | { readonly kind: 'not-found' };

const METHODS: readonly HttpMethod[] = ['GET', 'POST', 'PUT', 'DELETE'];

/**
 * Exact and prefix routes. Exact routes win; among prefix routes the longest prefix wins, and
 * a prefix matches only at a path-segment boundary (`/api/series` serves `/api/series/12`,
 * not `/api/seriesX`). HEAD is answered by the GET handler (node drops the body).
 */
export class Router {
  private readonly exact = new Map<string, Map<HttpMethod, RouteHandler>>();
  private prefixes: PrefixRoute[] = [];

  add(method: HttpMethod, path: string, handler: RouteHandler, options?: RouteOptions): void {
    if (!METHODS.includes(method)) throw new Error(`route ${path}: unsupported method ${String(method)}`);
    if (!path.startsWith('/')) throw new Error(`route ${JSON.stringify(path)}: path must start with "/"`);
    let handlers: Map<HttpMethod, RouteHandler>;
    if (options?.prefix) {
      const normal = path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
      let route = this.prefixes.find((r) => r.path === normal);
      if (!route) {
        route = { path: normal, handlers: new Map() };
        // Longest first so the most specific prefix wins.
        this.prefixes = [...this.prefixes, route].sort((a, b) => b.path.length - a.path.length);
      }
      handlers = route.handlers;
    } else {
      handlers = this.exact.get(path) ?? new Map();
      this.exact.set(path, handlers);
    }
    if (handlers.has(method)) throw new Error(`route ${method} ${path}${options?.prefix ? ' (prefix)' : ''} is already registered`);
    handlers.set(method, handler);
  }

  match(method: string, pathname: string): RouteMatch {
    const m = (method === 'HEAD' ? 'GET' : method) as HttpMethod;
    // Exact first, then prefixes longest first; a path known under other methods is a 405.
    let allowed: Set<string> | undefined;
    const exact = this.exact.get(pathname);
    if (exact) {
      const h = exact.get(m);
      if (h) return { kind: 'found', handler: h };
      allowed = addAllowed(allowed, exact);
    }
    for (const r of this.prefixes) {
      if (r.path === '/' || pathname === r.path || pathname.startsWith(`${r.path}/`)) {
        const h = r.handlers.get(m);
        if (h) return { kind: 'found', handler: h };
        allowed = addAllowed(allowed, r.handlers);
      }
    }
    return allowed ? { kind: 'method-not-allowed', allowed: [...allowed] } : { kind: 'not-found' };
  }
}

function addAllowed(set: Set<string> | undefined, handlers: Map<HttpMethod, RouteHandler>): Set<string> {
  const out = set ?? new Set<string>();
  for (const k of handlers.keys()) out.add(k);
  if (handlers.has('GET')) out.add('HEAD');
  return out;
}
