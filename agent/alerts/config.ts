import { z } from 'zod';
import type { ConfigIssue, SemanticContext } from '../config/issues.ts';

// Owned by the alert engine (issue 7). Placeholder until it lands.
export const alertsConfigSchema = z
  .object({
    enabled: z.boolean().default(true),
  })
  .strict();

export type AlertsConfig = z.output<typeof alertsConfigSchema>;

/** Checks that need more than the schema (e.g. a rule naming an unknown metric). */
export function checkAlertsConfig(_config: AlertsConfig, _ctx: SemanticContext): ConfigIssue[] {
  return [];
}
