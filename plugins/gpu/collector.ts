/**
 * The gpu plugin instance: loop mode (one long-running `nvidia-smi --query-gpu -lms` child
 * plus a slower `--query-compute-apps`) or xml mode (`nvidia-smi -q -x` per collection).
 *
 * Freshness rule: every GPU sample carries the time its nvidia-smi output was read, and each
 * row is reported once. When nothing new arrived the collection reports no GPU values; when
 * nothing arrived for longer than the stall timeout it fails. Old values are never repeated
 * as if they were new.
 */
import type { CollectContext, PluginInitContext, PluginInstance, PluginLogger, Sample } from '../../agent/plugin/api.ts';
import type { GpuOptions } from './config.ts';
import { M } from './metrics.ts';
import { attachProcesses, derive, type Gpu, type ProcessRow, type RawGpu } from './normalize.ts';
import { chooseQueryFields, COMPUTE_APPS_FIELDS, parseComputeAppsCsv, parseHelpQueryGpu, parseQueryGpuCsv } from './parse/csv.ts';
import { GpuParseError } from './parse/errors.ts';
import { parseNvidiaSmiXml } from './parse/xml.ts';
import { gpuSamples, migSamples, processSamples } from './samples.ts';
import { checkResult, ExecBusyError, ExecGate, ExecTimeoutError, type ExecResult } from './runner/exec.ts';
import { LoopRunner } from './runner/loop.ts';

export type FailureKind = 'timeout' | 'stall' | 'exit' | 'spawn' | 'busy' | 'unavailable';
const FAILURE_KINDS: readonly FailureKind[] = ['timeout', 'stall', 'exit', 'spawn', 'busy', 'unavailable'];

interface Row {
  readonly gpu: Gpu;
  readonly at: number;
}

const MAX_PENDING_ROWS = 4096;

function gpuKey(g: Gpu): string {
  return g.uuid ?? g.pciBusId ?? `index:${g.index ?? '?'}`;
}

export class GpuCollector implements PluginInstance {
  readonly parseErrors = new Map<string, number>();
  readonly failures = new Map<FailureKind, number>();
  private readonly gate = new ExecGate();
  private readonly stopController = new AbortController();
  private readonly logger: PluginLogger;
  private readonly intervalMs: number;
  private readonly stallTimeoutMs: number;
  private loop: LoopRunner | null = null;
  private fields: string[] = [];
  private pending: Row[] = [];
  private readonly latest = new Map<string, Gpu>();
  private lastRowAt: number | null = null;
  private startedAt = 0;
  private apps: { rows: ProcessRow[]; migGpus: RawGpu[] | null; at: number; emitted: boolean } | null = null;
  private lastAppsStart = -Infinity;
  private rowWaiters: (() => void)[] = [];
  private lastParseLog = 0;
  private suppressedParseLogs = 0;

  constructor(
    private readonly opts: GpuOptions,
    init: PluginInitContext,
  ) {
    this.logger = init.logger;
    this.intervalMs = Math.max(100, init.intervalMs);
    this.stallTimeoutMs = opts.stall_timeout ?? Math.max(3 * this.intervalMs, 5_000);
  }

  /** The query-gpu fields loop mode asked for (after `--help-query-gpu`). */
  get queryFields(): readonly string[] {
    return this.fields;
  }

  /** Loop rows read and not yet reported. */
  get bufferedRows(): number {
    return this.pending.length;
  }

  get loopRunner(): LoopRunner | null {
    return this.loop;
  }

  async start(): Promise<void> {
    this.startedAt = Date.now();
    if (this.opts.mode === 'xml') return;
    this.fields = await this.discoverFields();
    this.loop = new LoopRunner({
      binary: this.opts.binary,
      args: [...this.opts.extra_args, `--query-gpu=${this.fields.join(',')}`, '--format=csv,noheader,nounits', '-lms', String(this.intervalMs)],
      stallTimeoutMs: this.stallTimeoutMs,
      backoffInitialMs: this.opts.restart_backoff,
      backoffMaxMs: this.opts.restart_backoff_max,
      onLine: (line, at) => this.onLoopLine(line, at),
      onGarbage: (reason, text) => this.countParseErrors([new GpuParseError(reason, { source: 'csv', excerpt: text.slice(0, 120) })]),
      onExit: (info) => {
        this.countFailure(info.reason === 'stall' ? 'stall' : info.reason === 'spawn-error' ? 'spawn' : this.loop?.unavailable ? 'unavailable' : 'exit');
        this.logger.warn({ reason: info.reason, code: info.code, signal: info.signal, restartInMs: info.restartInMs }, `nvidia-smi loop ended: ${info.message}`);
        this.wakeWaiters();
      },
    });
    this.loop.start();
    this.maybeStartApps(Date.now());
  }

