// Runs one heap collection with the options in argv[2] and prints the outcome as JSON; the
// permission tests start it as an unprivileged user (root reads any file, so fixture modes
// alone cannot produce EACCES for the test runner itself).
import plugin from '../../../plugins/heap/index.ts';

const r = plugin.parseOptions(JSON.parse(process.argv[2]!) as Record<string, unknown>);
if (!r.ok) throw new Error(JSON.stringify(r.issues));
const logs: unknown[] = [];
const log = (obj: unknown) => void logs.push(obj);
const logger = { debug() {}, info: log, warn: log, error: log };
const inst = plugin.create(r.value, { instance: 'heap', logger, intervalMs: 1000, configDir: process.cwd() });
let samples: unknown = null;
let error: string | null = null;
try {
  samples = await inst.collect({ signal: new AbortController().signal, now: Date.now(), logger });
} catch (e) {
  error = String(e);
}
await inst.stop?.();
console.log(JSON.stringify({ uid: process.getuid?.(), samples, error, logs }));
