#!/usr/bin/env node
// A fake `nvidia-smi` for vigil's GPU scenario: replays an H100 (driver 590.48.01) capture's
// values while framebuffer memory climbs like a training job leaking cached tensors, with a
// small allocator sawtooth, until it reaches the total (the job dies with CUDA OOM) and memory
// falls back to the baseline. Driven by a JSON state file:
//   {"startMs": <unix ms>, "baseMiB": 19818, "totalMiB": 81559, "rateMiBps": 1200, "sawMiB": 400, "restartAfterS": 5}
// Invoked as `fake-nvidia-smi.mjs <state.json> <nvidia-smi args...>` by a generated wrapper.
import { readFileSync } from 'node:fs';

const [stateFile, ...argv] = process.argv.slice(2);
let state = JSON.parse(readFileSync(stateFile, 'utf8'));
// Re-read for every row: the scenario (re)starts the job by rewriting startMs while the loop runs.
const refresh = () => {
  try {
    state = JSON.parse(readFileSync(stateFile, 'utf8'));
  } catch {
    // keep the last state (a half-written file)
  }
};

// Values from the H100 capture (linux-x86_64__nvidia-h100-80gb-hbm3__590.48.01, idle/load rows).
const VALUES = {
  index: '0',
  uuid: 'GPU-5d1f7c2e-8a47-4c39-9b1e-0f6a2d3c4b5a',
  name: 'NVIDIA H100 80GB HBM3',
  'pci.bus_id': '00000000:00:09.0',
  driver_version: '590.48.01',
  pstate: 'P0',
  'fan.speed': '[N/A]',
  'memory.total': String(state.totalMiB),
  'memory.reserved': '479',
  'utilization.gpu': '97',
  'utilization.memory': '41',
  'utilization.encoder': '0',
  'utilization.decoder': '0',
  'temperature.gpu': '61',
  'temperature.memory': '56',
  'power.draw': '612.40',
  'enforced.power.limit': '700.00',
  'power.default_limit': '700.00',
  'clocks.current.graphics': '1980',
  'clocks.current.sm': '1980',
  'clocks.current.memory': '2619',
  'clocks.current.video': '1545',
  'pcie.link.gen.current': '5',
  'pcie.link.width.current': '16',
  'clocks_event_reasons.gpu_idle': 'Not Active',
  'clocks_event_reasons.sw_power_cap': 'Not Active',
  'ecc.errors.corrected.volatile.total': '0',
  'ecc.errors.uncorrected.volatile.total': '0',
  'mig.mode.current': 'Disabled',
};

/** memory.used (MiB) at `now`: a climb with a sawtooth; after reaching the total, back to base. */
function usedMiB(now) {
  const t = (now - state.startMs) / 1000;
  const life = (state.totalMiB - state.baseMiB) / state.rateMiBps;
  if (t < 0) return state.baseMiB;
  if (t >= life) return state.baseMiB; // the job died (CUDA OOM) and released its memory
  const saw = state.sawMiB * ((t % 4) / 4);
  return Math.min(state.totalMiB, Math.round(state.baseMiB + state.rateMiBps * t + saw));
}

function row(fields) {
  refresh();
  const used = usedMiB(Date.now());
  return fields
    .map((f) => {
      if (f === 'memory.used') return String(used);
      if (f === 'memory.free') return String(state.totalMiB - used - 479);
      if (f === 'timestamp') return new Date().toISOString().replace('T', ' ').slice(0, 23);
      return VALUES[f] ?? '[N/A]';
    })
    .join(', ');
}

let query;
let lms;
let apps = false;
let help = false;
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  if (a.startsWith('--query-gpu=')) query = a.slice('--query-gpu='.length).split(',');
  else if (a.startsWith('--query-compute-apps=')) apps = true;
  else if (a === '-lms') lms = Number(argv[++i]);
  else if (a === '--help-query-gpu') help = true;
}

if (help) {
  const names = [...Object.keys(VALUES), 'memory.used', 'memory.free', 'timestamp'];
  process.stdout.write('List of valid properties to query for the switch "--query-gpu=":\n\n');
  for (const n of names) process.stdout.write(`"${n}"\nSection about ${n}.\n\n`);
} else if (apps) {
  // One training process holding the memory.
  const used = usedMiB(Date.now());
  if (used > state.baseMiB) process.stdout.write(`4242, python3, ${used - state.baseMiB}, ${VALUES.uuid}\n`);
} else if (query) {
  process.stdout.write(row(query) + '\n');
  if (lms) setInterval(() => process.stdout.write(row(query) + '\n'), lms);
} else {
  process.stderr.write('fake nvidia-smi: unsupported arguments ' + argv.join(' ') + '\n');
  process.exit(2);
}
