/**
 * Fake `nvidia-smi` executables for tests: bash scripts generated per scenario, each carrying
 * a unique marker in its path (and in the argv of any helper process it starts) so a test
 * can prove that no fake nvidia-smi process is left behind.
 */
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { splitCapture } from '../../../../plugins/gpu/parse/capture.ts';

export const FIXTURES = join(import.meta.dirname, '../../../../../shared/fixtures/nvidia-smi');
export const TESTDATA = join(import.meta.dirname, '../../../../plugins/gpu/testdata');

export type Scenario =
  /** Loop rows every -lms ms for two GPUs; memory.used grows by 1 MiB per row. */
  | 'ok'
  /** Loop: a good row, then garbage, a short row, a row with a garbage value, then good rows again. */
  | 'garbage'
  /** Every command hangs (with a helper child in the same process group). */
  | 'hang'
  /** Help works; every query prints the driver-failure message and exits 9. */
  | 'driver-fail'
  /** Loop: three rows, then half a row, then exit 1. */
  | 'die'
  /** Loop: two rows, then silence forever. */
  | 'stall';

export interface FakeSmi {
  readonly dir: string;
  readonly path: string;
  readonly marker: string;
  /** Lines the script appended to its invocation log (one per start). */
  invocations(): string[];
  cleanup(): void;
}

/** The real `--help-query-gpu` text of the H100 capture (driver 590). */
export function realHelpQueryGpu(): string {
  const text = readFileSync(join(FIXTURES, 'captures/linux-x86_64__nvidia-h100-80gb-hbm3__590.48.01.txt'), 'utf8');
  const s = splitCapture(text).find((x) => x.command === 'nvidia-smi --help-query-gpu');
  if (!s) throw new Error('help-query-gpu section missing from the H100 capture');
  return s.body;
}

const GPU_VALUES: readonly Record<string, string>[] = [
  {
    index: '0',
    uuid: 'GPU-11111111-1111-1111-1111-111111111111',
    name: 'NVIDIA H100 80GB HBM3',
    'pci.bus_id': '00000000:00:09.0',
    driver_version: '590.48.01',
    pstate: 'P0',
    'fan.speed': '[N/A]',
    'memory.total': '81559',
    'memory.reserved': '479',
    'memory.free': '61263',
    'utilization.gpu': '100',
    'utilization.memory': '11',
    'utilization.encoder': '0',
    'utilization.decoder': '0',
    'utilization.jpeg': '0',
    'utilization.ofa': '0',
    'temperature.gpu': '59',
    'temperature.memory': '54',
    'power.draw': '631.95',
    'power.draw.average': '631.95',
    'enforced.power.limit': '700.00',
    'power.default_limit': '700.00',
    'power.min_limit': '200.00',
    'power.max_limit': '700.00',
    'clocks.current.graphics': '1980',
    'clocks.current.sm': '1980',
    'clocks.current.memory': '2619',
    'clocks.current.video': '1545',
    'pcie.link.gen.current': '5',
    'pcie.link.width.current': '16',
    'clocks_event_reasons.gpu_idle': 'Not Active',
    'clocks_event_reasons.sw_power_cap': 'Active',
    'ecc.errors.corrected.volatile.total': '0',
    'ecc.errors.uncorrected.volatile.total': '0',
    'retired_pages.pending': '[N/A]',
    'remapped_rows.correctable': '0',
    'remapped_rows.pending': 'No',
    'mig.mode.current': 'Disabled',
  },
  {
    index: '1',
    uuid: 'GPU-22222222-2222-2222-2222-222222222222',
    name: 'NVIDIA H100 80GB HBM3',
    'pci.bus_id': '00000000:00:0A.0',
    pstate: 'P8',
    'memory.total': '81559',
    'memory.free': '81000',
    'utilization.gpu': '0',
    'temperature.gpu': '31',
    'power.draw': '[Unknown Error]',
  },
];

/** memory.used of GPU g at row n (MiB), as the fake prints it. */
export function fakeUsedMiB(gpu: number, row: number): number {
  return (gpu === 0 ? 19818 : 10) + row;
}

function bashAssoc(name: string, values: Record<string, string>): string {
  const q = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;
  return `declare -A ${name}=(${Object.entries(values)
    .map(([k, v]) => `[${q(k)}]=${q(v)}`)
    .join(' ')})`;
}

