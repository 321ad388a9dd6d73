import { createHash } from 'node:crypto';
import type { Attributes } from '../plugin/api.ts';
import type { Labels } from './types.ts';

/** Attributes as string labels (Alertmanager and Slack only know strings). */
export function attributesToLabels(attrs: Attributes): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k in attrs) out[k] = String(attrs[k]);
  return out;
}

/** Stable 16-hex-digit fingerprint of a label set (order-independent), like Alertmanager's. */
export function fingerprint(labels: Labels): string {
  const h = createHash('sha256');
  for (const k of Object.keys(labels).sort()) h.update(`${k}\u0000${labels[k]}\u0001`);
  return h.digest('hex').slice(0, 16);
}

/** Canonical text of a label set, e.g. `{alertname="x",scope="heap"}`. */
export function formatLabels(labels: Labels): string {
  return `{${Object.keys(labels)
    .sort()
    .map((k) => `${k}=${JSON.stringify(labels[k])}`)
    .join(',')}}`;
}

/** Substitutes `{{name}}` / `{{labels.x}}` / `{{annotations.x}}`; `encode` URL-encodes values (link templates). */
export function renderTemplate(template: string, vars: Readonly<Record<string, string | undefined>>, labels: Labels, encode = false): string {
  return template.replace(/\{\{\s*([\w.]+)\s*\}\}/g, (_m, key: string) => {
    let v: string | undefined;
    if (key.startsWith('labels.')) v = labels[key.slice(7)];
    else v = vars[key];
    v ??= '';
    return encode ? encodeURIComponent(v) : v;
  });
}
