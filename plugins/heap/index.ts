import { definePlugin } from '../../agent/plugin/api.ts';
import { zodOptions } from '../../agent/plugin/zod-options.ts';
import { HeapCollector } from './collector.ts';
import { heapOptionsSchema, type HeapOptions } from './config.ts';
import { HEAP_METRICS } from './metrics.ts';

/**
 * heap: the app's memory from every angle a sidecar can see — processes (/proc), its container
 * (cgroup v1/v2), its Node.js V8 heap (the app's Prometheus endpoint) and the kubelet's view —
 * each next to the limit that will kill it.
 */
export default definePlugin<HeapOptions>({
  name: 'heap',
  description:
    'Process, container (cgroup v1/v2, kubelet) and Node.js V8 heap memory with limits, utilization, pressure level and OOM kills',
  metrics: HEAP_METRICS,
  parseOptions: zodOptions(heapOptionsSchema),
  create: (options, ctx) => new HeapCollector(options, ctx),
});