export function makeFakeSmi(scenario: Scenario, opts: { help?: string; xml?: string; gpu0?: Record<string, string> } = {}): FakeSmi {
  const marker = `vigil-fake-nvsmi-${process.pid}-${Math.random().toString(36).slice(2, 10)}`;
  const dir = mkdtempSync(join(tmpdir(), `${marker}-`));
  writeFileSync(join(dir, 'help.txt'), opts.help ?? realHelpQueryGpu());
  writeFileSync(join(dir, 'xml.xml'), opts.xml ?? '');
  const script = `#!/bin/bash
# fake nvidia-smi for vigil tests: ${marker}
DIR="$(cd "$(dirname "$0")" && pwd)"
MARKER='${marker}'
SCENARIO='${scenario}'
echo "$*" >> "$DIR/invocations.log"
${bashAssoc('V0', { ...GPU_VALUES[0]!, ...opts.gpu0 })}
${bashAssoc('V1', GPU_VALUES[1]!)}
Q=""; APPS=""; LMS=""; HELP=""; XML=""
while [ $# -gt 0 ]; do
  case "$1" in
    --query-gpu=*) Q="\${1#--query-gpu=}";;
    --query-compute-apps=*) APPS="\${1#--query-compute-apps=}";;
    -lms) LMS="$2"; shift;;
    --help-query-gpu) HELP=1;;
    -x) XML=1;;
  esac
  shift
done
# Sleeps without forking: read with a timeout on a pipe nobody writes to.
exec 7<> <(:)
nap() { read -t "$1" -u 7 || true; }
hang() { ( exec -a "$MARKER-helper" sleep 1000 ) & wait; }
row() { # $1 gpu, $2 row number
  local out="" f v
  IFS=',' read -ra FS <<< "$Q"
  for f in "\${FS[@]}"; do
    if [ "$f" = "memory.used" ]; then
      if [ "$1" = 0 ]; then v=$((19818 + $2)); else v=$((10 + $2)); fi
    elif [ "$1" = 0 ]; then v="\${V0[$f]:-[N/A]}"; else v="\${V1[$f]:-[N/A]}"; fi
    if [ -z "$out" ]; then out="$v"; else out="$out, $v"; fi
  done
  printf '%s\\n' "$out"
}
if [ -n "$HELP" ]; then
  [ "$SCENARIO" = hang ] && hang
  cat "$DIR/help.txt"; exit 0
fi
if [ "$SCENARIO" = hang ]; then hang; exit 0; fi
if [ "$SCENARIO" = driver-fail ]; then
  echo "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. Make sure that the latest NVIDIA driver is installed and running."
  exit 9
fi
if [ -n "$XML" ]; then cat "$DIR/xml.xml"; exit 0; fi
if [ -n "$APPS" ]; then
  echo "GPU-11111111-1111-1111-1111-111111111111, 00000000:00:09.0, 4242, /usr/bin/python3, 19000"
  echo "GPU-22222222-2222-2222-2222-222222222222, 00000000:00:0A.0, 4343, C:\\\\Program Files\\\\app, with comma.exe, [N/A]"
  exit 0
fi
if [ -n "$Q" ]; then
  SEC=$(awk -v ms="\${LMS:-0}" 'BEGIN { printf "%.3f", ms / 1000 }')
  n=0
  while true; do
    case "$SCENARIO" in
      garbage)
        if [ $n = 1 ]; then echo "%%% this is not csv %%%"; echo "0, GPU-short"; fi
        if [ $n = 2 ]; then row 0 $n | sed 's/, 59,/, hot,/'; row 1 $n; n=$((n+1)); nap "$SEC"; continue; fi;;
      die)
        if [ $n = 3 ]; then printf '0, GPU-11111111-1111-1111-1111-111111111111, NVIDIA H1'; exit 1; fi;;
      stall)
        if [ $n = 2 ]; then hang; fi;;
    esac
    row 0 $n; row 1 $n
    n=$((n+1))
    [ -z "$LMS" ] && exit 0
    nap "$SEC"
  done
fi
echo "fake nvidia-smi: unsupported arguments" >&2
exit 2
`;
  const path = join(dir, 'nvidia-smi');
  writeFileSync(path, script);
  chmodSync(path, 0o755);
  return {
    dir,
    path,
    marker,
    invocations: () => {
      try {
        return readFileSync(join(dir, 'invocations.log'), 'utf8').split('\n').filter((l) => l !== '');
      } catch {
        return [];
      }
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** Pids of live processes whose command line contains the marker. */
export function processesWithMarker(marker: string): number[] {
  const out: number[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const cmd = readFileSync(`/proc/${e}/cmdline`, 'utf8');
      if (cmd.includes(marker)) out.push(Number(e));
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

/** Direct children of this process that are zombies (exited, never reaped). */
export function zombieChildren(): number[] {
  const out: number[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      // pid (comm) state ppid ...; comm may contain spaces, so parse after the last ')'.
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (rest[0] === 'Z' && Number(rest[1]) === process.pid) out.push(Number(e));
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

/** Polls until `cond` holds or `ms` passes. */
export async function eventually(cond: () => boolean, ms = 5_000, step = 25): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, step));
  }
  return cond();
}
