import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';

export const run = promisify(execFile);
export const KUBECTL = '/usr/bin/kubectl';
export const K8S_DIR = 'deploy/kubernetes';
export const OVERLAYS = ['plain', 'classic', 'gpu', 'alertmanager'] as const;

// Loose shapes of the Kubernetes objects the tests look into.
export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    fieldRef?: { fieldPath: string };
    resourceFieldRef?: { containerName?: string; resource: string; divisor?: string | number };
    secretKeyRef?: unknown;
  };
}
export interface Probe { httpGet?: { path: string; port: string | number } }
export interface SecurityContext {
  runAsNonRoot?: boolean;
  runAsUser?: number;
  readOnlyRootFilesystem?: boolean;
  allowPrivilegeEscalation?: boolean;
  privileged?: boolean;
  capabilities?: { drop?: string[]; add?: string[] };
  seccompProfile?: { type: string };
}
export interface Container {
  name: string;
  image: string;
  args?: string[];
  restartPolicy?: string;
  ports?: { name?: string; containerPort: number }[];
  env?: EnvVar[];
  resources?: { requests?: Record<string, string | number>; limits?: Record<string, string | number> };
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  startupProbe?: Probe;
  securityContext?: SecurityContext;
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
}
export interface PodSpec {
  shareProcessNamespace?: boolean;
  runtimeClassName?: string;
  securityContext?: SecurityContext;
  initContainers?: Container[];
  containers: Container[];
  volumes?: { name: string; configMap?: { name: string }; secret?: { secretName: string }; emptyDir?: unknown }[];
}
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: unknown;
  data?: Record<string, string>;
  stringData?: Record<string, string>;
}
export interface Deployment extends K8sObject {
  spec: { template: { metadata: { labels?: Record<string, string>; annotations?: Record<string, string> }; spec: PodSpec } };
}

export function parseYamlDocs(text: string, where: string): K8sObject[] {
  const docs = parseAllDocuments(text);
  const out: K8sObject[] = [];
  for (const d of docs) {
    if (d.errors.length > 0) throw new Error(`${where}: ${d.errors.map((e) => e.message).join('; ')}`);
    const v = d.toJS() as K8sObject | null;
    if (v) out.push(v);
  }
  return out;
}

export async function kustomize(overlay: string): Promise<K8sObject[]> {
  const { stdout } = await run(KUBECTL, ['kustomize', join(K8S_DIR, 'overlays', overlay)], { maxBuffer: 16 << 20 });
  return parseYamlDocs(stdout, `kubectl kustomize overlays/${overlay}`);
}

export function yamlFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...yamlFiles(p));
    else if (/\.ya?ml$/.test(name)) out.push(p);
  }
  return out;
}

export function vigilContainer(pod: PodSpec): { container: Container; native: boolean } {
  const init = pod.initContainers?.find((c) => c.name === 'vigil');
  if (init) return { container: init, native: true };
  const c = pod.containers.find((x) => x.name === 'vigil');
  if (!c) throw new Error('no vigil container in the pod');
  return { container: c, native: false };
}

export function envOf(c: Container, name: string): EnvVar | undefined {
  return c.env?.find((e) => e.name === name);
}
