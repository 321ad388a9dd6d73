import type { AgentServices, Subsystem } from '../../services.ts';
import type { ForecastConfig } from './config.ts';
import { ForecastEngine } from './engine.ts';
import { FORECAST_METRIC_SPECS } from './metrics.ts';

export { Forecaster, type Forecast, type ForecasterOptions, type TrendClass } from './forecaster.ts';
export { ForecastEngine, FORECAST_SOURCE } from './engine.ts';
export { FORECAST_METRICS, FORECAST_METRIC_SPECS } from './metrics.ts';

/**
 * The predictive trend module: after each plugin collection, forecasts for the collected series
 * that have a limit (MetricSpec.limit, or a configured ceiling) when they reach the threshold,
 * and writes vigil.forecast.* series to the store (exported like every other metric).
 */
export function createForecaster(config: ForecastConfig, services: AgentServices): Subsystem {
  const engine = new ForecastEngine(config, services.store, services.metrics, services.tracer);
  const log = services.logger.child({ subsystem: 'forecast' });
  const unsubscribe: Array<() => void> = [];
  return {
    async start() {
      services.metrics.register('forecast', FORECAST_METRIC_SPECS);
      unsubscribe.push(
        services.events.on('collection', (e) => {
          if (!e.ok || e.series.length === 0) return;
          engine.onCollection(e.series, e.context);
        }),
        services.store.onSeriesRemoved((s) => engine.forget(s)),
      );
      log.info({ window: config.window, method: config.method, threshold: config.threshold }, 'forecast module started');
    },
    async stop() {
      for (const u of unsubscribe.splice(0)) u();
    },
  };
}
