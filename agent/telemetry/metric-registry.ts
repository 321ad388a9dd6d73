import type { MetricSpec } from '../plugin/api.ts';

export interface RegisteredMetric extends MetricSpec {
  /** Who declared it first: a plugin name or a core subsystem (`vigil`, `detect`, `alerts`). */
  readonly declaredBy: string;
}

/**
 * Every metric the agent can emit, whoever produces it (plugins, detectors, alerts). The
 * telemetry module exports each registered metric from the series store, so producing a
 * metric means: register its spec once, then record points in the store.
 */
export class MetricRegistry {
  private readonly specs = new Map<string, RegisteredMetric>();
  private readonly listeners = new Set<(m: RegisteredMetric) => void>();

  /** Registers specs; re-registering an identical spec is a no-op, a conflicting one throws. */
  register(declaredBy: string, specs: readonly MetricSpec[]): void {
    for (const spec of specs) {
      const existing = this.specs.get(spec.name);
      if (existing) {
        if (existing.kind !== spec.kind || existing.unit !== spec.unit) {
          throw new Error(
            `metric ${spec.name} declared by ${declaredBy} as ${spec.kind} [${spec.unit}] conflicts with ${existing.declaredBy}'s ${existing.kind} [${existing.unit}]`,
          );
        }
        continue;
      }
      const m: RegisteredMetric = { ...spec, declaredBy };
      this.specs.set(spec.name, m);
      for (const l of this.listeners) l(m);
    }
  }

  get(name: string): RegisteredMetric | undefined {
    return this.specs.get(name);
  }

  has(name: string): boolean {
    return this.specs.has(name);
  }

  all(): IterableIterator<RegisteredMetric> {
    return this.specs.values();
  }

  /** Called for every metric registered from now on (and not for earlier ones). */
  onRegister(listener: (m: RegisteredMetric) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
