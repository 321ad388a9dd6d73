import type { PluginLogger } from '../../agent/plugin/api.ts';
import type { Batch } from './batch.ts';

/**
 * Logs per-source errors and warnings once per change (a source failing every second logs
 * once, and once more when it recovers or fails differently), and keeps the current ones
 * for the plugin's error message.
 */
export class SourceHealth {
  private readonly errors = new Map<string, string>();
  private readonly warnings = new Map<string, string>();

  observe(batch: Batch, logger: PluginLogger): void {
    const seen = new Set<string>();
    for (const r of batch.reports) {
      const key = `${r.source}:${r.target}`;
      seen.add(key);
      const prev = this.errors.get(key);
      if (r.error === undefined) {
        if (prev !== undefined) {
          this.errors.delete(key);
          logger.info({ source: r.source, target: r.target }, 'heap source recovered');
        }
      } else if (prev !== r.error) {
        this.errors.set(key, r.error);
        logger.warn({ source: r.source, target: r.target, err: r.error }, 'heap source failed');
      }
    }
    // A target no longer reported (a pid file now pointing elsewhere) carries no stale error.
    for (const key of this.errors.keys()) if (!seen.has(key)) this.errors.delete(key);

    for (const [key, msg] of batch.warnings) {
      if (this.warnings.get(key) !== msg) {
        this.warnings.set(key, msg);
        logger.warn({ what: key, err: msg }, 'heap source partially unreadable');
      }
    }
    for (const key of this.warnings.keys()) if (!batch.warnings.has(key)) this.warnings.delete(key);
  }

  /** Current errors, `source target: message`. */
  current(): string[] {
    return [...this.errors].map(([k, m]) => `${k.replace(':', ' ')}: ${m}`);
  }
}
