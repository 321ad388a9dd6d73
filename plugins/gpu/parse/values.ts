/**
 * Reading single nvidia-smi values ("1234 MiB", "[N/A]", "Not Active", "16x") into numbers in
 * base units. Shared by the CSV and XML parsers so both agree on every quirk.
 */

/** What a field holds, and so which units it accepts and what its bare numbers mean. */
export type ValueKind =
  | 'bytes' // bare numbers are MiB (nvidia-smi's unit for every memory figure)
  | 'ratio' // bare numbers are percent; result 0..1
  | 'watts'
  | 'celsius'
  | 'hz' // bare numbers are MHz
  | 'bytesPerSecond' // bare numbers are KB/s (PCIe throughput), taken as KiB/s like nvidia-smi's MiB
  | 'count' // plain numbers; a trailing "x" (link width "16x") is accepted
  | 'active' // "Active" / "Not Active" → 1 / 0
  | 'yesno'; // "Yes" / "No" (also Enabled/Disabled, True/False, 1/0) → 1 / 0

/** A value nvidia-smi marks as missing: not an error, just nothing to report. */
export function isNotReported(raw: string): boolean {
  const t = raw.trim();
  if (t === '') return true;
  // Every bracketed value is a status, never data: [N/A], [Not Supported], [Unknown Error],
  // [Requested functionality has been deprecated], [Insufficient Permissions], [GPU is lost].
  if (t.startsWith('[') && t.endsWith(']')) return true;
  return NOT_REPORTED.has(t.toLowerCase());
}

const NOT_REPORTED = new Set([
  'n/a',
  'na',
  'not supported',
  'not available',
  'unknown error',
  'unknown',
  'err!',
  'requested functionality has been deprecated',
  'insufficient permissions',
  'gpu is lost',
  'none',
  '-',
]);

/** The value could not be read: a parse error, counted and reported with context. */
export interface Unreadable {
  readonly unreadable: true;
  readonly raw: string;
  readonly reason: string;
}

export type Parsed = number | null | Unreadable;

export function isUnreadable(v: Parsed): v is Unreadable {
  return typeof v === 'object' && v !== null;
}

const NUMBER_RE = /^([-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?)\s*([A-Za-z%°/]+)?$/;

const BYTE_UNITS: Record<string, number> = {
  b: 1,
  kib: 1024,
  kb: 1024,
  mib: 1024 ** 2,
  mb: 1024 ** 2,
  gib: 1024 ** 3,
  gb: 1024 ** 3,
  tib: 1024 ** 4,
  tb: 1024 ** 4,
};
const RATE_UNITS: Record<string, number> = { 'b/s': 1, 'kb/s': 1024, 'kib/s': 1024, 'mb/s': 1024 ** 2, 'mib/s': 1024 ** 2, 'gb/s': 1024 ** 3 };
const HZ_UNITS: Record<string, number> = { hz: 1, khz: 1e3, mhz: 1e6, ghz: 1e9 };
const WATT_UNITS: Record<string, number> = { w: 1, mw: 1e-3, kw: 1e3 };

function unreadable(raw: string, reason: string): Unreadable {
  return { unreadable: true, raw, reason };
}

/**
 * Parses one value of the given kind. `headerUnit` is the unit from a CSV header
 * (`memory.used [MiB]`), used when the value itself carries none (`--format=csv,nounits`).
 * Returns null for "not reported", an Unreadable for garbage, a finite number otherwise.
 */
export function parseValue(raw: string, kind: ValueKind, headerUnit?: string): Parsed {
  const t = raw.trim();
  if (isNotReported(t)) return null;
  if (kind === 'active') {
    const l = t.toLowerCase();
    if (l === 'active') return 1;
    if (l === 'not active') return 0;
    return unreadable(raw, 'expected "Active" or "Not Active"');
  }
  if (kind === 'yesno') {
    const l = t.toLowerCase();
    if (l === 'yes' || l === 'enabled' || l === 'true' || l === '1') return 1;
    if (l === 'no' || l === 'disabled' || l === 'false' || l === '0') return 0;
    return unreadable(raw, 'expected Yes or No');
  }
  const m = NUMBER_RE.exec(t);
  if (!m) return unreadable(raw, 'not a number');
  const n = Number(m[1]);
  if (!Number.isFinite(n)) return unreadable(raw, 'not a finite number');
  const unit = (m[2] ?? headerUnit ?? '').trim().toLowerCase();
  switch (kind) {
    case 'bytes': {
      const f = unit === '' ? BYTE_UNITS.mib! : BYTE_UNITS[unit];
      return f === undefined ? unreadable(raw, `unknown memory unit "${unit}"`) : n * f;
    }
    case 'bytesPerSecond': {
      const f = unit === '' ? RATE_UNITS['kb/s']! : RATE_UNITS[unit];
      return f === undefined ? unreadable(raw, `unknown rate unit "${unit}"`) : n * f;
    }
    case 'ratio':
      if (unit !== '' && unit !== '%') return unreadable(raw, `unknown ratio unit "${unit}"`);
      return n / 100;
    case 'watts': {
      const f = unit === '' ? 1 : WATT_UNITS[unit];
      return f === undefined ? unreadable(raw, `unknown power unit "${unit}"`) : n * f;
    }
    case 'celsius':
      if (unit !== '' && unit !== 'c' && unit !== '°c') return unreadable(raw, `unknown temperature unit "${unit}"`);
      return n;
    case 'hz': {
      const f = unit === '' ? HZ_UNITS.mhz! : HZ_UNITS[unit];
      return f === undefined ? unreadable(raw, `unknown frequency unit "${unit}"`) : n * f;
    }
    case 'count':
      if (unit !== '' && unit !== 'x') return unreadable(raw, `unexpected unit "${unit}"`);
      return n;
  }
}

/** A text value, or null when nvidia-smi marks it as not reported. */
export function parseText(raw: string | undefined): string | null {
  if (raw === undefined) return null;
  const t = raw.trim();
  return isNotReported(t) ? null : t;
}

/** "P0" … "P15" → 0 … 15 (the performance state as a number, for the metric). */
export function pstateNumber(pstate: string | null): number | null {
  if (pstate === null) return null;
  const m = /^P(\d{1,2})$/i.exec(pstate.trim());
  return m ? Number(m[1]) : null;
}

/** Normalizes a PCI bus id ("00000000:0C:00.0", "0000:0c:00.0") so CSV and XML ids match. */
export function normalizeBusId(raw: string | null): string | null {
  if (raw === null) return null;
  const m = /^([0-9a-f]+):([0-9a-f]{1,2}):([0-9a-f]{1,2})\.([0-9a-f])$/i.exec(raw.trim());
  if (!m) return raw.trim().toUpperCase();
  return `${m[1]!.padStart(8, '0')}:${m[2]!.padStart(2, '0')}:${m[3]!.padStart(2, '0')}.${m[4]}`.toUpperCase();
}
