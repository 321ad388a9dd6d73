import { describe, it, expect } from 'vitest';
import { readFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { K8S_ENV } from '../../agent/telemetry/settings.ts';
import { heapOptionsSchema } from '../../plugins/heap/config.ts';
import {
  K8S_DIR, OVERLAYS, kustomize, parseYamlDocs, yamlFiles, vigilContainer, envOf, run,
  type Deployment, type K8sObject, type SecurityContext,
} from './k8s-helpers.ts';

// What each K8S_* variable the telemetry module reads must be filled from.
const DOWNWARD: Record<string, string> = {
  K8S_POD_NAME: 'metadata.name',
  K8S_POD_UID: 'metadata.uid',
  K8S_NAMESPACE_NAME: 'metadata.namespace',
  K8S_NODE_NAME: 'spec.nodeName',
};

function expectLockedDown(sc: SecurityContext | undefined, where: string): void {
  expect(sc, where).toBeDefined();
  expect(sc!.runAsNonRoot, `${where} runAsNonRoot`).toBe(true);
  expect(sc!.readOnlyRootFilesystem, `${where} readOnlyRootFilesystem`).toBe(true);
  expect(sc!.allowPrivilegeEscalation, `${where} allowPrivilegeEscalation`).toBe(false);
  expect(sc!.capabilities?.drop, `${where} capabilities.drop`).toContain('ALL');
  expect(sc!.capabilities?.add ?? [], `${where} capabilities.add`).toEqual([]);
  expect(sc!.seccompProfile?.type, `${where} seccompProfile`).toBe('RuntimeDefault');
}

function vigilConfigOf(objs: K8sObject[], dep: Deployment): { text: string; cfg: Record<string, unknown> } {
  const vol = dep.spec.template.spec.volumes?.find((v) => v.name === 'vigil-config');
  const cmName = vol?.configMap?.name;
  expect(cmName, 'vigil-config volume names a ConfigMap').toBeTruthy();
  const cm = objs.find((o) => o.kind === 'ConfigMap' && o.metadata.name === cmName);
  expect(cm, `ConfigMap ${cmName} is rendered (generated name with hash)`).toBeDefined();
  const text = cm!.data?.['vigil.yaml'];
  expect(text).toBeTruthy();
  return { text: text!, cfg: parseYaml(text!) as Record<string, unknown> };
}

type PluginEntryLike = { use: string; [k: string]: unknown };

describe('Kubernetes manifests', () => {
  it('every YAML file under deploy/kubernetes parses', () => {
    const files = yamlFiles(K8S_DIR);
    expect(files.length).toBeGreaterThanOrEqual(10);
    for (const f of files) {
      const docs = parseYamlDocs(readFileSync(f, 'utf8'), f);
      expect(docs.length, f).toBeGreaterThan(0);
    }
  });

  for (const overlay of OVERLAYS) {
    describe(`overlay ${overlay}`, () => {
      let objs: K8sObject[];
      let dep: Deployment;
      it('renders with kubectl kustomize (offline)', async () => {
        objs = await kustomize(overlay);
        const kinds = objs.map((o) => o.kind).sort();
        expect(kinds).toEqual(['ConfigMap', 'Deployment', 'PodMonitor', 'Secret', 'Service', 'ServiceAccount']);
        for (const o of objs) expect(o.metadata.namespace, `${o.kind} namespace`).toBe('shop');
        dep = objs.find((o) => o.kind === 'Deployment') as Deployment;
      });

      it('runs vigil as a sidecar in the intended form, sharing the process namespace', () => {
        const pod = dep.spec.template.spec;
        expect(pod.shareProcessNamespace).toBe(true);
        const { container, native } = vigilContainer(pod);
        if (overlay === 'classic') {
          expect(native).toBe(false);
          expect(container.restartPolicy).toBeUndefined();
          expect(pod.initContainers ?? []).toEqual([]);
          expect(pod.containers.map((c) => c.name)).toEqual(['app', 'vigil']);
        } else {
          expect(native).toBe(true);
          expect(container.restartPolicy).toBe('Always');
          expect(pod.containers.map((c) => c.name)).toEqual(['app']);
        }
        expect(container.image).toBe('ghcr.io/vigil-dev/vigil:0.1.0');
        expect(container.args).toEqual(['run', '--config', '/etc/vigil/config/vigil.yaml']);
      });

      it('locks down the pod and both containers', () => {
        const pod = dep.spec.template.spec;
        expect(pod.securityContext?.runAsNonRoot).toBe(true);
        expect(pod.securityContext?.seccompProfile?.type).toBe('RuntimeDefault');
        expect(pod.securityContext?.runAsUser).toBeGreaterThan(0);
        const { container } = vigilContainer(pod);
        expectLockedDown(container.securityContext, 'vigil');
        expect(container.securityContext?.runAsUser).toBe(65532); // the image's USER
        expect(container.securityContext?.privileged ?? false).toBe(false);
        const app = pod.containers.find((c) => c.name === 'app')!;
        expectLockedDown(app.securityContext, 'app');
        // Read-only root: the agent writes only to mounted emptyDirs.
        const mounts = new Map(container.volumeMounts?.map((m) => [m.mountPath, m]));
        for (const p of ['/var/lib/vigil', '/tmp']) {
          const m = mounts.get(p);
          expect(m, `mount ${p}`).toBeDefined();
          expect(pod.volumes?.find((v) => v.name === m!.name)?.emptyDir).toBeDefined();
        }
        expect(mounts.get('/etc/vigil/config')?.readOnly).toBe(true);
      });

      it('wires the Downward API to the variables the telemetry module and heap plugin read', () => {
        const pod = dep.spec.template.spec;
        const { container } = vigilContainer(pod);
        for (const variable of Object.keys(K8S_ENV)) {
          const e = envOf(container, variable);
          expect(e, `env ${variable}`).toBeDefined();
          if (variable === 'K8S_CONTAINER_NAME') expect(e!.value).toBe(container.name);
          else expect(e!.valueFrom?.fieldRef?.fieldPath, variable).toBe(DOWNWARD[variable]);
        }
        expect(envOf(container, 'POD_NAME')?.valueFrom?.fieldRef?.fieldPath).toBe('metadata.name');
        expect(envOf(container, 'POD_NAMESPACE')?.valueFrom?.fieldRef?.fieldPath).toBe('metadata.namespace');
        expect(envOf(container, 'NODE_IP')?.valueFrom?.fieldRef?.fieldPath).toBe('status.hostIP');
        // The app's memory limit: resourceFieldRef on the app container, in bytes...
        const limit = envOf(container, 'APP_MEMORY_LIMIT')?.valueFrom?.resourceFieldRef;
        expect(limit).toMatchObject({ containerName: 'app', resource: 'limits.memory' });
        expect(String(limit!.divisor ?? '1')).toBe('1');
        const app = pod.containers.find((c) => c.name === limit!.containerName);
        expect(app?.resources?.limits?.memory, 'the app has a memory limit to report').toBeTruthy();
        // ...and the heap plugin is told to read exactly that variable.
        const { cfg } = vigilConfigOf(objs, dep);
        const heap = (cfg.plugins as PluginEntryLike[]).find((p) => p.use === 'heap');
        expect(heap).toBeDefined();
        const { use: _use, name: _name, interval: _i, timeout: _t, enabled: _e, jitter: _j, ...opts } = heap!;
        const parsed = heapOptionsSchema.safeParse(opts);
        expect(parsed.success, JSON.stringify(parsed.error?.issues)).toBe(true);
        expect(parsed.data!.memory_limit_env).toBe('APP_MEMORY_LIMIT');
      });

      it('has probes, resources, scrape annotations and a PodMonitor on the one port', () => {
        const pod = dep.spec.template.spec;
        const { container } = vigilContainer(pod);
        const port = container.ports?.find((p) => p.name === 'vigil');
        expect(port?.containerPort).toBe(9464);
        expect(container.livenessProbe?.httpGet).toMatchObject({ path: '/healthz', port: 'vigil' });
        expect(container.readinessProbe?.httpGet).toMatchObject({ path: '/readyz', port: 'vigil' });
        expect(container.resources?.requests?.cpu).toBeTruthy();
        expect(container.resources?.requests?.memory).toBeTruthy();
        expect(container.resources?.limits?.memory).toBeTruthy();
        expect(container.resources?.limits?.cpu).toBeTruthy();
        const ann = dep.spec.template.metadata.annotations ?? {};
        expect(ann['prometheus.io/scrape']).toBe('true');
        expect(Number(ann['prometheus.io/port'])).toBe(port!.containerPort);
        expect(ann['prometheus.io/path']).toBe('/metrics');
        const pm = objs.find((o) => o.kind === 'PodMonitor') as K8sObject & {
          spec: { selector: { matchLabels: Record<string, string> }; podMetricsEndpoints: { port: string; path: string }[] };
        };
        expect(pm.apiVersion).toBe('monitoring.coreos.com/v1');
        expect(pm.spec.podMetricsEndpoints[0]).toMatchObject({ port: 'vigil', path: '/metrics' });
        for (const [k, v] of Object.entries(pm.spec.selector.matchLabels)) expect(dep.spec.template.metadata.labels?.[k]).toBe(v);
      });

      it('mounts the Slack webhook from a Secret file the config reads', () => {
        const pod = dep.spec.template.spec;
        const { container } = vigilContainer(pod);
        const { cfg } = vigilConfigOf(objs, dep);
        const notifiers = ((cfg.alerts as { notifiers?: { type: string; url_file?: string; url?: string }[] }).notifiers ?? []);
        const slack = notifiers.find((n) => n.type === 'slack');
        expect(slack?.url).toBeUndefined(); // never inline
        const file = slack!.url_file!;
        const mount = container.volumeMounts!.filter((m) => file.startsWith(m.mountPath + '/')).sort((a, b) => b.mountPath.length - a.mountPath.length)[0];
        // Mounts do not nest (a mount point inside a read-only volume is fragile).
        for (const a of container.volumeMounts!) for (const b of container.volumeMounts!) if (a !== b) expect(b.mountPath.startsWith(a.mountPath + '/'), `${b.mountPath} inside ${a.mountPath}`).toBe(false);
        expect(mount, `a mount holds ${file}`).toBeDefined();
        expect(mount!.readOnly).toBe(true);
        const vol = pod.volumes!.find((v) => v.name === mount!.name);
        const secret = objs.find((o) => o.kind === 'Secret' && o.metadata.name === vol?.secret?.secretName);
        expect(secret, 'the mounted Secret is rendered').toBeDefined();
        const key = file.slice(mount!.mountPath.length + 1);
        expect({ ...secret!.data, ...secret!.stringData }).toHaveProperty(key);
        expect(envOf(container, 'SLACK_WEBHOOK_URL')).toBeUndefined();
      });

      it('ships a config that `vigil check` accepts', async () => {
        const { text } = vigilConfigOf(objs, dep);
        const dir = mkdtempSync(join(tmpdir(), `vigil-k8s-${overlay}-`));
        // The Secret's file is elsewhere here: point the *_file keys at a temp copy.
        writeFileSync(join(dir, 'webhook-url'), 'https://hooks.slack.com/services/T000/B000/XXXX');
        writeFileSync(join(dir, 'vigil.yaml'), text.replaceAll('/etc/vigil/secrets/slack/', dir + '/'));
        const env = { ...process.env, K8S_POD_NAME: 'shop-api-1', K8S_NAMESPACE_NAME: 'shop', K8S_NODE_NAME: 'n1', APP_MEMORY_LIMIT: String(512 << 20) };
        const { stdout } = await run(process.execPath, ['bin/vigil.js', 'check', '--config', join(dir, 'vigil.yaml')], { env, timeout: 60_000 });
        expect(stdout).toContain('valid');
        if (overlay === 'gpu') expect(stdout).toMatch(/gpu/);
      }, 60_000);

      if (overlay === 'gpu') {
        it('runs on the NVIDIA runtime with nvidia-smi injected into the sidecar', () => {
          const pod = dep.spec.template.spec;
          expect(pod.runtimeClassName).toBe('nvidia');
          const app = pod.containers.find((c) => c.name === 'app')!;
          expect(Number(app.resources?.limits?.['nvidia.com/gpu'])).toBe(1);
          const { container } = vigilContainer(pod);
          expect(envOf(container, 'NVIDIA_DRIVER_CAPABILITIES')?.value).toContain('utility');
          expect(envOf(container, 'NVIDIA_VISIBLE_DEVICES')?.value).toBeTruthy();
          const { cfg } = vigilConfigOf(objs, dep);
          const gpu = (cfg.plugins as PluginEntryLike[]).find((p) => p.use === 'gpu');
          expect(gpu?.binary).toBe('/usr/bin/nvidia-smi');
          // The patch merged into the base container rather than adding a second one.
          expect(pod.initContainers?.filter((c) => c.name === 'vigil')).toHaveLength(1);
          expect(container.securityContext?.readOnlyRootFilesystem).toBe(true);
        });
      }

      if (overlay === 'alertmanager') {
        it('routes alerts to an Alertmanager cluster, and its routing example is valid', async () => {
          const { cfg } = vigilConfigOf(objs, dep);
          const am = ((cfg.alerts as { notifiers: { type: string; urls?: string[] }[] }).notifiers).find((n) => n.type === 'alertmanager');
          expect(am?.urls?.length).toBeGreaterThanOrEqual(2);
          const { stdout } = await run('/usr/bin/amtool', ['check-config', join(K8S_DIR, 'overlays/alertmanager/alertmanager-routing.yaml')]);
          expect(stdout).toContain('SUCCESS');
        });
      }
    });
  }
});
