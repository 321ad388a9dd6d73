import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdirSync } from 'node:fs';
import type { Browser } from 'playwright-core';
import { startUiHost, type UiHost } from './fixtures/ui-host.ts';
import { launchChromium, hasChromium } from './browser.ts';
import type { UiAlert } from '../../agent/ui/index.ts';

// In-process host: the page against a real store and HTTP server, with an alerts list the
// test controls. test/ui/agent-page.test.ts does the same against the whole agent.
describe.skipIf(!hasChromium)('live page in headless Chromium (UI host)', () => {
  let host: UiHost;
  let browser: Browser;
  let alerts: UiAlert[] = [];
  beforeAll(async () => {
    host = await startUiHost({ ui: { alerts: async () => alerts } });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await host?.close();
  });

  it('loads, charts update every second, an alert appears', async () => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    await page.goto(host.url + '/');
    await page.waitForSelector('.chart[data-metric="demo.memory.utilization"] canvas', { timeout: 10_000 });
    expect(await page.textContent('#conn')).toBe('live');
    const frames0 = Number((await page.getAttribute('body', 'data-frames')) ?? '0');
    const pts0 = Number(await page.getAttribute('.chart[data-metric="demo.memory.utilization"]', 'data-points'));
    await page.waitForFunction((n) => Number(document.body.dataset.frames ?? '0') >= n + 3, frames0, { timeout: 10_000 });
    const pts1 = Number(await page.getAttribute('.chart[data-metric="demo.memory.utilization"]', 'data-points'));
    // The chart holds a 5-minute window that moves: new points arrive, old ones leave.
    expect(pts1).toBeGreaterThan(250);
    expect(pts1).toBeLessThanOrEqual(302);
    const last1 = await page.textContent('.chart[data-metric="demo.memory.utilization"] .last');
    expect(last1).toMatch(/%/);
    expect(pts0).toBeGreaterThan(0);
    // Counters are not charted; the gpu plugin's error is shown.
    expect(await page.locator('.chart[data-metric="demo.requests"]').count()).toBe(0);
    expect(await page.textContent('#plugins')).toContain('nvidia-smi not found');
    expect(await page.locator('#pressure li').count()).toBe(2);
    expect(await page.locator('#forecasts li').count()).toBe(1);

    // Fire an alert: it must show up within a couple of seconds.
    host.setUtilization(0.93);
    alerts = [{ rule: 'container-memory', severity: 'critical', state: 'firing', summary: 'container memory 93 % of limit', since: Date.now(), labels: {} }];
    await page.waitForSelector('#alerts tr.alert[data-rule="container-memory"]', { timeout: 8000 });
    expect(await page.textContent('#alerts-count')).toBe('1');
    await page.waitForFunction(() => document.querySelector('#pressure')?.textContent?.includes('critical'), undefined, { timeout: 8000 });

    mkdirSync('test-artifacts', { recursive: true });
    await page.screenshot({ path: 'test-artifacts/live-page-host.png', fullPage: true });
    expect(errors).toEqual([]);
    await page.close();
    // Closing the page ends the stream and the ticker.
    const deadline = Date.now() + 5000;
    while (host.ui.hub.running && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(host.ui.hub.running).toBe(false);
  });
});
