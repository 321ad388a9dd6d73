import { z } from 'zod';

// Owned by the forecast module (issue 6). Placeholder until it lands.
export const forecastConfigSchema = z
  .object({
    enabled: z.boolean().default(true),
  })
  .strict();

export type ForecastConfig = z.output<typeof forecastConfigSchema>;
