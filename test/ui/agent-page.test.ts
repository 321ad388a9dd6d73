import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { Redis } from 'ioredis';
import { startRedis, startAgent, tempDir, freePort, type AgentHandle, type Proc } from '../deploy/fixtures/stack.ts';
import { launchChromium, hasChromium } from './browser.ts';

// The live page served by the real agent (`vigil run`), with a threshold alert rule on a
// metric the test controls: the number of keys in its own Redis (redis.db.keys).
describe.skipIf(!hasChromium)('live page of a running agent in headless Chromium', () => {
  let tmp: ReturnType<typeof tempDir>;
  let redisProc: Proc;
  let redis: Redis;
  let agent: AgentHandle;
  let browser: Browser;

  beforeAll(async () => {
    tmp = tempDir('vigil-ui-agent-');
    const r = await startRedis(tmp.dir, 'ui');
    redisProc = r.proc;
    redis = new Redis(r.port, '127.0.0.1', { maxRetriesPerRequest: 1 });
    await redis.set('seed', '1');
    // An external URL the agent cannot reach itself (an ingress, say): the page must still get
    // the alerts, through the local address its viewers connect to.
    const deadPort = await freePort();
    agent = await startAgent(
      tmp.dir,
      `
agent:
  interval: 1s
  data_dir: ${join(tmp.dir, 'data')}
  log_level: warn
  external_url: http://127.0.0.1:${deadPort}/
server:
  host: 127.0.0.1
  port: \${PORT}
plugins:
  - use: system
  - use: cache
    redis:
      - url: ${r.url}
        name: ui-redis
alerts:
  evaluation_interval: 1s
  rules:
    - name: too-many-keys
      type: threshold
      metric: redis.db.keys
      above: { warning: 50 }
      annotations:
        summary: "ui-redis holds {{value}} keys (threshold {{threshold}})"
`,
    );
    browser = await launchChromium();
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    await agent?.proc.stop();
    redis?.disconnect();
    await redisProc?.stop();
    tmp?.cleanup();
  }, 30_000);

  it('loads, charts update every second, and a fired alert appears', async () => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1100 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    await page.goto(agent.url + '/');
    // The system plugin's charts and the cache plugin's hit ratio / memory utilization.
    await page.waitForSelector('.chart[data-source="system"] canvas', { timeout: 15_000 });
    await page.waitForSelector('.chart[data-source="cache"] canvas', { timeout: 15_000 });
    expect(await page.textContent('#conn')).toBe('live');
    const chart = '.chart[data-source="system"][data-metric="system.memory.utilization"]';
    const f0 = Number((await page.getAttribute('body', 'data-frames')) ?? '0');
    const p0 = Number(await page.getAttribute(chart, 'data-points'));
    await page.waitForFunction((n) => Number(document.body.dataset.frames ?? '0') >= n + 3, f0, { timeout: 10_000 });
    const p1 = Number(await page.getAttribute(chart, 'data-points'));
    expect(p1).toBeGreaterThan(p0); // new points drawn as they arrive
    expect(await page.locator('#plugins li').count()).toBe(2);
    expect(await page.textContent('#alerts-empty')).toContain('No active alerts');

    // Cross the threshold: 60 keys > 50.
    const pipeline = redis.pipeline();
    for (let i = 0; i < 60; i++) pipeline.set(`ui-key-${i}`, String(i));
    await pipeline.exec();
    const row = page.locator('#alerts tr.alert[data-rule="too-many-keys"]');
    await row.waitFor({ timeout: 15_000 });
    expect(await row.getAttribute('data-severity')).toBe('warning');
    expect(await row.textContent()).toMatch(/ui-redis holds 6\d keys/);

    mkdirSync('test-artifacts', { recursive: true });
    await page.screenshot({ path: 'test-artifacts/live-page-agent.png', fullPage: true });
    expect(errors).toEqual([]);

    // The alert resolves when the keys go away, and leaves the page.
    await redis.del(...Array.from({ length: 60 }, (_, i) => `ui-key-${i}`));
    await row.waitFor({ state: 'detached', timeout: 20_000 });
    await page.close();
  }, 90_000);
});
