/**
 * Labelled synthetic memory series for the forecast tests and bench/forecast.ts: a trend
 * (the post-GC floor) under a GC sawtooth with Gaussian measurement noise, sampled at a
 * fixed interval. Values are MiB against a limit; everything is seeded and deterministic.
 */

export interface SyntheticSeries {
  readonly name: string;
  /** True when the series really runs into the threshold (a leak), false for controls. */
  readonly leaking: boolean;
  readonly limit: number;
  readonly threshold: number;
  /** Sample times, seconds from 0. */
  readonly t: Float64Array;
  /** Observed values (with noise). */
  readonly v: Float64Array;
  /**
   * Truth: first time (s) the sawtooth's peak envelope (floor + amplitude, no noise, no
   * sampling) reaches threshold × limit; undefined if it never does within the series.
   */
  readonly crossAt: number | undefined;
  /** For a leak that stops: when it stopped (s). */
  readonly leakStopsAt?: number;
}

export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function gaussian(rand: () => number): number {
  const u = Math.max(rand(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
}

interface Shape {
  name: string;
  leaking: boolean;
  durationS: number;
  /** The floor (live set) at time t. */
  floor: (t: number) => number;
  /** Sawtooth amplitude and period (allocation churn collected by GC). */
  amplitude: number;
  periodS: number;
  noise: number;
  /** Extra short-lived additions (spikes) at time t. */
  extra?: (t: number) => number;
  leakStopsAt?: number;
}

export const LIMIT_MIB = 400;
export const THRESHOLD = 0.95;

function build(shape: Shape, seed: number, intervalS: number): SyntheticSeries {
  const rand = mulberry32(seed);
  const n = Math.floor(shape.durationS / intervalS) + 1;
  const t = new Float64Array(n);
  const v = new Float64Array(n);
  const phase = rand() * shape.periodS;
  // Each GC cycle's period jitters ±25 %, as real allocation rates do.
  let cycleStart = -phase;
  let cycleLen = shape.periodS;
  let crossAt: number | undefined;
  const line = THRESHOLD * LIMIT_MIB;
  for (let i = 0; i < n; i++) {
    const ti = i * intervalS;
    while (ti >= cycleStart + cycleLen) {
      cycleStart += cycleLen;
      cycleLen = shape.periodS * (0.75 + 0.5 * rand());
    }
    const saw = shape.amplitude * ((ti - cycleStart) / cycleLen);
    const clean = shape.floor(ti) + saw + (shape.extra?.(ti) ?? 0);
    t[i] = ti;
    v[i] = clean + shape.noise * gaussian(rand);
  }
  if (shape.leaking) {
    // Envelope crossing to 10 ms, by bisection inside the first sample step that crosses.
    const env = (x: number): number => shape.floor(x) + shape.amplitude;
    for (let i = 0; i < n && crossAt === undefined; i++) {
      if (env(i * intervalS) < line) continue;
      let lo = Math.max(0, (i - 1) * intervalS);
      let hi = i * intervalS;
      if (env(lo) >= line) crossAt = lo;
      else {
        while (hi - lo > 0.01) {
          const mid = (lo + hi) / 2;
          if (env(mid) >= line) hi = mid;
          else lo = mid;
        }
        crossAt = hi;
      }
    }
  }
  return {
    name: shape.name,
    leaking: shape.leaking,
    limit: LIMIT_MIB,
    threshold: THRESHOLD,
    t,
    v,
    crossAt,
    ...(shape.leakStopsAt !== undefined ? { leakStopsAt: shape.leakStopsAt } : {}),
  };
}

/** Steps of 10–40 MiB at irregular 20–120 s intervals, precomputed from the seed. */
function stepFloor(seed: number, base: number, durationS: number): (t: number) => number {
  const rand = mulberry32(seed ^ 0x5bd1e995);
  const at: number[] = [];
  const level: number[] = [];
  let t = 20 + rand() * 100;
  let v = base;
  while (t < durationS) {
    v += 10 + rand() * 30;
    at.push(t);
    level.push(v);
    t += 20 + rand() * 100;
  }
  return (x: number) => {
    let out = base;
    for (let i = 0; i < at.length && at[i]! <= x; i++) out = level[i]!;
    return out;
  };
}

/** Spikes of 60–120 MiB lasting 1–3 s, about one every 40 s. */
function bursts(seed: number, durationS: number): (t: number) => number {
  const rand = mulberry32(seed ^ 0x27d4eb2f);
  const start: number[] = [];
  const end: number[] = [];
  const height: number[] = [];
  let t = -Math.log(Math.max(rand(), 1e-9)) * 40;
  while (t < durationS) {
    start.push(t);
    end.push(t + 1 + rand() * 2);
    height.push(60 + rand() * 60);
    t += -Math.log(Math.max(rand(), 1e-9)) * 40;
  }
  return (x: number) => {
    for (let i = 0; i < start.length; i++) if (x >= start[i]! && x < end[i]!) return height[i]!;
    return 0;
  };
}

export type ScenarioName =
  | 'linear-leak-1.0'
  | 'linear-leak-0.5'
  | 'linear-leak-0.2'
  | 'slow-leak-0.08'
  | 'stepwise-leak'
  | 'leak-after-start-up'
  | 'stable-sawtooth'
  | 'one-off-spike'
  | 'leak-that-stops'
  | 'warm-up-ramp'
  | 'cache-fill-plateau'
  | 'bursty';

export const SCENARIOS: readonly ScenarioName[] = [
  'linear-leak-1.0',
  'linear-leak-0.5',
  'linear-leak-0.2',
  'slow-leak-0.08',
  'stepwise-leak',
  'leak-after-start-up',
  'stable-sawtooth',
  'one-off-spike',
  'leak-that-stops',
  'warm-up-ramp',
  'cache-fill-plateau',
  'bursty',
];

const HOUR = 3600;

/** One labelled series; `intervalS` is the sampling interval (1 s by default). */
export function scenario(name: ScenarioName, seed = 1, intervalS = 1): SyntheticSeries {
  const saw = { amplitude: 30, periodS: 8, noise: 1.5 };
  switch (name) {
    case 'linear-leak-1.0':
      return build({ name, leaking: true, durationS: 500, floor: (t) => 60 + 1.0 * t, ...saw }, seed, intervalS);
    case 'linear-leak-0.5':
      return build({ name, leaking: true, durationS: 900, floor: (t) => 80 + 0.5 * t, ...saw }, seed, intervalS);
    case 'linear-leak-0.2':
      return build({ name, leaking: true, durationS: 1800, floor: (t) => 80 + 0.2 * t, ...saw }, seed, intervalS);
    case 'slow-leak-0.08':
      return build({ name, leaking: true, durationS: 3600, floor: (t) => 120 + 0.08 * t, ...saw }, seed, intervalS);
    case 'stepwise-leak':
      return build({ name, leaking: true, durationS: 1800, floor: stepFloor(seed, 80, 1800), ...saw }, seed, intervalS);
    case 'leak-after-start-up':
      // What a watched pod looks like from its first second (as in bench/e2e.ts): the app loads
      // (0 → 50 MiB in 5 s), its allocator settles (+25 MiB, τ = 15 s), and a 0.45 MiB/s leak
      // starts at 30 s. The start-up's steep, bending climb must not read as a plateau.
      return build(
        { name, leaking: true, durationS: 1200, floor: (t) => 50 * Math.min(1, t / 5) + 25 * (1 - Math.exp(-t / 15)) + 0.45 * Math.max(0, t - 30), ...saw },
        seed,
        intervalS,
      );
    case 'stable-sawtooth':
      return build({ name, leaking: false, durationS: HOUR, floor: () => 200, amplitude: 40, periodS: 8, noise: 2 }, seed, intervalS);
    case 'one-off-spike':
      return build(
        { name, leaking: false, durationS: HOUR, floor: () => 220, ...saw, extra: (t) => (t >= 1800 && t < 1804 ? 100 : 0) },
        seed,
        intervalS,
      );
    case 'leak-that-stops':
      return build(
        { name, leaking: false, durationS: HOUR, floor: (t) => 100 + 0.3 * Math.min(t, 400), ...saw, leakStopsAt: 400 },
        seed,
        intervalS,
      );
    case 'warm-up-ramp':
      // Fast climb in the first minutes (3 MiB/s at start), plateau at ~67 % of the limit.
      return build({ name, leaking: false, durationS: HOUR, floor: (t) => 60 + 180 * (1 - Math.exp(-t / 60)), ...saw }, seed, intervalS);
    case 'cache-fill-plateau':
      // A cache whose miss rate falls as it fills: ~0.9 MiB/s at first, levelling at 70 %.
      return build(
        { name, leaking: false, durationS: HOUR, floor: (t) => 100 + 160 * (1 - Math.exp(-t / 180)), amplitude: 20, periodS: 8, noise: 1.5 },
        seed,
        intervalS,
      );
    case 'bursty':
      return build({ name, leaking: false, durationS: HOUR, floor: () => 180, amplitude: 20, periodS: 8, noise: 2, extra: bursts(seed, HOUR) }, seed, intervalS);
  }
}
