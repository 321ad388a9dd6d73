/**
 * A small parser for the Prometheus text exposition format (and OpenMetrics text, which
 * prom-client can also serve): enough to read the samples of a few known metric names.
 */

export interface PromSample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

function parseValue(raw: string): number {
  switch (raw) {
    case '+Inf':
    case 'Inf':
      return Infinity;
    case '-Inf':
      return -Infinity;
    case 'NaN':
      return NaN;
    default:
      return raw === '' ? NaN : Number(raw);
  }
}

/**
 * Parses `text`, keeping only samples whose name `want` accepts. Malformed lines are counted
 * and skipped, never thrown on: a scrape target's one bad line must not hide the rest.
 */
export function parsePromText(text: string, want: (name: string) => boolean): { samples: PromSample[]; malformed: number } {
  const samples: PromSample[] = [];
  let malformed = 0;
  let pos = 0;
  const n = text.length;
  while (pos < n) {
    let end = text.indexOf('\n', pos);
    if (end < 0) end = n;
    const line = text.charCodeAt(end - 1) === 13 ? text.slice(pos, end - 1) : text.slice(pos, end);
    pos = end + 1;
    if (line === '' || line.charCodeAt(0) === 35 /* # */) continue;
    let i = 0;
    while (i < line.length) {
      const c = line.charCodeAt(i);
      if (c === 123 /* { */ || c === 32 || c === 9) break;
      i++;
    }
    const name = line.slice(0, i);
    if (name === '' || !/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(name)) {
      malformed++;
      continue;
    }
    if (!want(name)) continue;
    const labels: Record<string, string> = {};
    if (line.charCodeAt(i) === 123) {
      i++;
      let ok = false;
      for (;;) {
        while (line.charCodeAt(i) === 32 || line.charCodeAt(i) === 44 /* , */) i++;
        if (line.charCodeAt(i) === 125 /* } */) {
          i++;
          ok = true;
          break;
        }
        const eq = line.indexOf('=', i);
        if (eq < 0 || line.charCodeAt(eq + 1) !== 34 /* " */) break;
        const key = line.slice(i, eq).trim();
        let j = eq + 2;
        let val = '';
        let closed = false;
        while (j < line.length) {
          const ch = line[j]!;
          if (ch === '\\' && j + 1 < line.length) {
            const nx = line[j + 1]!;
            val += nx === 'n' ? '\n' : nx;
            j += 2;
          } else if (ch === '"') {
            closed = true;
            j++;
            break;
          } else {
            val += ch;
            j++;
          }
        }
        if (!closed) break;
        labels[key] = val;
        i = j;
      }
      if (!ok) {
        malformed++;
        continue;
      }
    }
    while (line.charCodeAt(i) === 32 || line.charCodeAt(i) === 9) i++;
    let k = i;
    while (k < line.length && line.charCodeAt(k) !== 32 && line.charCodeAt(k) !== 9) k++;
    const value = parseValue(line.slice(i, k));
    if (Number.isNaN(value) && line.slice(i, k) !== 'NaN') {
      malformed++;
      continue;
    }
    samples.push({ name, labels, value });
  }
  return { samples, malformed };
}
