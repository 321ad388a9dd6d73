import { cpus, loadavg } from 'node:os';
import { z } from 'zod';
import si from 'systeminformation';
import { definePlugin, type Sample } from '../../agent/plugin/api.ts';
import { zodOptions } from '../../agent/plugin/zod-options.ts';
import { SYSTEM_METRICS } from './metrics.ts';
import { CPU_MODES, readCpuTimes, readMemInfo, type CpuTimes } from './proc-readers.ts';

const optionsSchema = z
  .object({
    /** Root of the proc filesystem (a host's /proc mounted elsewhere, or test fixtures). */
    proc_root: z.string().default('/proc'),
  })
  .strict();

type SystemOptions = z.output<typeof optionsSchema>;

export default definePlugin<SystemOptions>({
  name: 'system',
  description: 'Host CPU (from /proc/stat deltas), memory (/proc/meminfo) and load average.',
  metrics: SYSTEM_METRICS,
  parseOptions: zodOptions(optionsSchema),
  create(options) {
    let previous: CpuTimes | undefined;
    let info: Record<string, string> | undefined;
    return {
      async start() {
        // Static facts once, where systeminformation is convenient; never in the loop.
        try {
          const [os, cpu] = await Promise.all([si.osInfo(), si.cpu()]);
          info = { 'os.type': os.platform, 'os.description': `${os.distro} ${os.release}`.trim(), 'host.arch': os.arch, 'host.cpu.model.name': `${cpu.manufacturer} ${cpu.brand}`.trim() };
        } catch {
          info = undefined;
        }
      },
      async collect(ctx) {
        const [times, mem] = await Promise.all([readCpuTimes(options.proc_root, ctx.signal), readMemInfo(options.proc_root, ctx.signal)]);
        const out: Sample[] = [];
        if (previous) {
          let total = 0;
          for (const m of CPU_MODES) total += times[m] - previous[m];
          if (total > 0) {
            for (const m of CPU_MODES) out.push({ metric: 'system.cpu.utilization', value: (times[m] - previous[m]) / total, attributes: { 'cpu.mode': m } });
            const idle = times.idle - previous.idle + (times.iowait - previous.iowait);
            out.push({ metric: 'vigil.system.cpu.busy', value: Math.min(1, Math.max(0, 1 - idle / total)) });
          }
        }
        previous = times;
        const used = mem.totalBytes - mem.availableBytes;
        out.push(
          { metric: 'system.cpu.logical.count', value: cpus().length },
          { metric: 'system.memory.limit', value: mem.totalBytes },
          { metric: 'system.memory.usage', value: used, attributes: { 'system.memory.state': 'used' } },
          { metric: 'system.memory.usage', value: mem.freeBytes, attributes: { 'system.memory.state': 'free' } },
          { metric: 'system.memory.usage', value: mem.cachedBytes, attributes: { 'system.memory.state': 'cached' } },
          { metric: 'system.memory.usage', value: mem.buffersBytes, attributes: { 'system.memory.state': 'buffers' } },
          { metric: 'system.memory.utilization', value: used / mem.totalBytes, attributes: { 'system.memory.state': 'used' } },
          { metric: 'system.linux.memory.available', value: mem.availableBytes },
        );
        const [l1, l5, l15] = loadavg();
        out.push({ metric: 'system.cpu.load_average.1m', value: l1 ?? 0 }, { metric: 'system.cpu.load_average.5m', value: l5 ?? 0 }, { metric: 'system.cpu.load_average.15m', value: l15 ?? 0 });
        if (info) out.push({ metric: 'vigil.system.info', value: 1, attributes: info });
        return out;
      },
    };
  },
});
