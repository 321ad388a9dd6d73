import { z } from 'zod';

// Owned by the anomaly detector (issue 6). Placeholder until it lands.
export const anomalyConfigSchema = z
  .object({
    enabled: z.boolean().default(true),
  })
  .strict();

export type AnomalyConfig = z.output<typeof anomalyConfigSchema>;
