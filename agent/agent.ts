import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Logger } from 'pino';
import { loadConfig, type LoadedConfig, type ResolvedPlugin } from './config/load.ts';
import { ConfigError } from './config/issues.ts';
import { SeriesStore } from './store/series-store.ts';
import { MetricRegistry } from './telemetry/metric-registry.ts';
import { resolveTelemetrySettings } from './telemetry/settings.ts';
import { startTelemetry, type Telemetry } from './telemetry/index.ts';
import { createHttpServer } from './http/server.ts';
import { registerCoreRoutes } from './http/core-routes.ts';
import { PluginHost } from './plugin/host.ts';
import type { RunnerSettings } from './plugin/runner.ts';
import { TypedEmitter } from './util/events.ts';
import { createLogger } from './util/logger.ts';
import { createDetectors } from './detect/index.ts';
import { createAlerts } from './alerts/index.ts';
import { createUi } from './ui/index.ts';
import type { AgentEventMap, AgentServices, Subsystem } from './services.ts';
import type { HttpRoutes } from './http/routes.ts';
import { VERSION } from './version.ts';

export interface StartAgentOptions {
  /** Config file; absent = the embedded default config. */
  readonly configFile?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** Use this logger instead of creating one from the config. */
  readonly logger?: Logger;
}

export interface RunningAgent {
  readonly services: AgentServices;
  readonly host: PluginHost;
  /** Address the HTTP server listens on (port resolved when 0 was asked). */
  readonly address: { host: string; port: number } | undefined;
  readonly config: LoadedConfig;
  /** Re-reads the config file; on errors logs them all and keeps running on the old config. */
  reload(): Promise<{ ok: true } | { ok: false; errors: readonly string[] }>;
  stop(): Promise<void>;
}

/** Config loading plus the checks that need the telemetry module (OTEL_* variables). */
export async function loadAgentConfig(configFile: string | undefined, env: NodeJS.ProcessEnv): Promise<LoadedConfig> {
  return loadConfig({
    file: configFile,
    env,
    extraChecks: (config) => resolveTelemetrySettings(config.telemetry, config.server, env).issues,
  });
}

/**
 * Assembles and starts the agent: telemetry, store, plugin host, detectors, alerts, UI and
 * the HTTP server. Throws ConfigError when the config is invalid.
 */
