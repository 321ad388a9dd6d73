import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { Document, isMap, isScalar, isSeq, parse as parseYamlValue, type Node } from 'yaml';
import type { ConfigIssue } from './issues.ts';

const VAR_RE = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-(.*?))?\}/g;
/** Keys ending in `_file` whose content is a secret value for the key without the suffix. */
const SECRET_FILE_RE = /^(.*(?:password|token|secret|key|webhook_url|url|username|headers?))_file$/;

export interface InterpolationResult {
  issues: ConfigIssue[];
  /** Values read from env/files that must never be logged. */
  secrets: string[];
}

/**
 * Substitutes `${VAR}` / `${VAR:-default}` in every string scalar (`$${` is a literal `${`),
 * and replaces each `<name>_file: PATH` secret key outside `plugins:` with `<name>: <file content>`.
 * Works on the parsed document so line numbers of the original text stay valid.
 * A scalar that is exactly one unquoted `${VAR}` is re-typed (so `port: ${PORT}` is a number).
 */
export function interpolateDocument(doc: Document, env: NodeJS.ProcessEnv, configDir: string): InterpolationResult {
  const issues: ConfigIssue[] = [];
  const secrets: string[] = [];
  const walk = (node: unknown, path: (string | number)[]): void => {
    if (isMap(node)) {
      for (const pair of [...node.items]) {
        const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
        walk(pair.value, [...path, key]);
        // Plugins read their own *_file options (so rotated secrets such as service-account
        // tokens are re-read); the loader resolves them for the core sections only.
        const m = path[0] === 'plugins' ? null : SECRET_FILE_RE.exec(key);
        if (m && isScalar(pair.value) && typeof pair.value.value === 'string') {
          const target = m[1]!;
          const file = isAbsolute(pair.value.value) ? pair.value.value : resolve(configDir, pair.value.value);
          try {
            const content = readFileSync(file, 'utf8').trim();
            secrets.push(content);
            node.delete(key);
            node.set(target, content);
          } catch (err) {
            issues.push({ path: [...path, key], message: `cannot read secret file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` });
          }
        }
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, i) => walk(item, [...path, i]));
    } else if (isScalar(node) && typeof node.value === 'string' && node.value.includes('${')) {
      substituteScalar(node as Node & { value: string; type?: string }, path, env, issues, secrets);
    }
  };
  walk(doc.contents, []);
  return { issues, secrets };
}

function substituteScalar(
  node: Node & { value: string; type?: string },
  path: (string | number)[],
  env: NodeJS.ProcessEnv,
  issues: ConfigIssue[],
  secrets: string[],
): void {
  const raw = node.value;
  const whole = /^\$\{[^}]+\}$/.test(raw) && node.type === 'PLAIN';
  const ESC = '\u0000';
  let failed = false;
  const out = raw.replace(/\$\$\{/g, ESC).replace(VAR_RE, (_m, name: string, def: string | undefined) => {
    const v = env[name];
    if (v !== undefined && v !== '') {
      if (/SECRET|TOKEN|PASSWORD|WEBHOOK|KEY/i.test(name)) secrets.push(v);
      return v;
    }
    if (def !== undefined) return def;
    failed = true;
    issues.push({ path, message: `environment variable ${name} is not set and has no default (write \${${name}:-default})` });
    return '';
  });
  if (failed) return;
  const text = out.split(ESC).join('${');
  if (whole) {
    try {
      const typed: unknown = parseYamlValue(text);
      (node as { value: unknown }).value = typed === null || typeof typed === 'object' ? text : typed;
      return;
    } catch {
      // Not a YAML scalar: keep it as the string it is.
    }
  }
  node.value = text;
}
