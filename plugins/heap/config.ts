import { z } from 'zod';
import { durationSchema } from '../../agent/util/duration.ts';
import { sizeSchema } from './size.ts';

const nameSchema = z.string().regex(/^[\w.:-]+$/, 'expected letters, digits, "_", "-", "." or ":"');

/** One watched process (or group of processes): exactly one of pid, pid_file, match. */
const processTargetSchema = z
  .object({
    pid: z.number().int().positive().optional(),
    pid_file: z.string().min(1).optional(),
    /** Regular expression tested against /proc/<pid>/comm and the command line (args joined by spaces). */
    match: z.string().min(1).optional(),
    /** Series attribute `vigil.target`; default: the process's comm (pid, match) or the pid file's name. */
    name: nameSchema.optional(),
  })
  .strict()
  .superRefine((t, ctx) => {
    const n = [t.pid, t.pid_file, t.match].filter((v) => v !== undefined).length;
    if (n !== 1) ctx.addIssue({ code: 'custom', message: 'set exactly one of pid, pid_file, match' });
    if (t.match !== undefined) {
      try {
        new RegExp(t.match);
      } catch (err) {
        ctx.addIssue({ code: 'custom', path: ['match'], message: `invalid regular expression: ${(err as Error).message}` });
      }
    }
  });

const cgroupSchema = z
  .object({
    /**
     * Which cgroup: `self` (the agent's own, from /proc/self/cgroup), `process` (the first process
     * target's, from /proc/<pid>/cgroup), `path` (the `path` key), or `auto`: `path` when set, else
     * `process` when process targets are configured, else `self`.
     */
    from: z.enum(['auto', 'self', 'process', 'path']).default('auto'),
    /** A cgroup path as /proc/<pid>/cgroup shows it (`/kubepods/burstable/pod.../<id>`), under `root`. */
    path: z.string().startsWith('/', 'expected a cgroup path starting with "/"').optional(),
    /** Where the cgroup filesystem is mounted (e.g. a host mount `/host/sys/fs/cgroup`). */
    root: z.string().min(1).default('/sys/fs/cgroup'),
    /** Series attribute `vigil.target`. */
    name: nameSchema.default('container'),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.from === 'path' && c.path === undefined) {
      ctx.addIssue({ code: 'custom', path: ['path'], message: 'from: path needs a path' });
    }
  });

const v8TargetSchema = z
  .object({
    /** The app's Prometheus endpoint (prom-client default metrics or OTel v8js_* runtime metrics). */
    url: z.url({ protocol: /^https?$/, error: 'expected an http:// or https:// URL' }),
    /** Series attribute `vigil.target`; default: host:port of the URL. */
    name: nameSchema.optional(),
    timeout: durationSchema.default(2000),
    /** The V8 heap limit when the app does not export it (what --max-old-space-size sets, plus young generation). */
    heap_limit: sizeSchema.optional(),
    /** prom-client `collectDefaultMetrics({ prefix })` if the app set one. */
    prefix: z.string().default(''),
    /** Extra HTTP headers (e.g. Authorization). */
    headers: z.record(z.string(), z.string()).default({}),
  })
  .strict();

const SA_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

const kubeletSchema = z
  .object({
    /** Summary API URL; default https://$NODE_IP:10250/stats/summary (NODE_IP or HOST_IP from the Downward API). */
    url: z.url({ protocol: /^https?$/, error: 'expected an http:// or https:// URL' }).optional(),
    token_file: z.string().default(`${SA_DIR}/token`),
    /** CA bundle to verify the kubelet's certificate; default the service-account CA. */
    ca_file: z.string().default(`${SA_DIR}/ca.crt`),
    insecure_skip_verify: z.boolean().default(false),
    /** Pod to report; default env POD_NAME, then HOSTNAME. */
    pod: z.string().min(1).optional(),
    /** Namespace; default env POD_NAMESPACE, then the service-account namespace file. */
    namespace: z.string().min(1).optional(),
    /** Containers to report; default all of the pod's containers. */
    containers: z.array(z.string().min(1)).optional(),
    timeout: durationSchema.default(5000),
    /** The kubelet refreshes its stats every 10-15 s; it is asked at most this often (cached values in between). */
    min_interval: durationSchema.default(10_000),
  })
  .strict();

const thresholdsSchema = z
  .object({
    medium: z.number().gt(0).lt(1).default(0.7),
    high: z.number().gt(0).lt(1).default(0.8),
    critical: z.number().gt(0).lte(1).default(0.9),
  })
  .strict()
  .refine((t) => t.medium < t.high && t.high < t.critical, {
    message: 'expected medium < high < critical',
  });

export const heapOptionsSchema = z
  .object({
    process: z.array(processTargetSchema).default([]),
    /** Container memory from a cgroup; `cgroup: {}` for auto-detection. */
    cgroup: cgroupSchema.optional(),
    v8: z.array(v8TargetSchema).default([]),
    kubelet: kubeletSchema.optional(),
    /** The app container's memory limit when no cgroup limit can be read (a sidecar in Kubernetes). */
    memory_limit: sizeSchema.optional(),
    /** Environment variable holding that limit, filled by the Downward API (resourceFieldRef limits.memory). */
    memory_limit_env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected an environment variable name').optional(),
    pressure_thresholds: thresholdsSchema.prefault({}),
    /** Where procfs is mounted (a host mount, or a fixture tree in tests). */
    proc_root: z.string().min(1).default('/proc'),
    /** How often `match` targets rescan /proc for new processes (also rescanned when a match exits). */
    scan_interval: durationSchema.default(5000),
    /** Read /proc/<pid>/smaps_rollup for PSS; it costs a walk of the process's page tables. */
    smaps_rollup: z.boolean().default(true),
    /** How often smaps_rollup is read (PSS is re-reported from the last read in between). */
    smaps_rollup_interval: durationSchema.default(30_000),
    /** Count /proc/<pid>/fd entries. */
    file_descriptors: z.boolean().default(true),
  })
  .strict();

export type HeapOptions = z.output<typeof heapOptionsSchema>;
export type ProcessTarget = HeapOptions['process'][number];
export type CgroupOptions = z.output<typeof cgroupSchema>;
export type V8Target = HeapOptions['v8'][number];
export type KubeletOptions = z.output<typeof kubeletSchema>;
export type PressureThresholds = HeapOptions['pressure_thresholds'];

/** True when the options name no source at all: the plugin then watches its own cgroup (auto mode). */
export function isAutoMode(o: HeapOptions): boolean {
  return o.process.length === 0 && o.cgroup === undefined && o.v8.length === 0 && o.kubelet === undefined;
}
