import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { parseSize } from '../../../plugins/heap/size.ts';
import { parseMaxOpenFiles, parseProcCgroup, parseSmapsPss, parseStat, parseStatus } from '../../../plugins/heap/sources/procfs.ts';
import { parseKeyed, parseMaxFile, parsePsi, parseV1Limit } from '../../../plugins/heap/sources/cgroup-parse.ts';
import { parsePromText } from '../../../plugins/heap/sources/prom-text.ts';
import { readHeap } from '../../../plugins/heap/sources/v8.ts';
import { pressureLevel, utilization } from '../../../plugins/heap/pressure.ts';
import plugin from '../../../plugins/heap/index.ts';

describe('procfs parsers', () => {
  it('parses a stat line whose comm contains spaces and parentheses', () => {
    const line = '77 (a) b (c)) R 1 77 77 0 -1 4194560 111 0 22 0 1 2 0 0 20 0 3 0 98765 100 200 18446744073709551615';
    expect(parseStat(line)).toEqual({ comm: 'a) b (c)', minflt: 111, majflt: 22, starttime: 98765 });
    expect(parseStat('garbage')).toBeUndefined();
    expect(parseStat('1 (x) S 1 2')).toBeUndefined();
  });
  it('parses status, smaps_rollup, limits and /proc/<pid>/cgroup', () => {
    expect(parseStatus('Name:\tx\nVmRSS:\t  100 kB\nThreads:\t3\nVmSwap:\tjunk kB\n')).toEqual({ rss: 102400, threads: 3 });
    expect(parseStatus('Name:\tkthreadd\nThreads:\t1\n')).toEqual({ threads: 1 }); // kernel thread: no Vm lines
    expect(parseSmapsPss('1-2 ---p 0 0:0 0 [rollup]\nRss: 10 kB\nPss: 7 kB\n')).toBe(7168);
    expect(parseMaxOpenFiles('Max open files            unlimited            unlimited            files\n')).toBeUndefined();
    const cg = parseProcCgroup('12:memory:/a/b\n3:cpu,cpuacct:/c\n0::/d\n');
    expect(cg.v1.get('memory')).toBe('/a/b');
    expect(cg.v1.get('cpuacct')).toBe('/c');
    expect(cg.v2).toBe('/d');
  });
});

describe('cgroup parsers', () => {
  it('max, huge v1 limits and garbage', () => {
    expect(parseMaxFile('max\n')).toBe(Infinity);
    expect(parseMaxFile('1024\n')).toBe(1024);
    expect(parseV1Limit('9223372036854771712\n')).toBe(Infinity);
    expect(() => parseMaxFile('12 kB')).toThrow(/expected a number, got "12 kB"/);
    expect(parseKeyed('a 1\nbad\nb x\nc 3\n')).toEqual({ values: new Map([['a', 1], ['c', 3]]), malformed: 2 });
    expect(parsePsi('some avg10=1.00 avg60=2.00 avg300=3.00 total=4\nfull avg10=x\n')).toEqual({
      some: { avg10: 1, avg60: 2, avg300: 3, total: 4 },
    });
  });
  it('never throws from keyed/PSI/procfs parsers on arbitrary input', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (t) => {
        parseKeyed(t);
        parsePsi(t);
        parseStatus(t);
        parseStat(t);
        parseProcCgroup(t);
        parseSmapsPss(t);
        parseMaxOpenFiles(t);
      }),
    );
  });
});

describe('Prometheus text parser', () => {
  it('reads labels with escapes, special values, timestamps, and counts malformed lines', () => {
    const text = [
      '# HELP x help',
      '# TYPE x gauge',
      'x{a="q\\"uote",b="new\\nline"} 1.5 1700000000000',
      'x{a="b"} +Inf',
      'x NaN',
      'x{a="unterminated} 3',
      'y 7',
      '{bad} 1',
      'x{a="1"} notanumber',
      '',
    ].join('\n');
    const { samples, malformed } = parsePromText(text, (n) => n === 'x');
    expect(samples.map((s) => [s.labels, s.value])).toEqual([
      [{ a: 'q"uote', b: 'new\nline' }, 1.5],
      [{ a: 'b' }, Infinity],
      [{}, NaN],
    ]);
    expect(malformed).toBe(3);
  });
  it('never throws on arbitrary input', () => {
    fc.assert(fc.property(fc.string({ maxLength: 400 }), (t) => void parsePromText(t, () => true)));
  });
  it('maps prom-client names with a prefix and sums duplicate series', () => {
    const text = 'app_nodejs_heap_size_used_bytes{i="1"} 10\napp_nodejs_heap_size_used_bytes{i="2"} 5\n' +
      'app_nodejs_heap_space_size_used_bytes{space="old"} 4\napp_nodejs_gc_duration_seconds_count{kind="major"} 2\n';
    const h = readHeap(parsePromText(text, () => true).samples, 'app_');
    expect(h.used).toBe(15);
    expect(h.spaceUsed.get('old_space')).toBe(4);
    expect(h.gcCount.get('major')).toBe(2);
  });
});

describe('sizes, utilization, pressure, options', () => {
  it('parses sizes as config and the Downward API write them', () => {
    expect(parseSize('512Mi')).toBe(512 * 2 ** 20);
    expect(parseSize('512MiB')).toBe(512 * 2 ** 20);
    expect(parseSize('1G')).toBe(1e9);
    expect(parseSize('1e9')).toBe(1e9);
    expect(parseSize('536870912')).toBe(536870912);
    expect(parseSize('lots')).toBeUndefined();
    expect(parseSize('5 parsecs')).toBeUndefined();
  });
  it('utilization is absent when unlimited; levels at the thresholds', () => {
    expect(utilization(5, Infinity)).toBeUndefined();
    expect(utilization(5, undefined)).toBeUndefined();
    expect(utilization(5, 10)).toBe(0.5);
    const t = { medium: 0.7, high: 0.8, critical: 0.9 };
    expect([0.69, 0.7, 0.8, 0.9, 1.2].map((u) => pressureLevel(u, t))).toEqual([0, 1, 2, 3, 3]);
  });
  it('rejects bad options with their paths', () => {
    const r = plugin.parseOptions({ process: [{ pid: 1, match: 'x' }, { match: '(' }], v8: [{ url: 'ftp://x' }], bogus: 1 });
    expect(r.ok).toBe(false);
    const paths = r.ok ? [] : r.issues.map((i) => i.path.join('.'));
    expect(paths).toEqual(expect.arrayContaining(['process.0', 'process.1.match', 'v8.0.url']));
    expect(r.ok ? '' : JSON.stringify(r.issues)).toContain('bogus');
  });
  it('declares every metric once, with limits that name declared metrics', () => {
    const names = plugin.metrics.map((m) => m.name);
    expect(new Set(names).size).toBe(names.length);
    for (const m of plugin.metrics) if (m.limit) expect(names).toContain(m.limit);
  });
});
