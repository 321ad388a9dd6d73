import { readFile } from 'node:fs/promises';

/** Errno codes meaning "the thing is not there" (a process that exited, a file this kernel lacks). */
// ESRCH: a kept /proc/<pid> fd of an exited process; ENODEV: a kept fd of a removed cgroup.
const GONE = new Set(['ENOENT', 'ESRCH', 'ENOTDIR', 'ENODEV']);
const DENIED = new Set(['EACCES', 'EPERM']);

export function errnoOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

export function isGone(err: unknown): boolean {
  const c = errnoOf(err);
  return c !== undefined && GONE.has(c);
}

export function isDenied(err: unknown): boolean {
  const c = errnoOf(err);
  return c !== undefined && DENIED.has(c);
}

/** Reads a file as text. */
export type ReadText = (path: string) => Promise<string>;

/** Reads a small procfs/cgroupfs file as text (open/read/close each time; see KeptFiles for the hot path). */
export function readText(path: string): Promise<string> {
  return readFile(path, 'latin1');
}

/** Like readText, but undefined when the file does not exist (optional files differ by kernel). */
export async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'latin1');
  } catch (err) {
    if (isGone(err)) return undefined;
    throw err;
  }
}

/** A short, context-carrying message for an fs error: `permission denied reading /proc/1/fd`. */
export function describeFsError(err: unknown, path: string): string {
  const c = errnoOf(err);
  if (c && DENIED.has(c)) return `permission denied reading ${path} (${c})`;
  if (c && GONE.has(c)) return `${path} does not exist`;
  return `reading ${path}: ${err instanceof Error ? err.message : String(err)}`;
}
