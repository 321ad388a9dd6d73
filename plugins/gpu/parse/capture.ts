/**
 * Capture files: many nvidia-smi outputs in one text file, each section headed by the
 * command that produced it (`# $ nvidia-smi --query-gpu=... --format=csv`), optionally with a
 * title line before it (`# load :: query-gpu (csv, ...)`) and `#####` banners around it, as
 * nvidia_gpu_exporter's captures are written. Every query-gpu, query-compute-apps and `-q -x`
 * section is parsed; compute-apps rows join the GPUs of the same state (`idle`, `load`).
 */
import { attachProcesses, derive, type Gpu, type PressureThresholds, type ProcessRow } from '../normalize.ts';
import { parseComputeAppsCsv, parseQueryGpuCsv } from './csv.ts';
import { GpuParseError } from './errors.ts';
import { parseNvidiaSmiXml } from './xml.ts';

export interface RawSection {
  /** Title without its parenthetical (`load :: query-gpu`), or the command when untitled. */
  readonly name: string;
  readonly command: string;
  readonly body: string;
  /** 1-based line of the body's first line in the capture file. */
  readonly line: number;
}

export interface CaptureSection {
  readonly section: string;
  readonly command: string;
  readonly gpus: Gpu[];
  readonly errors: GpuParseError[];
}

const BANNER_RE = /^#{10,}\s*$/;
const COMMAND_RE = /^# \$ (.*?)\s*$/;
const TITLE_RE = /^# (?!\$ )(.+?)\s*$/;

export function isCapture(text: string): boolean {
  return /^# \$ \S/m.test(text);
}

export function splitCapture(text: string): RawSection[] {
  const lines = text.split(/\r?\n/);
  const cmds: number[] = [];
  lines.forEach((l, i) => {
    if (COMMAND_RE.test(l)) cmds.push(i);
  });
  const out: RawSection[] = [];
  cmds.forEach((ci, k) => {
    const command = COMMAND_RE.exec(lines[ci]!)![1]!;
    const prev = ci > 0 ? lines[ci - 1]! : '';
    const title = !BANNER_RE.test(prev) ? TITLE_RE.exec(prev)?.[1] : undefined;
    let start = ci + 1;
    if (start < lines.length && BANNER_RE.test(lines[start]!)) start++;
    let end = k + 1 < cmds.length ? cmds[k + 1]! : lines.length;
    // Drop what belongs to the next section's head: its title line and banner.
    if (k + 1 < cmds.length && end - 1 >= start && TITLE_RE.test(lines[end - 1]!) && !BANNER_RE.test(lines[end - 1]!)) end--;
    while (end - 1 >= start && (BANNER_RE.test(lines[end - 1]!) || lines[end - 1]!.trim() === '')) end--;
    const name = (title ?? command).replace(/\s*\([^)]*\)\s*$/, '').trim();
    out.push({ name, command, body: lines.slice(start, end).join('\n'), line: start + 1 });
  });
  return out;
}

function queryFields(command: string, flag: string): string[] | undefined {
  const m = new RegExp(`${flag}=(\\S+)`).exec(command);
  return m ? m[1]!.split(',').filter((f) => f !== '') : undefined;
}

function stateOf(name: string): string {
  const i = name.indexOf(' :: ');
  return i < 0 ? '' : name.slice(0, i);
}

/** Parses every GPU section of a capture file. */
export function parseCapture(text: string, thresholds?: PressureThresholds): CaptureSection[] {
  const sections = splitCapture(text);
  const gpuSections: { state: string; section: string; command: string; gpus: Gpu[]; errors: GpuParseError[] }[] = [];
  const apps: { state: string; rows: ProcessRow[]; errors: GpuParseError[] }[] = [];
  for (const s of sections) {
    const cmd = s.command;
    // Commands that failed are annotated `# (exit code: N)`; a failed query is still reported.
    if (/--query-gpu=/.test(cmd)) {
      const r = parseQueryGpuCsv(s.body, queryFields(cmd, '--query-gpu'), s.line - 1);
      gpuSections.push({ state: stateOf(s.name), section: s.name, command: cmd, gpus: r.gpus.map((g) => derive(g, thresholds)), errors: r.errors });
    } else if (/--query-compute-apps=/.test(cmd)) {
      const r = parseComputeAppsCsv(s.body, queryFields(cmd, '--query-compute-apps'), s.line - 1);
      apps.push({ state: stateOf(s.name), rows: r.processes, errors: r.errors });
    } else if (/(^|\s)(-x|--xml-format)(\s|$)/.test(cmd) && /(^|\s)(-q|--query)(\s|$)/.test(cmd)) {
      try {
        const r = parseNvidiaSmiXml(s.body, s.line - 1);
        gpuSections.push({ state: stateOf(s.name), section: s.name, command: cmd, gpus: r.gpus.map((g) => derive(g, thresholds)), errors: r.errors });
      } catch (err) {
        const e = err instanceof GpuParseError ? err : new GpuParseError(String(err), { source: 'xml', line: s.line });
        gpuSections.push({ state: stateOf(s.name), section: s.name, command: cmd, gpus: [], errors: [e] });
      }
    }
  }
  for (const a of apps) {
    // CSV sections carry no process list of their own; the same state's compute-apps does.
    const target = gpuSections.find((g) => g.state === a.state && !/(^|\s)-x(\s|$)/.test(g.command)) ?? gpuSections.find((g) => g.state === a.state);
    if (!target) {
      if (a.rows.length > 0) a.errors.push(new GpuParseError(`compute-apps rows for state "${a.state}" but no GPU section to attach them to`, { source: 'capture' }));
      continue;
    }
    const { gpus, unmatched } = attachProcesses(target.gpus, a.rows);
    target.gpus = gpus;
    target.errors.push(...a.errors);
    for (const u of unmatched) {
      target.errors.push(new GpuParseError(`process ${u.pid} names a GPU not in this section (${u.gpuUuid ?? u.gpuBusId ?? 'no id'})`, { source: 'compute-apps' }));
    }
  }
  return gpuSections.map(({ section, command, gpus, errors }) => ({ section, command, gpus, errors }));
}
