/**
 * npm run bench:forecast — ETA accuracy and false forecasts of the forecast module on labelled
 * synthetic series (test/detect/forecast/synthetic.ts), for every estimator side by side.
 *
 *   npx tsx bench/forecast.ts [--seeds 5] [--seed-from 1] [--window 10m] [--bucket 20s] [--methods theil-sen,holt]
 *
 * `--seed-from 21 --seeds 20` runs seeds 21..40: held-out data for checking a change tuned on
 * the default seeds.
 *
 * Per leak: ETA error when 60 s and 300 s truly remain (|forecast − truth| / truth, mean and
 * worst over seeds; "miss" when there was no forecast), how long before the crossing the ETA
 * first dropped under 30 min, and how long before it the last unbroken run of ETAs under 30 min
 * began (a WARNING that drops out and comes back resolves and re-fires the alert). Per control: samples with an ETA under 30 min over 1 h
 * (false forecasts) and the smallest ETA seen. Goals: ETA error ≤ 10 % at both horizons; no
 * ETA under 30 min on any non-leaking series.
 */
import { parseArgs } from 'node:util';
import { Forecaster } from '../agent/detect/forecast/forecaster.ts';
import { FORECAST_METHODS, type ForecastMethod } from '../agent/detect/forecast/config.ts';
import { parseDuration } from '../agent/util/duration.ts';
import { SCENARIOS, scenario, type SyntheticSeries } from '../test/detect/forecast/synthetic.ts';

const { values } = parseArgs({
  options: {
    seeds: { type: 'string', default: '5' },
    'seed-from': { type: 'string', default: '1' },
    lag: { type: 'string', default: '0.5' },
    window: { type: 'string', default: '10m' },
    bucket: { type: 'string' },
    'min-points': { type: 'string', default: '6' },
    methods: { type: 'string', default: FORECAST_METHODS.join(',') },
    envelope: { type: 'string', default: 'peak' },
    significance: { type: 'string', default: '2' },
    recent: { type: 'string', default: '0.333' },
  },
});
const seeds = Number(values.seeds);
const seedFrom = Number(values['seed-from']);
const slopeLagFraction = Number(values.lag);
const windowMs = parseDuration(values.window) ?? 600_000;
const bucketMs = values.bucket ? (parseDuration(values.bucket) ?? 20_000) : Math.max(1000, Math.round(windowMs / 30));
const minPoints = Number(values['min-points']);
const methods = values.methods.split(',') as ForecastMethod[];
const envelope = values.envelope === 'floor' ? 'floor' : 'peak';
const curvatureSignificance = Number(values.significance);
const recentFraction = Number(values.recent);
const WARN_S = 1800;

interface RunResult {
  /** The forecast ETA and the true remaining time at the sample nearest `secondsBefore` the crossing. */
  etaAt: (secondsBefore: number) => { eta: number; truth: number } | undefined;
  firstWarnAt: number | undefined;
  /** Start of the last unbroken run of ETAs under 30 min before the crossing. */
  sustainedWarnAt: number | undefined;
  falseCount: number;
  falseAfterStop: number;
  /** Seconds after the leak stopped until the last ETA under 30 min. */
  clearedAfter: number | undefined;
  minEta: number;
  nsPerSample: number;
}

function run(s: SyntheticSeries, method: ForecastMethod): RunResult {
  const f = new Forecaster({ windowMs, bucketMs, minPoints, method, envelope, curvatureSignificance, recentFraction, slopeLagFraction });
  const eta = new Float64Array(s.t.length).fill(Number.NaN);
  let firstWarnAt: number | undefined;
  let sustainedWarnAt: number | undefined;
  let falseCount = 0;
  let falseAfterStop = 0;
  let lastWarnAt = -Infinity;
  let minEta = Infinity;
  const settle = (s.leakStopsAt ?? Infinity) + windowMs / 1000;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < s.t.length; i++) {
    const tMs = s.t[i]! * 1000;
    f.push(tMs, s.v[i]!);
    const r = f.forecast(tMs, s.limit, s.threshold);
    const e = r?.timeToThreshold;
    const warn = e !== undefined && e < WARN_S;
    if (s.crossAt === undefined || s.t[i]! < s.crossAt) {
      if (!warn) sustainedWarnAt = undefined;
      else if (sustainedWarnAt === undefined) sustainedWarnAt = s.t[i]!;
    }
    if (e === undefined) continue;
    eta[i] = e;
    if (e < minEta) minEta = e;
    if (e < WARN_S) {
      if (firstWarnAt === undefined) firstWarnAt = s.t[i]!;
      lastWarnAt = s.t[i]!;
      if (!s.leaking) {
        falseCount++;
        if (s.t[i]! >= settle) falseAfterStop++;
      }
    }
  }
  const nsPerSample = Number(process.hrtime.bigint() - t0) / s.t.length;
  const interval = s.t.length > 1 ? s.t[1]! - s.t[0]! : 1;
  return {
    etaAt: (before) => {
      if (s.crossAt === undefined) return undefined;
      const i = Math.round((s.crossAt - before) / interval);
      const e = eta[i];
      return e === undefined || Number.isNaN(e) ? undefined : { eta: e, truth: s.crossAt - s.t[i]! };
    },
    firstWarnAt,
    sustainedWarnAt,
    falseCount,
    falseAfterStop,
    clearedAfter: s.leakStopsAt === undefined ? undefined : Math.max(0, lastWarnAt - s.leakStopsAt),
    minEta,
    nsPerSample,
  };
}

