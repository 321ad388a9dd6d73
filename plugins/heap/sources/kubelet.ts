import https from 'node:https';
import http from 'node:http';
import { hostname } from 'node:os';
import type { Attributes, Sample } from '../../../agent/plugin/api.ts';
import { Batch, type ScopeUsage } from '../batch.ts';
import type { KubeletOptions } from '../config.ts';
import { A, M } from '../metrics.ts';
import { describeFsError, readText } from '../read.ts';
import { FetchError, getText, safeUrl } from './http-get.ts';

/** The parts of the kubelet Summary API (`/stats/summary`, k8s.io/kubelet/pkg/apis/stats/v1alpha1) we read. */
interface MemoryStats {
  time?: string;
  availableBytes?: number;
  usageBytes?: number;
  workingSetBytes?: number;
  rssBytes?: number;
  pageFaults?: number;
  majorPageFaults?: number;
}
interface Summary {
  pods?: {
    podRef?: { name?: string; namespace?: string };
    containers?: { name?: string; memory?: MemoryStats }[];
  }[];
}

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

/** Adds one container's memory stats from a Summary document to the batch. */
export function addContainerStats(batch: Batch, attrs: Attributes, m: MemoryStats): ScopeUsage | undefined {
  const ws = num(m.workingSetBytes);
  batch.add(M.containerUsage, num(m.usageBytes), attrs);
  batch.add(M.containerWorkingSet, ws, attrs);
  batch.add(M.containerRss, num(m.rssBytes), attrs);
  const faults = num(m.pageFaults);
  const major = num(m.majorPageFaults);
  if (faults !== undefined && major !== undefined) {
    batch.add(M.containerFaults, faults - major, { ...attrs, [A.containerFault]: 'minor' });
    batch.add(M.containerFaults, major, { ...attrs, [A.containerFault]: 'major' });
  }
  if (ws === undefined) return undefined;
  // availableBytes is only present when the container has a limit: limit - workingSet.
  const avail = num(m.availableBytes);
  const s: ScopeUsage = { scope: 'container', attributes: attrs, usage: ws, limit: avail !== undefined ? ws + avail : undefined };
  batch.scope(s);
  return s;
}

/** The kubelet source: the agent's own pod's containers from the Summary API. */
export class KubeletSource {
  private readonly agent: http.Agent;
  private readonly url: string | undefined;
  private readonly pod: string;
  private namespace: string | undefined;
  private cache: { at: number; samples: Sample[]; scopes: ScopeUsage[] } | undefined;
  private agentReady: Promise<https.Agent> | undefined;

  constructor(
    private readonly o: KubeletOptions,
    env: NodeJS.ProcessEnv = process.env,
  ) {
    const ip = env['NODE_IP'] ?? env['HOST_IP'];
    this.url = o.url ?? (ip ? `https://${ip.includes(':') ? `[${ip}]` : ip}:10250/stats/summary` : undefined);
    this.pod = o.pod ?? env['POD_NAME'] ?? env['HOSTNAME'] ?? hostname();
    this.namespace = o.namespace ?? env['POD_NAMESPACE'];
    this.agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  }

  private target(): string {
    return this.namespace ? `${this.namespace}/${this.pod}` : this.pod;
  }

  private async httpsAgent(): Promise<https.Agent> {
    this.agentReady ??= (async () => {
      if (this.o.insecure_skip_verify) return new https.Agent({ keepAlive: true, maxSockets: 1, rejectUnauthorized: false });
      let ca: string;
      try {
        ca = await readText(this.o.ca_file);
      } catch (err) {
        throw new FetchError(`kubelet CA: ${describeFsError(err, this.o.ca_file)} (set ca_file, or insecure_skip_verify: true)`, true);
      }
      return new https.Agent({ keepAlive: true, maxSockets: 1, ca });
    })();
    try {
      return await this.agentReady;
    } catch (err) {
      this.agentReady = undefined; // the mount may appear later
      throw err;
    }
  }

  async collect(batch: Batch, signal: AbortSignal, now: number): Promise<void> {
    const target = this.target();
    if (this.cache && now - this.cache.at < this.o.min_interval) {
      for (const s of this.cache.samples) batch.samples.push(s);
      for (const s of this.cache.scopes) batch.scopes.push(s);
      batch.ok('kubelet', target);
      return;
    }
    try {
      if (this.url === undefined) {
        throw new FetchError('kubelet: no url configured and neither NODE_IP nor HOST_IP is set (Downward API status.hostIP)', true);
      }
      if (this.namespace === undefined) {
        this.namespace = (await readText('/var/run/secrets/kubernetes.io/serviceaccount/namespace').catch(() => '')).trim() || undefined;
      }
      const headers: Record<string, string> = { accept: 'application/json' };
      try {
        const token = (await readText(this.o.token_file)).trim();
        if (token) headers['authorization'] = `Bearer ${token}`;
      } catch (err) {
        // Without a token the kubelet answers 401, reported below; say why here.
        batch.warn('kubelet:token', `kubelet token: ${describeFsError(err, this.o.token_file)}`);
      }
      const agent = this.url.startsWith('https:') ? await this.httpsAgent() : this.agent;
      const res = await getText(this.url, { timeoutMs: this.o.timeout, signal, agent, headers });
      const shown = safeUrl(this.url);
      if (res.status === 401 || res.status === 403) {
        throw new FetchError(`GET ${shown}: HTTP ${res.status} (the service account needs RBAC get on nodes/stats)`);
      }
      if (res.status < 200 || res.status > 299) throw new FetchError(`GET ${shown}: HTTP ${res.status}`);
      let doc: Summary;
      try {
        doc = JSON.parse(res.body) as Summary;
      } catch {
        throw new FetchError(`GET ${shown}: not a JSON Summary document (starts ${JSON.stringify(res.body.slice(0, 30))})`);
      }
      const pods = Array.isArray(doc.pods) ? doc.pods : [];
      const ns = this.namespace;
      const pod = pods.find((p) => p.podRef?.name === this.pod && (ns === undefined || p.podRef?.namespace === ns));
      if (!pod) throw new FetchError(`pod ${this.target()} not in the kubelet summary (${pods.length} pods)`, true);
      const sub = new Batch();
      const podNs = pod.podRef?.namespace ?? '';
      for (const c of pod.containers ?? []) {
        if (!c.name || !c.memory) continue;
        if (this.o.containers && !this.o.containers.includes(c.name)) continue;
        const attrs: Attributes = { [A.target]: c.name, [A.pod]: this.pod, [A.namespace]: podNs, [A.container]: c.name };
        addContainerStats(sub, attrs, c.memory);
      }
      this.cache = { at: now, samples: sub.samples, scopes: sub.scopes };
      for (const s of sub.samples) batch.samples.push(s);
      for (const s of sub.scopes) batch.scopes.push(s);
      batch.ok('kubelet', this.target());
    } catch (err) {
      this.cache = undefined;
      const e = err instanceof FetchError ? err : new FetchError(`kubelet: ${(err as Error).message}`);
      batch.fail('kubelet', target, e.message, e.unavailable);
    }
  }

  stop(): void {
    this.agent.destroy();
    void this.agentReady?.then((a) => a.destroy(), () => {});
  }
}
