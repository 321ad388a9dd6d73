import { describe, it, expect } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { run } from './k8s-helpers.ts';
import { RULE_FILES } from './promql-exprs.ts';

describe('Prometheus rules and scrape config', () => {
  it('promtool check rules accepts the rule files', async () => {
    const { stdout } = await run('/usr/bin/promtool', ['check', 'rules', ...RULE_FILES]);
    expect(stdout.match(/SUCCESS/g)?.length).toBe(RULE_FILES.length);
  });

  it('promtool test rules passes the unit tests', async () => {
    const r = await run('/usr/bin/promtool', ['test', 'rules', 'deploy/prometheus/tests/vigil-rules.test.yaml']).catch((e: { stdout: string; stderr: string }) => e);
    expect(r.stdout + r.stderr).toContain('SUCCESS');
    expect(r.stdout + r.stderr).not.toContain('FAILED');
  });

  it('the unit tests exercise every alert rule', () => {
    const alerts = new Set<string>();
    for (const f of RULE_FILES) {
      const doc = parseYaml(readFileSync(f, 'utf8')) as { groups: { rules: { alert?: string }[] }[] };
      for (const g of doc.groups) for (const r of g.rules) if (r.alert) alerts.add(r.alert);
    }
    const tests = readFileSync('deploy/prometheus/tests/vigil-rules.test.yaml', 'utf8');
    for (const a of alerts) expect(tests, a).toMatch(new RegExp(`alertname: ${a}\\n[\\s\\S]*?exp_alerts:\\n\\s+- exp_labels`));
  });

  it('promtool check config accepts the scrape config with the rule files', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vigil-promcfg-'));
    const scrape = parseYaml(readFileSync('deploy/prometheus/scrape-config.yaml', 'utf8')) as { scrape_configs: Record<string, unknown>[] };
    // Debian's Prometheus is built without Kubernetes service discovery, so its promtool rejects
    // kubernetes_sd_configs; swap in a static target and check everything else (relabel regexes
    // included, which RE2 compiles here exactly as in a Kubernetes-enabled build).
    const jobs = scrape.scrape_configs.map((j) => {
      expect(j.kubernetes_sd_configs).toEqual([{ role: 'pod' }]);
      const { kubernetes_sd_configs: _sd, ...rest } = j;
      return { ...rest, static_configs: [{ targets: ['127.0.0.1:9464'] }] };
    });
    const cfg = { global: { scrape_interval: '15s' }, rule_files: RULE_FILES.map((f) => resolve(f)), scrape_configs: jobs };
    writeFileSync(join(dir, 'prometheus.yml'), JSON.stringify(cfg));
    const { stdout } = await run('/usr/bin/promtool', ['check', 'config', join(dir, 'prometheus.yml')]);
    expect(stdout).toMatch(/SUCCESS/);
    expect(stdout).not.toMatch(/FAILED/);
  });
});
