import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { isUnavailableError } from '../../../agent/plugin/api.ts';
import { checkDeclared, harness, pick, value } from './helpers.ts';

/** A loopback HTTPS kubelet serving a Summary API document, with a certificate made by openssl. */
const SUMMARY = fileURLToPath(new URL('../../../plugins/heap/testdata/kubelet-summary.json', import.meta.url));
const TOKEN = 'test-token-0123456789';
let dir: string;
let server: https.Server;
let url: string;
let requests = 0;

async function selfSigned(name: string): Promise<{ key: string; cert: string }> {
  const key = join(dir, `${name}.key`);
  const cert = join(dir, `${name}.crt`);
  await promisify(execFile)('openssl', [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=kubelet',
    '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', cert,
  ]);
  return { key, cert };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vigil-kubelet-'));
  const { key, cert } = await selfSigned('kubelet');
  await selfSigned('other');
  await writeFile(join(dir, 'token'), `${TOKEN}\n`);
  await writeFile(join(dir, 'bad-token'), 'wrong\n');
  const body = await readFile(SUMMARY);
  server = https.createServer({ key: await readFile(key), cert: await readFile(cert) }, (req, res) => {
    requests++;
    if (req.headers.authorization !== `Bearer ${TOKEN}`) {
      res.statusCode = 401;
      return res.end('Unauthorized');
    }
    if (req.url !== '/stats/summary') {
      res.statusCode = 404;
      return res.end('404 page not found');
    }
    res.setHeader('content-type', 'application/json');
    res.end(body);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/stats/summary`;
});

afterAll(async () => {
  server?.close();
  server?.closeAllConnections();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const opts = (extra: object = {}) => ({
  kubelet: { url, token_file: join(dir, 'token'), ca_file: join(dir, 'kubelet.crt'), pod: 'shop-7d9f8b6c5-x2k4p', namespace: 'shop', ...extra },
});
const APP = { 'vigil.target': 'app', 'k8s.pod.name': 'shop-7d9f8b6c5-x2k4p', 'k8s.namespace.name': 'shop', 'k8s.container.name': 'app' };

describe('kubelet source against a loopback HTTPS Summary API', () => {
  it('reports the own pod\'s containers, with the limit from workingSet + available, verified TLS and a bearer token', async () => {
    const h = harness(opts());
    const s = await h.collect();
    checkDeclared(s);
    expect(value(s, 'container.memory.working_set', APP)).toBe(402653184);
    expect(value(s, 'container.memory.usage', APP)).toBe(425721856);
    expect(value(s, 'container.memory.rss', APP)).toBe(367001600);
    expect(value(s, 'container.memory.paging.faults', { ...APP, 'system.paging.fault.type': 'major' })).toBe(42);
    expect(value(s, 'container.memory.paging.faults', { ...APP, 'system.paging.fault.type': 'minor' })).toBe(250000 - 42);
    const scope = { ...APP, 'vigil.memory.scope': 'container' };
    expect(value(s, 'vigil.memory.limit', scope)).toBe(402653184 + 134217728); // 512 MiB
    expect(value(s, 'vigil.memory.utilization', scope)).toBeCloseTo(0.75, 9);
    expect(value(s, 'vigil.memory.pressure.level', scope)).toBe(1); // medium
    // The sidecar has no limit (no availableBytes): usage without a limit.
    expect(value(s, 'container.memory.working_set', { 'k8s.container.name': 'vigil' })).toBe(52428800);
    expect(pick(s, 'vigil.memory.limit', { 'k8s.container.name': 'vigil' })).toHaveLength(0);
    // Another pod's container of the same name is not ours.
    expect(pick(s, 'container.memory.working_set', { 'vigil.target': 'app' })).toHaveLength(1);
    await h.stop();
  });

  it('asks the kubelet at most every min_interval, re-reporting the cached values in between', async () => {
    const h = harness(opts({ min_interval: '1h', containers: ['app'] }));
    const before = requests;
    const a = await h.collect();
    const b = await h.collect();
    expect(requests - before).toBe(1);
    expect(value(b, 'container.memory.working_set', APP)).toBe(value(a, 'container.memory.working_set', APP));
    expect(pick(b, 'container.memory.working_set', { 'k8s.container.name': 'vigil' })).toHaveLength(0);
    await h.stop();
  });

  it('a wrong token: HTTP 401 naming the RBAC it needs', async () => {
    const h = harness(opts({ token_file: join(dir, 'bad-token') }));
    await expect(h.collect()).rejects.toThrow(/HTTP 401 \(the service account needs RBAC get on nodes\/stats\)/);
    await h.stop();
  });

  it('a certificate from another CA is rejected; insecure_skip_verify accepts it', async () => {
    const h = harness(opts({ ca_file: join(dir, 'other.crt') }));
    await expect(h.collect()).rejects.toThrow(/self[- ]signed certificate|unable to verify|certificate/i);
    await h.stop();
    const insecure = harness(opts({ ca_file: join(dir, 'missing.crt'), insecure_skip_verify: true }));
    expect(value(await insecure.collect(), 'container.memory.working_set', APP)).toBe(402653184);
    await insecure.stop();
  });

  it('a missing CA file and an unknown pod are unavailable, with the reason', async () => {
    const noCa = harness(opts({ ca_file: join(dir, 'missing.crt') }));
    const e1 = await noCa.collect().catch((e: unknown) => e);
    expect(isUnavailableError(e1)).toBe(true);
    expect(String(e1)).toMatch(/kubelet CA: .*missing.crt does not exist/);
    const noPod = harness(opts({ pod: 'gone-pod' }));
    const e2 = await noPod.collect().catch((e: unknown) => e);
    expect(isUnavailableError(e2)).toBe(true);
    expect(String(e2)).toContain('pod shop/gone-pod not in the kubelet summary (2 pods)');
    await noCa.stop();
    await noPod.stop();
  });

  it('without a url, NODE_IP from the Downward API builds it; POD_NAME/POD_NAMESPACE name the pod', async () => {
    const h = harness({ kubelet: { token_file: join(dir, 'token'), insecure_skip_verify: true } }, {
      NODE_IP: '127.0.0.1',
      POD_NAME: 'shop-7d9f8b6c5-x2k4p',
      POD_NAMESPACE: 'shop',
    });
    // Port 10250 is not our server: the error shows the URL built from NODE_IP.
    const err = await h.collect().catch((e: unknown) => e);
    expect(String(err)).toContain('https://127.0.0.1:10250/stats/summary');
    await h.stop();
  });
});
