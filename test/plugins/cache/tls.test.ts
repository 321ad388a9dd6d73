import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import cache from '../../../plugins/cache/index.ts';
import { M } from '../../../plugins/cache/metrics.ts';
import { startPlugin, value } from './harness.ts';
import { startRedisTls, type TestServer } from './servers.ts';

const run = promisify(execFile);
let dir: string;
let server: TestServer;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vigil-tls-'));
  const f = (n: string) => join(dir, n);
  await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('ca.key'), '-out', f('ca.crt'), '-days', '1', '-subj', '/CN=vigil-test-ca']);
  await run('openssl', ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('server.key'), '-out', f('server.csr'), '-subj', '/CN=localhost']);
  await writeFile(f('ext.cnf'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  await run('openssl', ['x509', '-req', '-in', f('server.csr'), '-CA', f('ca.crt'), '-CAkey', f('ca.key'), '-CAcreateserial', '-out', f('server.crt'), '-days', '1', '-extfile', f('ext.cnf')]);
  server = await startRedisTls({ cert: f('server.crt'), key: f('server.key'), ca: f('ca.crt') });
}, 60_000);

afterAll(async () => {
  await server?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('cache plugin over TLS (rediss://)', () => {
  it('connects when the CA is given', async () => {
    const p = await startPlugin(cache, { redis: [{ url: server.url, tls: { ca_file: join(dir, 'ca.crt') } }] });
    try {
      expect(value(await p.collect(Date.now()), M.up)).toBe(1);
    } finally {
      await p.stop();
    }
  });

  it('refuses an unverified certificate with a failing (not unavailable) error', async () => {
    const p = await startPlugin(cache, { redis: [{ url: server.url }] });
    try {
      const err = (await p.collect(Date.now()).catch((e: unknown) => e)) as Error;
      expect(err).toBeInstanceOf(Error);
      expect(err.name).not.toBe('PluginUnavailableError');
      expect(err.message).toMatch(/certificate/i);
    } finally {
      await p.stop();
    }
  });
});