function fmtPct(x: number): string {
  return `${(x * 100).toFixed(1)}%`;
}

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + ' '.repeat(n - s.length);
}

console.log(
  `forecast bench: window ${values.window}, bucket ${bucketMs / 1000}s, min_points ${minPoints}, envelope ${envelope}, seeds ${seedFrom}..${seedFrom + seeds - 1}, 1 Hz samples, limit 400 MiB, threshold 95 %`,
);
const summary: string[] = [];
for (const method of methods) {
  console.log(`\n== method ${method}`);
  console.log(pad('series', 20) + pad('ETA err @60s mean/max', 24) + pad('ETA err @300s mean/max', 24) + pad('ETA<30m first, before cross', 34) + 'false ETA<30m (samples; min ETA)');
  let worst60 = 0;
  let worst300 = 0;
  let misses = 0;
  let falseTotal = 0;
  let falseSeries = 0;
  let ns = 0;
  let runs = 0;
  for (const name of SCENARIOS) {
    const errs60: number[] = [];
    const errs300: number[] = [];
    const leads: number[] = [];
    const sustained: number[] = [];
    let miss60 = 0;
    let miss300 = 0;
    let fc = 0;
    let fcAfter = 0;
    let cleared = 0;
    let na300 = false;
    let minEta = Infinity;
    let leaking = false;
    let stops = false;
    for (let seed = seedFrom; seed < seedFrom + seeds; seed++) {
      const s = scenario(name, seed);
      leaking = s.leaking;
      stops = s.leakStopsAt !== undefined;
      const r = run(s, method);
      ns += r.nsPerSample;
      runs++;
      if (s.leaking && s.crossAt !== undefined) {
        for (const [h, errs] of [
          [60, errs60],
          [300, errs300],
        ] as const) {
          // A horizon earlier than the history a forecast needs cannot be scored.
          if (s.crossAt - h < (minPoints + 1) * (bucketMs / 1000)) {
            na300 = true;
            continue;
          }
          const e = r.etaAt(h);
          if (e === undefined) {
            if (h === 60) miss60++;
            else miss300++;
          } else errs.push(Math.abs(e.eta - e.truth) / e.truth);
        }
        if (r.firstWarnAt !== undefined) leads.push(s.crossAt - r.firstWarnAt);
        sustained.push(r.sustainedWarnAt === undefined ? 0 : s.crossAt - r.sustainedWarnAt);
      } else {
        fc += r.falseCount;
        fcAfter += r.falseAfterStop;
        cleared = Math.max(cleared, r.clearedAfter ?? 0);
        minEta = Math.min(minEta, r.minEta);
      }
    }
    if (leaking) {
      const stat = (errs: number[], m: number): string => {
        if (errs.length === 0) return m ? `miss ${m}/${seeds}` : 'n/a (leak too short)';
        const mean = errs.reduce((a, b) => a + b, 0) / errs.length;
        const max = Math.max(...errs);
        return `${fmtPct(mean)} / ${fmtPct(max)}${m ? ` +${m} miss` : ''}`;
      };
      worst60 = Math.max(worst60, ...errs60);
      worst300 = Math.max(worst300, ...errs300);
      misses += miss60 + miss300;
      const range = (xs: number[]) => `${Math.round(Math.min(...xs))}-${Math.round(Math.max(...xs))}`;
      const lead = leads.length ? `${range(leads)} s (unbroken ${range(sustained)})` : 'never';
      console.log(pad(name, 20) + pad(stat(errs60, miss60), 24) + pad(stat(errs300, miss300), 24) + pad(lead, 34) + '-');
    } else {
      const counted = stops ? fcAfter : fc;
      falseTotal += counted;
      if (counted > 0) falseSeries++;
      const extra = stops ? ` (while leaking: ${fc - fcAfter}, after stop+window: ${fcAfter}; last ETA<30m ${Math.round(cleared)} s after the stop)` : '';
      console.log(
        pad(name, 20) + pad('-', 24) + pad('-', 24) + pad('-', 34) + `${fc}; min ${Number.isFinite(minEta) ? `${Math.round(minEta)} s` : 'none'}${extra}`,
      );
    }
  }
  const ok = worst60 <= 0.1 && worst300 <= 0.1 && misses === 0 && falseTotal === 0;
  summary.push(
    `${pad(method, 12)} worst ETA err @60s ${fmtPct(worst60)}, @300s ${fmtPct(worst300)}, misses ${misses}, controls with false ETA<30m ${falseSeries}, cost ${(ns / runs / 1000).toFixed(2)} µs/sample  ${ok ? 'GOALS MET' : 'goals NOT met'}`,
  );
}
console.log('\nsummary (goals: ETA error ≤ 10 % at 60 s and 300 s, no ETA < 30 min on controls; leak-that-stops judged after stop + one window):');
for (const line of summary) console.log('  ' + line);
