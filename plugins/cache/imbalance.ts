import type { Sample } from '../../agent/plugin/api.ts';
import { M } from './metrics.ts';

/** What a node contributes to its group's balance figures. */
export interface NodeLoad {
  readonly system: string;
  readonly group: string;
  /** Node attributes (NODE_ATTRS). */
  readonly attributes: Readonly<Record<string, string | number>>;
  /** Keys/items stored; undefined when the node could not be read. */
  readonly keys: number | undefined;
  /** Commands over the last interval; undefined when unknown (first interval, reset). */
  readonly commands: number | undefined;
  /** Only primaries count: replicas mirror their primary's keys. */
  readonly primary: boolean;
}

/**
 * Relative imbalance of shares: max |share·n − 1|. 0 when every node has 1/n; 0.5 means the
 * furthest node is 50% above (or below) its even share; n−1 when one node has everything.
 */
export function imbalance(values: readonly number[]): { imbalance: number; shares: number[] } | undefined {
  const n = values.length;
  if (n < 2) return undefined;
  let total = 0;
  for (const v of values) total += v;
  if (!(total > 0)) return undefined;
  const shares = values.map((v) => v / total);
  let worst = 0;
  for (const s of shares) worst = Math.max(worst, Math.abs(s * n - 1));
  return { imbalance: worst, shares };
}

/**
 * Share and imbalance samples per group and kind. A group where any primary is missing a
 * figure (node down, first interval) gets none for that kind: a share computed without a
 * node would show a fake hot shard.
 */
export function balanceSamples(loads: readonly NodeLoad[]): Sample[] {
  const groups = new Map<string, NodeLoad[]>();
  for (const l of loads) {
    if (!l.primary) continue;
    const k = `${l.system}\u0000${l.group}`;
    let g = groups.get(k);
    if (!g) groups.set(k, (g = []));
    g.push(l);
  }
  const out: Sample[] = [];
  for (const g of groups.values()) {
    for (const kind of ['keys', 'commands'] as const) {
      const values = g.map((l) => l[kind]);
      if (values.some((v) => v === undefined)) continue;
      const r = imbalance(values as number[]);
      if (!r) continue;
      const first = g[0]!;
      out.push({ metric: M.imbalance, value: r.imbalance, attributes: { 'db.system.name': first.system, 'vigil.cache.group': first.group, kind } });
      g.forEach((l, i) => out.push({ metric: M.share, value: r.shares[i]!, attributes: { ...l.attributes, 'vigil.cache.group': l.group, kind } }));
    }
  }
  return out;
}
