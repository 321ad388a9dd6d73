import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { startUiHost, type UiHost } from './fixtures/ui-host.ts';
import { SseClient } from './sse-client.ts';
import type { FrameMessage, SnapshotMessage } from '../../agent/ui/live-model.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('live page over HTTP', () => {
  let host: UiHost;
  let alertsCalls = 0;
  beforeAll(async () => {
    host = await startUiHost({
      ui: {
        alerts: async () => {
          alertsCalls++;
          return [{ rule: 'memory-high', severity: 'warning', state: 'firing', summary: 'container memory at 85 %', labels: { scope: 'container' } }];
        },
      },
    });
  });
  afterAll(async () => host.close());

  it('serves the page and its assets locally (no CDN)', async () => {
    for (const path of ['/', '/ui', '/ui/']) {
      const res = await fetch(host.url + path);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/text\/html/);
      const html = await res.text();
      expect(html).toContain('<script src="/ui/uplot.js">');
      expect(html).not.toMatch(/https?:\/\//);
    }
    const uplot = await fetch(host.url + '/ui/uplot.js');
    expect(uplot.status).toBe(200);
    const body = await uplot.text();
    expect(body).toContain('uPlot');
    const etag = uplot.headers.get('etag');
    expect(etag).toBeTruthy();
    const again = await fetch(host.url + '/ui/uplot.js', { headers: { 'if-none-match': etag! } });
    expect(again.status).toBe(304);
    for (const a of ['/ui/app.js', '/ui/app.css', '/ui/uplot.css']) expect((await fetch(host.url + a)).status).toBe(200);
    expect((await fetch(host.url + '/ui/../../package.json')).status).toBe(404);
    expect((await fetch(host.url + '/ui/nope.js')).status).toBe(404);
  });

  it('costs nothing without viewers: no ticker, no alert polling', async () => {
    const before = alertsCalls;
    await sleep(1500);
    expect(host.ui.hub.running).toBe(false);
    expect(host.ui.hub.viewerCount).toBe(0);
    expect(alertsCalls).toBe(before);
  });

  it('streams a snapshot then 1 s frames of the key series, and stops when the viewer leaves', async () => {
    const c = new SseClient();
    await c.open(host.url + '/api/live');
    expect(c.status).toBe(200);
    await c.waitFor('snapshot', 1);
    const [snap] = c.parsed<SnapshotMessage>('snapshot');
    expect(snap!.windowMs).toBe(300_000);
    const metrics = new Set(snap!.series.map((s) => s.metric));
    expect(metrics.has('demo.memory.utilization')).toBe(true);
    expect(metrics.has('demo.requests')).toBe(false); // counters are not charted
    const util = snap!.series.find((s) => s.metric === 'demo.memory.utilization' && s.attrs.scope === 'container')!;
    // A full 5-minute window (history seeded at 1 s) and nothing older.
    expect(util.t.length).toBeGreaterThanOrEqual(295);
    expect(util.t.length).toBeLessThanOrEqual(302);
    expect(snap!.now - util.t[0]!).toBeLessThanOrEqual(300_000);
    expect(util.unit).toBe('1');
    expect(snap!.pressure.length).toBe(2);
    expect(snap!.forecasts[0]!.seconds).toBeGreaterThan(1000);
    expect(snap!.plugins.find((p) => p.name === 'gpu')!.lastError).toBe('nvidia-smi not found');

    const t0 = Date.now();
    await c.waitFor('frame', 3, 8000);
    const elapsed = Date.now() - t0;
    expect(elapsed).toBeGreaterThan(1500); // about one per second, not a busy loop
    expect(host.ui.hub.running).toBe(true);
    const frames = c.parsed<FrameMessage>('frame');
    // Frames carry only new points: a handful per series, not the window again.
    const last = frames[frames.length - 1]!;
    const ids = new Set<number>();
    for (let i = 0; i < last.points.length; i += 3) ids.add(last.points[i]!);
    expect(last.points.length / 3).toBeLessThanOrEqual(ids.size * 2);
    expect(ids.has(util.id)).toBe(true);
    // Alerts reach the stream.
    const withAlert = frames.find((f) => f.alerts.length > 0);
    expect(withAlert?.alerts[0]).toMatchObject({ rule: 'memory-high', severity: 'warning' });

    c.close();
    const deadline = Date.now() + 3000;
    while (host.ui.hub.running && Date.now() < deadline) await sleep(50);
    expect(host.ui.hub.running).toBe(false);
    const calls = alertsCalls;
    await sleep(2500);
    expect(alertsCalls).toBe(calls);
  });

  it('shares one serialised frame among viewers', async () => {
    const a = new SseClient();
    const b = new SseClient();
    await a.open(host.url + '/api/live');
    await b.open(host.url + '/api/live');
    await a.waitFor('frame', 2);
    await b.waitFor('frame', 2);
    const fa = a.events.filter((e) => e.event === 'frame').map((e) => e.data);
    const fb = new Set(b.events.filter((e) => e.event === 'frame').map((e) => e.data));
    // The same frame bytes reached both viewers.
    expect(fa.some((d) => fb.has(d))).toBe(true);
    expect(host.ui.hub.viewerCount).toBe(2);
    a.close();
    b.close();
  });

  it('ends streams on stop and refuses new viewers while stopped', async () => {
    const c = new SseClient();
    await c.open(host.url + '/api/live');
    await c.waitFor('snapshot', 1);
    await host.ui.stop();
    expect(host.ui.hub.viewerCount).toBe(0);
    expect(host.ui.hub.running).toBe(false);
    const res = await fetch(host.url + '/api/live');
    expect(res.status).toBe(503);
    await res.body?.cancel();
    await host.ui.start();
    const d = new SseClient();
    await d.open(host.url + '/api/live');
    expect(d.status).toBe(200);
    d.close();
    c.close();
  });
});
