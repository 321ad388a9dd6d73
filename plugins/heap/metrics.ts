import type { MetricSpec } from '../../agent/plugin/api.ts';

/**
 * The heap plugin's metrics: the one place they are declared. Names follow the OpenTelemetry
 * semantic conventions where one exists (process.*, container.*, v8js.*), `vigil.*` otherwise.
 */

/** Attribute keys. */
export const A = {
  /** Which configured thing a series belongs to (process name, container name, v8 target name). */
  target: 'vigil.target',
  /** process | container | v8_heap: which usage a limit/utilization/pressure series describes. */
  scope: 'vigil.memory.scope',
  pid: 'process.pid',
  memType: 'vigil.memory.type',
  processFault: 'process.paging.fault_type',
  containerFault: 'system.paging.fault.type',
  event: 'vigil.memory.event',
  psiStall: 'vigil.psi.stall',
  psiWindow: 'vigil.psi.window',
  space: 'v8js.heap.space.name',
  gcType: 'v8js.gc.type',
  pod: 'k8s.pod.name',
  namespace: 'k8s.namespace.name',
  container: 'k8s.container.name',
  source: 'vigil.source',
} as const;

export type Scope = 'process' | 'container' | 'v8_heap';

/** Metric names. */
export const M = {
  // process source
  processRss: 'process.memory.usage',
  processVirtual: 'process.memory.virtual',
  processRssBreakdown: 'vigil.process.memory.rss',
  processPeak: 'vigil.process.memory.peak',
  processSwap: 'vigil.process.memory.swap',
  processPss: 'vigil.process.memory.pss',
  processThreads: 'process.thread.count',
  processFds: 'process.unix.file_descriptor.count',
  processFdLimit: 'vigil.process.file_descriptor.limit',
  processFaults: 'process.paging.faults',
  processOomScore: 'vigil.process.oom_score',
  // cgroup and kubelet sources
  containerUsage: 'container.memory.usage',
  containerWorkingSet: 'container.memory.working_set',
  containerRss: 'container.memory.rss',
  containerStat: 'vigil.container.memory.stat',
  containerSwap: 'vigil.container.memory.swap',
  containerHigh: 'vigil.container.memory.high',
  containerEvents: 'vigil.container.memory.events',
  containerOomKills: 'vigil.container.memory.oom_kills',
  containerUnderOom: 'vigil.container.memory.under_oom',
  containerPsi: 'vigil.container.memory.pressure.stall',
  containerPsiTime: 'vigil.container.memory.pressure.stall_time',
  containerFaults: 'container.memory.paging.faults',
  // v8 source
  heapUsed: 'v8js.memory.heap.used',
  heapTotal: 'vigil.v8.memory.heap.total',
  heapSpaceUsed: 'vigil.v8.memory.heap.space.used',
  heapSpaceSize: 'vigil.v8.memory.heap.space.size',
  heapSpaceAvailable: 'v8js.memory.heap.space.available_size',
  heapSpacePhysical: 'v8js.memory.heap.space.physical_size',
  external: 'vigil.v8.memory.external',
  gcDuration: 'v8js.gc.duration',
  gcCount: 'vigil.v8.gc.count',
  // derived, every scope
  limit: 'vigil.memory.limit',
  utilization: 'vigil.memory.utilization',
  pressure: 'vigil.memory.pressure.level',
  // health
  sourceUp: 'vigil.heap.source.up',
} as const;

/** Pressure level values of `vigil.memory.pressure.level`. */
export const PRESSURE_LEVELS = ['low', 'medium', 'high', 'critical'] as const;
export type PressureLevel = (typeof PRESSURE_LEVELS)[number];

const PROC = [A.target, A.pid] as const;
const CONT = [A.target, A.pod, A.namespace, A.container] as const;
const V8 = [A.target] as const;
const DERIVED = [A.target, A.scope, A.pid, A.pod, A.namespace, A.container] as const;

const gauge = (
  name: string,
  unit: string,
  description: string,
  attributes: readonly string[],
  extra: Partial<MetricSpec> = {},
): MetricSpec => ({ name, kind: 'gauge', unit, description, attributes, ...extra });
const counter = (name: string, unit: string, description: string, attributes: readonly string[]): MetricSpec => ({
  name,
  kind: 'counter',
  unit,
  description,
  attributes,
});
const limitOf = (scope: Scope): Partial<MetricSpec> => ({ limit: M.limit, limitAttributes: { [A.scope]: scope } });