export async function startAgent(opts: StartAgentOptions = {}): Promise<RunningAgent> {
  const env = opts.env ?? process.env;
  let loaded = await loadAgentConfig(opts.configFile, env);
  const cfg = loaded.config;
  const logger = opts.logger ?? createLogger({ level: cfg.agent.log_level, secrets: loaded.secrets });
  const { settings: telemetrySettings } = resolveTelemetrySettings(cfg.telemetry, cfg.server, env);

  const store = new SeriesStore({ retentionMs: cfg.agent.retention, maxSeries: cfg.agent.max_series, maxPointsPerSeries: cfg.agent.max_points_per_series });
  const metrics = new MetricRegistry();
  const telemetry: Telemetry = await startTelemetry(telemetrySettings, { store, metrics, logger });
  const events = new TypedEmitter<AgentEventMap>((err, event) => logger.error({ err: String(err), event }, 'event listener failed'));
  const host = new PluginHost({ logger, store, metrics, tracer: telemetry.tracer, meter: telemetry.meter, events });

  const http = cfg.server.enabled ? createHttpServer({ host: telemetrySettings.server.host, port: telemetrySettings.server.port, logger }) : undefined;
  const routes: HttpRoutes = http ?? { add: () => {} };
  const dataDir = resolve(loaded.configDir, cfg.agent.data_dir);
  await mkdir(dataDir, { recursive: true });

  const startedAt = Date.now();
  registerCoreRoutes(routes, {
    telemetry: cfg.telemetry.prometheus.enabled ? telemetry : undefined,
    store,
    statuses: () => host.statuses(),
    ready: () => host.ready(),
    startedAt,
    version: VERSION,
  });

  let address: { host: string; port: number } | undefined;
  if (http) {
    try {
      address = await http.listen();
    } catch (err) {
      await telemetry.shutdown(1000);
      throw err;
    }
    logger.info({ host: address?.host, port: address?.port }, 'serving /metrics, /healthz, /readyz, /api and the live page');
  }
  const externalUrl = cfg.agent.external_url ?? `http://${address && address.host !== '0.0.0.0' && address.host !== '::' ? address.host : '127.0.0.1'}:${address?.port ?? telemetrySettings.server.port}`;

  const services: AgentServices = {
    logger,
    store,
    metrics,
    tracer: telemetry.tracer,
    meter: telemetry.meter,
    events,
    http: routes,
    plugins: { statuses: () => host.statuses() },
    dataDir,
    externalUrl,
  };

  const makeSubsystems = (c: LoadedConfig['config']): Subsystem[] => {
    const list: Subsystem[] = [...createDetectors(c.detect, services)];
    if (c.alerts.enabled) list.push(createAlerts(c.alerts, services, { apiToken: c.server.api_token }));
    return list;
  };
  // Routes can be registered once only, so the UI lives across reloads.
  const ui = cfg.ui.enabled && http ? createUi(services) : undefined;
  let subsystems = makeSubsystems(cfg);

  await host.setPlugins(runnerSettings(loaded));
  logPlan(logger, loaded);
  host.start();
  for (const s of subsystems) await s.start();
  if (ui) await ui.start();

  let reloading: Promise<unknown> = Promise.resolve();
  const reload = async (): Promise<{ ok: true } | { ok: false; errors: readonly string[] }> => {
    const run = reloading.then(async () => {
      let next: LoadedConfig;
      try {
        next = await loadAgentConfig(opts.configFile, env);
      } catch (err) {
        const errors = err instanceof ConfigError ? err.issues : [(err as Error).message];
        logger.error({ errors }, 'config reload rejected; still running on the previous config');
        return { ok: false as const, errors };
      }
      for (const s of subsystems) await s.stop();
      await host.setPlugins(runnerSettings(next));
      // Alert rules and detectors may depend on the subsystem config: rebuild them (routes persist).
      subsystems = makeSubsystems(next.config);
      for (const s of subsystems) await s.start();
      loaded = next;
      logger.info({ plugins: next.plugins.map((p) => p.name) }, 'config reloaded');
      return { ok: true as const };
    });
    reloading = run.catch(() => undefined);
    return run;
  };

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      const deadline = cfg.agent.shutdown_timeout;
      if (ui) await ui.stop().catch(() => {});
      await host.stop(Math.min(deadline, 3000));
      for (const s of subsystems) await s.stop().catch((err: unknown) => logger.warn({ err: String(err) }, 'subsystem stop failed'));
      if (http) await http.close().catch(() => {});
      await telemetry.shutdown(deadline);
      logger.info('stopped');
      logger.flush?.();
    })();
    return stopping;
  };

  return {
    services,
    host,
    address,
    get config() {
      return loaded;
    },
    reload,
    stop,
  };
}

export function runnerSettings(loaded: LoadedConfig): RunnerSettings[] {
  return loaded.plugins.map((p: ResolvedPlugin) => ({
    name: p.name,
    use: p.entry.use,
    definition: p.definition,
    options: p.options,
    intervalMs: p.intervalMs,
    timeoutMs: p.timeoutMs,
    jitterMs: p.jitterMs,
    configDir: loaded.configDir,
  }));
}

function logPlan(logger: Logger, loaded: LoadedConfig): void {
  logger.info(
    {
      config: loaded.source,
      plugins: loaded.plugins.map((p) => ({ name: p.name, use: p.entry.use, interval_ms: p.intervalMs })),
      disabled: loaded.disabled.map((d) => d.name ?? d.use),
    },
    'vigil starting',
  );
}