  /** Asks the driver which query fields it knows; an unknown field would make nvidia-smi fail. */
  private async discoverFields(): Promise<string[]> {
    let r: ExecResult;
    try {
      r = await this.exec('help', ['--help-query-gpu']);
      checkResult(r, this.opts.binary, '--help-query-gpu');
    } catch (err) {
      if (err instanceof Error && err.name === 'PluginUnavailableError') throw err;
      this.logger.warn({ err: (err as Error).message }, 'nvidia-smi --help-query-gpu failed; using the legacy field list');
      return chooseQueryFields(null);
    }
    const supported = parseHelpQueryGpu(r.stdout);
    if (supported.size === 0) {
      this.countParseErrors([new GpuParseError('no field names found', { source: 'help-query-gpu', excerpt: r.stdout.slice(0, 120) })]);
    }
    return chooseQueryFields(supported.size > 0 ? supported : null);
  }

  private exec(kind: string, args: readonly string[], signal?: AbortSignal): Promise<ExecResult> {
    const signals = signal ? [this.stopController.signal, signal] : [this.stopController.signal];
    return this.gate
      .run(kind, { binary: this.opts.binary, args: [...this.opts.extra_args, ...args], timeoutMs: this.opts.exec_timeout, signal: AbortSignal.any(signals) })
      .catch((err: unknown) => {
        if (err instanceof ExecBusyError) this.countFailure('busy');
        else if (err instanceof ExecTimeoutError) this.countFailure('timeout');
        else if (err instanceof Error && err.name === 'PluginUnavailableError') this.countFailure('unavailable');
        else this.countFailure('spawn');
        throw err;
      });
  }

  private onLoopLine(line: string, at: number): void {
    const r = parseQueryGpuCsv(line, this.fields, 0, false);
    // Rows with the wrong shape are dropped by the parser; a single unreadable value in an
    // otherwise sound row becomes "not reported" (no sample), never a guess.
    if (r.errors.length > 0) this.countParseErrors(r.errors);
    for (const raw of r.gpus) {
      const gpu = derive(raw, this.opts.pressure_thresholds);
      this.pending.push({ gpu, at });
      this.latest.set(gpuKey(gpu), gpu);
      this.lastRowAt = at;
    }
    if (this.pending.length > MAX_PENDING_ROWS) this.pending.splice(0, this.pending.length - MAX_PENDING_ROWS);
    this.wakeWaiters();
  }

  private wakeWaiters(): void {
    const w = this.rowWaiters;
    this.rowWaiters = [];
    for (const f of w) f();
  }

