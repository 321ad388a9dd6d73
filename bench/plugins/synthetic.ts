import { z } from 'zod';
import { definePlugin, type Attributes, type Sample } from '../../agent/plugin/api.ts';
import { zodOptions } from '../../agent/plugin/zod-options.ts';

/**
 * A plugin for benchmarks: emits `series` series every collection, 90% of them as a gauge
 * (a bounded random walk) and 10% as a counter, so both export paths are exercised. Loaded
 * by path like any third-party plugin: `use: ./bench/plugins/synthetic.ts`.
 */
const optionsSchema = z
  .object({
    series: z.number().int().min(1).max(1_000_000).default(1000),
    /** Attribute values per series stay fixed; `shards` only spreads them over a second label. */
    shards: z.number().int().min(1).max(1000).default(10),
  })
  .strict();

export const SYNTHETIC_GAUGE = 'vigil.bench.synthetic.level';
export const SYNTHETIC_COUNTER = 'vigil.bench.synthetic.events';

export default definePlugin<z.output<typeof optionsSchema>>({
  name: 'synthetic',
  description: 'Synthetic load for benchmarks: N series per collection.',
  metrics: [
    { name: SYNTHETIC_GAUGE, kind: 'gauge', unit: '1', description: 'A bounded random walk per synthetic series.', attributes: ['series', 'shard'] },
    { name: SYNTHETIC_COUNTER, kind: 'counter', unit: '{event}', description: 'A growing total per synthetic series.', attributes: ['series', 'shard'] },
  ],
  parseOptions: zodOptions(optionsSchema),
  create(opts) {
    const n = opts.series;
    const counters = Math.max(1, Math.floor(n / 10));
    const attrs: Attributes[] = [];
    for (let i = 0; i < n; i++) attrs.push(Object.freeze({ series: `s${String(i).padStart(6, '0')}`, shard: `shard-${i % opts.shards}` }));
    const values = new Float64Array(n);
    for (let i = 0; i < n; i++) values[i] = Math.random() * 100;
    return {
      collect(ctx): Sample[] {
        const out: Sample[] = new Array<Sample>(n);
        for (let i = 0; i < n; i++) {
          const isCounter = i < counters;
          const v = isCounter ? values[i]! + Math.floor(Math.random() * 5) : Math.min(100, Math.max(0, values[i]! + (Math.random() - 0.5) * 4));
          values[i] = v;
          out[i] = { metric: isCounter ? SYNTHETIC_COUNTER : SYNTHETIC_GAUGE, value: v, attributes: attrs[i]!, timestamp: ctx.now };
        }
        return out;
      },
    };
  },
});