export const HEAP_METRICS: readonly MetricSpec[] = [
  gauge(M.processRss, 'By', 'Resident set size of the process (VmRSS).', PROC, limitOf('process')),
  gauge(M.processVirtual, 'By', 'Virtual memory size of the process (VmSize).', PROC),
  gauge(M.processRssBreakdown, 'By', 'Resident memory by type: anon, file, shmem (RssAnon/RssFile/RssShmem).', [
    ...PROC,
    A.memType,
  ]),
  gauge(M.processPeak, 'By', 'Peak resident set size of the process (VmHWM).', PROC),
  gauge(M.processSwap, 'By', 'Swapped-out anonymous memory of the process (VmSwap).', PROC),
  gauge(M.processPss, 'By', 'Proportional set size from smaps_rollup (shared pages divided among sharers).', PROC),
  gauge(M.processThreads, '{thread}', 'Threads in the process.', PROC),
  gauge(M.processFds, '{file_descriptor}', 'Open file descriptors of the process.', PROC, {
    limit: M.processFdLimit,
  }),
  gauge(M.processFdLimit, '{file_descriptor}', 'Soft limit on open file descriptors (RLIMIT_NOFILE).', PROC),
  counter(M.processFaults, '{fault}', 'Page faults of the process since it started, by type: minor, major.', [
    ...PROC,
    A.processFault,
  ]),
  gauge(M.processOomScore, '1', 'The kernel OOM killer badness score of the process (0..1000+; highest dies first).', PROC),

  gauge(
    M.containerUsage,
    'By',
    'Memory charged to the container cgroup, page cache included (v2 memory.current, v1 memory.usage_in_bytes; kubelet usageBytes).',
    CONT,
    limitOf('container'),
  ),
  gauge(
    M.containerWorkingSet,
    'By',
    'Working set: usage minus inactive file cache. What the kubelet evicts on and what the OOM killer approaches; forecast this.',
    CONT,
    limitOf('container'),
  ),
  gauge(M.containerRss, 'By', 'Anonymous (non-file) memory of the container (v2 anon, v1 total_rss; kubelet rssBytes).', CONT),
  gauge(M.containerStat, 'By', 'Container memory by type from memory.stat: anon, file, kernel, sock, shmem, file_mapped, active_file, inactive_file, ...', [
    ...CONT,
    A.memType,
  ]),
  gauge(M.containerSwap, 'By', 'Swap used by the container (v2 memory.swap.current, v1 memsw - usage).', CONT),
  gauge(M.containerHigh, 'By', 'The cgroup v2 memory.high throttling threshold (absent when max).', CONT),
  counter(M.containerEvents, '{event}', 'cgroup memory events: v2 memory.events low/high/max/oom; v1 failcnt as max.', [
    ...CONT,
    A.event,
  ]),
  counter(M.containerOomKills, '{kill}', 'Processes of the container killed by the OOM killer (v2 memory.events oom_kill, v1 memory.oom_control oom_kill).', CONT),
  gauge(M.containerUnderOom, '1', '1 while the cgroup is under OOM (v1 memory.oom_control under_oom).', CONT),
  gauge(M.containerPsi, '1', 'Memory pressure stall information: share of time tasks stalled on memory (v2 memory.pressure avg10/avg60/avg300 / 100).', [
    ...CONT,
    A.psiStall,
    A.psiWindow,
  ]),
  counter(M.containerPsiTime, 's', 'Total time tasks stalled on memory (v2 memory.pressure total).', [...CONT, A.psiStall]),
  counter(M.containerFaults, '{fault}', 'Page faults in the container, by type: minor, major.', [...CONT, A.containerFault]),

  gauge(M.heapUsed, 'By', 'V8 heap used (prom-client nodejs_heap_size_used_bytes, or the sum of OTel v8js_memory_heap_used).', V8, limitOf('v8_heap')),
  gauge(M.heapTotal, 'By', 'V8 heap committed size (nodejs_heap_size_total_bytes).', V8),
  gauge(M.heapSpaceUsed, 'By', 'V8 heap used per space.', [...V8, A.space]),
  gauge(M.heapSpaceSize, 'By', 'V8 heap committed size per space.', [...V8, A.space]),
  gauge(M.heapSpaceAvailable, 'By', 'V8 heap space available size per space.', [...V8, A.space]),
  gauge(M.heapSpacePhysical, 'By', 'V8 heap space physical size per space (OTel runtime metrics only).', [...V8, A.space]),
  gauge(M.external, 'By', 'Memory of C++ objects bound to JavaScript objects (nodejs_external_memory_bytes).', V8),
  counter(M.gcDuration, 's', 'Total time spent in garbage collection, by GC type (sum of the app\'s GC duration histogram).', [
    ...V8,
    A.gcType,
  ]),
  counter(M.gcCount, '{gc}', 'Garbage collections, by GC type (count of the app\'s GC duration histogram).', [...V8, A.gcType]),

  gauge(M.limit, 'By', 'The memory limit of a scope: container cgroup/Downward API limit, process (its container\'s limit), V8 heap limit.', DERIVED),
  gauge(M.utilization, '1', 'Usage / limit (0..1) per scope: container working set, process RSS, V8 heap used. Absent when unlimited.', DERIVED),
  gauge(
    M.pressure,
    '1',
    'Pressure level from utilization: 0 low, 1 medium, 2 high, 3 critical (thresholds pressure_thresholds, default 0.70/0.80/0.90).',
    DERIVED,
  ),
  gauge(M.sourceUp, '1', '1 when the last collection of a configured source (process, cgroup, v8, kubelet) succeeded, else 0.', [
    A.target,
    A.source,
  ]),
];