  /** Waits for the next loop row (or the loop ending, or abort, or maxMs). */
  private waitForRow(signal: AbortSignal, maxMs: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(t);
        signal.removeEventListener('abort', done);
        resolve();
      };
      const t = setTimeout(done, maxMs);
      signal.addEventListener('abort', done, { once: true });
      this.rowWaiters.push(done);
    });
  }

  async collect(ctx: CollectContext): Promise<readonly Sample[]> {
    return this.opts.mode === 'xml' ? this.collectXml(ctx) : this.collectLoop(ctx);
  }

  private async collectLoop(ctx: CollectContext): Promise<Sample[]> {
    const loop = this.loop;
    if (!loop) throw new Error('gpu plugin: collect before start');
    // Before the first row, give the child up to one interval (bounded by the host timeout).
    if (this.pending.length === 0 && this.lastRowAt === null && !loop.unavailable && !ctx.signal.aborted) {
      await this.waitForRow(ctx.signal, Math.min(this.stallTimeoutMs, Math.max(this.intervalMs, 1_000)));
    }
    const now = Date.now();
    const fresh = this.pending;
    this.pending = [];
    const out: Sample[] = [];
    if (fresh.length === 0) {
      if (loop.unavailable) throw loop.unavailable;
      const since = this.lastRowAt ?? this.startedAt;
      if (now - since > this.stallTimeoutMs) {
        throw new Error(`gpu: no GPU data from nvidia-smi for ${now - since} ms${loop.lastError ? ` (${loop.lastError.message})` : ''}`);
      }
      // Healthy loop, nothing new since the last collection: report no GPU values at all.
      return this.counterSamples(now, out);
    }
    const seen = new Set<string>();
    for (const row of fresh) {
      seen.add(gpuKey(row.gpu));
      gpuSamples(row.gpu, row.at, out);
    }
    out.push({ metric: M.count, value: seen.size, timestamp: fresh[fresh.length - 1]!.at });
    this.emitApps(out);
    this.maybeStartApps(now);
    return this.counterSamples(now, out);
  }

  /**
   * The slower side query of loop mode, at most one in flight: `--query-compute-apps` for
   * per-process memory, or, once a GPU reports MIG enabled, `-q -x` (the CSV query cannot
   * list MIG devices; the XML gives them and the processes with their MIG instance ids).
   */
  private maybeStartApps(now: number): void {
    if (now - this.lastAppsStart < this.opts.processes_interval) return;
    const mig = [...this.latest.values()].some((g) => g.migMode === 'Enabled');
    if (!mig && !this.opts.processes) return;
    if (this.gate.busy(mig ? 'xml' : 'apps')) return;
    this.lastAppsStart = now;
    const run = mig ? this.fetchMigXml() : this.fetchComputeApps();
    run.catch((err: unknown) => {
      this.logger.debug({ err: err instanceof Error ? err.message : String(err) }, `nvidia-smi ${mig ? '-q -x' : '--query-compute-apps'} failed`);
    });
  }

  private async fetchComputeApps(): Promise<void> {
    const r = checkResult(await this.exec('apps', [`--query-compute-apps=${COMPUTE_APPS_FIELDS.join(',')}`, '--format=csv,noheader,nounits']), this.opts.binary, '--query-compute-apps');
    const parsed = parseComputeAppsCsv(r.stdout, COMPUTE_APPS_FIELDS, 0, false);
    if (parsed.errors.length > 0) this.countParseErrors(parsed.errors);
    this.apps = { rows: parsed.processes, migGpus: null, at: Date.now(), emitted: false };
  }

  private async fetchMigXml(): Promise<void> {
    const r = checkResult(await this.exec('xml', ['-q', '-x']), this.opts.binary, '-q -x');
    let parsed;
    try {
      parsed = parseNvidiaSmiXml(r.stdout);
    } catch (err) {
      if (err instanceof GpuParseError) this.countParseErrors([err]);
      throw err;
    }
    if (parsed.errors.length > 0) this.countParseErrors(parsed.errors);
    this.apps = { rows: [], migGpus: parsed.gpus, at: Date.now(), emitted: false };
  }

  private emitApps(out: Sample[]): void {
    const apps = this.apps;
    if (!apps || apps.emitted) return;
    apps.emitted = true;
    if (apps.migGpus) {
      // Series keep the loop rows' identity (uuid, name, index, bus id); the XML adds MIG
      // devices and processes.
      for (const x of apps.migGpus) {
        const g = x.uuid !== null ? this.latest.get(x.uuid) : undefined;
        if (!g) continue;
        const merged = { ...g, mig: x.mig, processes: this.opts.processes ? x.processes : [] };
        migSamples(merged, apps.at, out);
        processSamples(merged, apps.at, out);
      }
      return;
    }
    const { gpus } = attachProcesses([...this.latest.values()], apps.rows);
    for (const g of gpus) processSamples(g, apps.at, out);
  }

  private async collectXml(ctx: CollectContext): Promise<Sample[]> {
    const res = await this.exec('xml', ['-q', '-x'], ctx.signal);
    let r: ExecResult;
    try {
      r = checkResult(res, this.opts.binary, '-q -x');
    } catch (err) {
      this.countFailure(err instanceof Error && err.name === 'PluginUnavailableError' ? 'unavailable' : 'exit');
      throw err;
    }
    const at = Date.now();
    let parsed;
    try {
      parsed = parseNvidiaSmiXml(r.stdout);
    } catch (err) {
      if (err instanceof GpuParseError) {
        this.countParseErrors([err]);
        throw new Error(`gpu: nvidia-smi -q -x output unreadable: ${err.message}`, { cause: err });
      }
      throw err;
    }
    if (parsed.errors.length > 0) this.countParseErrors(parsed.errors);
    const out: Sample[] = [];
    for (const raw of parsed.gpus) {
      const gpu = derive(this.opts.processes ? raw : { ...raw, processes: [] }, this.opts.pressure_thresholds);
      this.latest.set(gpuKey(gpu), gpu);
      gpuSamples(gpu, at, out);
    }
    out.push({ metric: M.count, value: parsed.gpus.length, timestamp: at });
    return this.counterSamples(at, out);
  }

  private counterSamples(now: number, out: Sample[]): Sample[] {
    const sources = this.opts.mode === 'xml' ? ['xml'] : ['csv', 'compute-apps'];
    for (const s of new Set([...sources, ...this.parseErrors.keys()])) {
      out.push({ metric: M.parseErrors, value: this.parseErrors.get(s) ?? 0, attributes: { 'vigil.gpu.source': s }, timestamp: now });
    }
    for (const k of FAILURE_KINDS) {
      out.push({ metric: M.smiFailures, value: this.failures.get(k) ?? 0, attributes: { 'vigil.gpu.failure': k }, timestamp: now });
    }
    if (this.loop) out.push({ metric: M.smiRestarts, value: this.loop.restarts, timestamp: now });
    return out;
  }

  private countFailure(kind: FailureKind): void {
    this.failures.set(kind, (this.failures.get(kind) ?? 0) + 1);
  }

  private countParseErrors(errors: readonly GpuParseError[]): void {
    for (const e of errors) this.parseErrors.set(e.context.source, (this.parseErrors.get(e.context.source) ?? 0) + 1);
    // Garbage can arrive every interval: log the first, then at most one line a minute.
    const now = Date.now();
    if (now - this.lastParseLog >= 60_000) {
      this.lastParseLog = now;
      this.logger.warn({ errors: errors.slice(0, 3).map((e) => e.message), suppressed: this.suppressedParseLogs }, 'gpu: unreadable nvidia-smi output');
      this.suppressedParseLogs = 0;
    } else {
      this.suppressedParseLogs += errors.length;
    }
  }

  async stop(): Promise<void> {
    this.stopController.abort();
    this.wakeWaiters();
    await Promise.all([this.loop?.stop(), this.gate.drain()]);
  }
}
