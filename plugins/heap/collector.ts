import {
  PluginUnavailableError,
  type CollectContext,
  type PluginInitContext,
  type PluginInstance,
  type Sample,
} from '../../agent/plugin/api.ts';
import { Batch } from './batch.ts';
import { isAutoMode, type CgroupOptions, type HeapOptions } from './config.ts';
import { SourceHealth } from './health.ts';
import { A, M } from './metrics.ts';
import { addDerived } from './pressure.ts';
import { parseSize } from './size.ts';
import { CgroupSource } from './sources/cgroup.ts';
import { KubeletSource } from './sources/kubelet.ts';
import { ProcessSource } from './sources/process.ts';
import { V8Source } from './sources/v8.ts';

const AUTO_CGROUP: CgroupOptions = { from: 'self', root: '/sys/fs/cgroup', name: 'container' };

/**
 * One heap plugin instance: runs the configured sources each collection, derives limit /
 * utilization / pressure per scope, and reports a source's failure without losing the others.
 */
export class HeapCollector implements PluginInstance {
  private readonly process: ProcessSource | undefined;
  private readonly cgroup: CgroupSource | undefined;
  private readonly v8: V8Source | undefined;
  private readonly kubelet: KubeletSource | undefined;
  private readonly health = new SourceHealth();
  private readonly limitOverride: number | undefined;
  private readonly limitProblem: string | undefined;

  constructor(
    private readonly o: HeapOptions,
    private readonly init: Pick<PluginInitContext, 'logger'>,
    env: NodeJS.ProcessEnv = process.env,
  ) {
    let override = o.memory_limit;
    if (override === undefined && o.memory_limit_env !== undefined) {
      const raw = env[o.memory_limit_env];
      const v = raw !== undefined ? parseSize(raw) : undefined;
      if (v !== undefined && v > 0) override = v;
      else {
        this.limitProblem =
          raw === undefined
            ? `memory_limit_env: ${o.memory_limit_env} is not set`
            : `memory_limit_env: ${o.memory_limit_env}=${JSON.stringify(raw.slice(0, 30))} is not a size`;
      }
    }
    this.limitOverride = override;
    const cg = o.cgroup ?? (isAutoMode(o) ? AUTO_CGROUP : undefined);
    if (o.process.length > 0) {
      this.process = new ProcessSource(o.process, {
        procRoot: o.proc_root,
        cgroupRoot: cg?.root ?? '/sys/fs/cgroup',
        scanIntervalMs: o.scan_interval,
        smapsRollup: o.smaps_rollup,
        smapsIntervalMs: o.smaps_rollup_interval,
        fileDescriptors: o.file_descriptors,
        limitOverride: override,
        selfPid: process.pid,
      });
    }
    if (cg) {
      const mode = cg.from !== 'auto' ? cg.from : cg.path !== undefined ? 'path' : this.process ? 'process' : 'self';
      this.cgroup = new CgroupSource(cg, o.proc_root, override, () => this.process?.firstPid(), mode);
    }
    if (o.v8.length > 0) this.v8 = new V8Source(o.v8);
    if (o.kubelet) this.kubelet = new KubeletSource(o.kubelet, env);
  }

  async collect(ctx: CollectContext): Promise<readonly Sample[]> {
    const batch = new Batch();
    if (this.limitProblem) batch.warn('memory_limit_env', this.limitProblem);
    // The cgroup source may take its cgroup from a process target's pid, so processes go first.
    if (this.process) await this.process.collect(batch, ctx.now);
    await Promise.all([
      this.cgroup?.collect(batch),
      this.v8?.collect(batch, ctx.signal),
      this.kubelet?.collect(batch, ctx.signal, ctx.now),
    ]);
    addDerived(batch, this.o.pressure_thresholds);
    for (const r of batch.reports) {
      batch.add(M.sourceUp, r.error === undefined ? 1 : 0, { [A.target]: r.target, [A.source]: r.source });
    }
    this.health.observe(batch, ctx.logger ?? this.init.logger);
    const failed = batch.reports.filter((r) => r.error !== undefined);
    if (batch.reports.length > 0 && failed.length === batch.reports.length) {
      const msg = failed.map((r) => `${r.source} ${r.target}: ${r.error}`).join('; ');
      if (failed.every((r) => r.unavailable)) throw new PluginUnavailableError(msg);
      throw new Error(msg);
    }
    return batch.samples;
  }

  /** Current per-source errors (`source target: message`), for diagnostics. */
  errors(): string[] {
    return this.health.current();
  }

  stop(): void {
    this.process?.stop();
    this.cgroup?.stop();
    this.v8?.stop();
    this.kubelet?.stop();
  }
}
