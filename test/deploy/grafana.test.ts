import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { DASHBOARDS, render, type Panel } from '../../deploy/grafana/build-dashboards.ts';
import { DASHBOARD_FILES, loadDashboard } from './promql-exprs.ts';

function allPanels(panels: readonly Panel[]): Panel[] {
  return panels.flatMap((p) => [p, ...allPanels(p.panels ?? [])]);
}

describe('Grafana dashboards', () => {
  it('the committed JSON is what build-dashboards.ts generates (run `npx tsx deploy/grafana/build-dashboards.ts`)', () => {
    expect(Object.keys(DASHBOARDS).sort()).toEqual([...DASHBOARD_FILES].sort());
    for (const [file, make] of Object.entries(DASHBOARDS)) {
      expect(readFileSync(`deploy/grafana/dashboards/${file}`, 'utf8'), file).toBe(render(make()));
    }
  });

  for (const file of DASHBOARD_FILES) {
    describe(file, () => {
      const text = readFileSync(`deploy/grafana/dashboards/${file}`, 'utf8');
      const d = loadDashboard(file);

      it('is valid JSON with a unique uid, title and tags', () => {
        expect(() => JSON.parse(text)).not.toThrow();
        expect(d.uid).toMatch(/^[a-z0-9-]{1,40}$/);
        expect(d.title).toMatch(/^vigil \/ /);
        expect(d.tags).toContain('vigil');
      });

      it('has unique panel ids and a sane grid', () => {
        const panels = allPanels(d.panels);
        const ids = panels.map((p) => p.id);
        expect(new Set(ids).size).toBe(ids.length);
        for (const p of panels) {
          expect(p.gridPos.x + p.gridPos.w, `panel ${p.id} fits 24 columns`).toBeLessThanOrEqual(24);
          expect(p.title.length).toBeGreaterThan(0);
        }
        // No two panels overlap.
        const cells = new Set<string>();
        for (const p of panels) {
          for (let x = p.gridPos.x; x < p.gridPos.x + p.gridPos.w; x++) {
            for (let y = p.gridPos.y; y < p.gridPos.y + p.gridPos.h; y++) {
              const k = `${x},${y}`;
              expect(cells.has(k), `panel ${p.id} "${p.title}" overlaps at ${k}`).toBe(false);
              cells.add(k);
            }
          }
        }
      });

      it('takes its datasource from a variable, everywhere', () => {
        const vars = d.templating.list as { name: string; type: string; query?: unknown }[];
        const ds = vars.find((v) => v.name === 'datasource');
        expect(ds).toMatchObject({ type: 'datasource', query: 'prometheus' });
        for (const name of ['namespace', 'pod']) expect(vars.some((v) => v.name === name && v.type === 'query')).toBe(true);
        for (const p of allPanels(d.panels)) {
          if (p.type === 'row') continue;
          expect(p.datasource, `panel ${p.id}`).toEqual({ type: 'prometheus', uid: '${datasource}' });
          expect(p.targets?.length, `panel ${p.id} has queries`).toBeGreaterThan(0);
          for (const t of p.targets ?? []) {
            expect(t.datasource.uid).toBe('${datasource}');
            // Every vigil query is scoped to the selected pods.
            if (!t.expr.startsWith('ALERTS')) expect(t.expr, `panel ${p.id} ${t.refId}`).toMatch(/namespace=~"\$namespace", pod=~"\$pod"/);
          }
        }
        for (const v of vars.filter((x) => x.type === 'query')) expect((v as { datasource?: { uid: string } }).datasource?.uid).toBe('${datasource}');
        // No hard-coded datasource uid anywhere.
        expect(text).not.toMatch(/"uid":\s*"(?!\$\{datasource\}|vigil-)[^"]*"/);
      });

      it('links to Jaeger traces', () => {
        const links = d.links as { url?: string; title: string }[];
        expect(links.some((l) => l.url?.includes('${jaeger_url}/search'))).toBe(true);
        const vars = d.templating.list as { name: string }[];
        expect(vars.some((v) => v.name === 'jaeger_url')).toBe(true);
      });
    });
  }

  it('covers what the issue asks for', () => {
    const exprs = DASHBOARD_FILES.flatMap((f) => allPanels(loadDashboard(f).panels).flatMap((p) => (p.targets ?? []).map((t) => t.expr))).join('\n');
    for (const metric of [
      'container_memory_working_set', 'vigil_memory_limit', 'vigil_forecast_time_to_exhaustion', 'vigil_container_memory_oom_kills_total',
      'v8js_memory_heap_used', 'v8js_gc_duration_total', 'hw_gpu_memory_usage', 'hw_gpu_utilization', 'vigil_gpu_power_draw',
      'vigil_gpu_temperature', 'nvidia_gpu_clock_event_active', 'vigil_gpu_process_memory_usage', 'vigil_cache_hit_ratio',
      'vigil_cache_node_imbalance', 'vigil_queue_backlog', 'vigil_queue_time_to_drain', 'vigil_anomaly_score', 'vigil_alerts_active',
      'vigil_plugin_up', 'vigil_plugin_collection_duration_bucket', 'vigil_store_series_refused_total',
    ]) {
      expect(exprs, metric).toContain(metric);
    }
  });
});

describe('Grafana provisioning', () => {
  it('provisions the Prometheus and Jaeger datasources and the dashboards folder', () => {
    const ds = parseYaml(readFileSync('deploy/grafana/provisioning/datasources/vigil.yaml', 'utf8')) as { datasources: { type: string; uid: string }[] };
    expect(ds.datasources.map((d) => d.type).sort()).toEqual(['jaeger', 'prometheus']);
    const dash = parseYaml(readFileSync('deploy/grafana/provisioning/dashboards/vigil.yaml', 'utf8')) as { providers: { type: string; options: { path: string } }[] };
    expect(dash.providers[0]).toMatchObject({ type: 'file' });
    expect(dash.providers[0]!.options.path).toMatch(/^\/var\/lib\/grafana\/dashboards/);
  });
});
