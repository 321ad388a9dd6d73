import { z } from 'zod';
import { durationSchema } from '../util/duration.ts';
import { anomalyConfigSchema } from '../detect/anomaly/config.ts';
import { forecastConfigSchema } from '../detect/forecast/config.ts';
import { alertsConfigSchema } from '../alerts/config.ts';

/** Keys of a `plugins[]` entry that the host consumes; every other key is the plugin's option. */
export const HOST_PLUGIN_KEYS = ['use', 'name', 'enabled', 'interval', 'timeout', 'jitter'] as const;

export const pluginEntrySchema = z
  .object({
    use: z.string().min(1, 'expected a built-in plugin name, a file path or a package name'),
    name: z
      .string()
      .regex(/^[a-zA-Z][\w.-]*$/, 'expected a name of letters, digits, "_", "-" or "."')
      .optional(),
    enabled: z.boolean().default(true),
    interval: durationSchema.optional(),
    timeout: durationSchema.optional(),
    jitter: durationSchema.optional(),
  })
  .catchall(z.unknown());

const otlpSignalSchema = z
  .object({
    enabled: z.boolean().default(false),
    endpoint: z.string().url().optional(),
    headers: z.record(z.string(), z.string()).default({}),
    interval: durationSchema.default(30_000),
    timeout: durationSchema.default(10_000),
  })
  .strict();

export const configSchema = z
  .object({
    agent: z
      .object({
        interval: durationSchema.default(10_000),
        timeout: durationSchema.optional(),
        jitter: durationSchema.default(0),
        retention: durationSchema.default(3_600_000),
        max_series: z.number().int().positive().default(10_000),
        max_points_per_series: z.number().int().min(2).default(7200),
        data_dir: z.string().default('.vigil-data'),
        log_level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
        shutdown_timeout: durationSchema.default(5000),
        external_url: z.string().url().optional(),
      })
      .strict()
      .prefault({}),
    server: z
      .object({
        enabled: z.boolean().default(true),
        host: z.string().default('0.0.0.0'),
        port: z.number().int().min(0).max(65535).default(9464),
        /** Bearer token for mutating API calls (silences); from env or a file. */
        api_token: z.string().optional(),
      })
      .strict()
      .prefault({}),
    telemetry: z
      .object({
        service_name: z.string().default('vigil'),
        resource_attributes: z.record(z.string(), z.string()).default({}),
        prometheus: z.object({ enabled: z.boolean().default(true) }).strict().prefault({}),
        otlp: z
          .object({
            /** Base endpoint; `/v1/traces` and `/v1/metrics` are appended (OTLP/HTTP spec). */
            endpoint: z.string().url().optional(),
            headers: z.record(z.string(), z.string()).default({}),
            traces: otlpSignalSchema.prefault({}),
            metrics: otlpSignalSchema.prefault({}),
          })
          .strict()
          .prefault({}),
        traces: z
          .object({ sample_ratio: z.number().min(0).max(1).default(1) })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
    plugins: z.array(pluginEntrySchema).default([]),
    detect: z
      .object({
        anomaly: anomalyConfigSchema.prefault({}),
        forecast: forecastConfigSchema.prefault({}),
      })
      .strict()
      .prefault({}),
    alerts: alertsConfigSchema.prefault({}),
    ui: z.object({ enabled: z.boolean().default(true) }).strict().prefault({}),
  })
  .strict();

export type VigilConfig = z.output<typeof configSchema>;
export type PluginEntry = z.output<typeof pluginEntrySchema>;
