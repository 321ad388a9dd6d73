/** One configuration problem, located by its path in the document (mapped to a line by the loader). */
export interface ConfigIssue {
  readonly path: readonly (string | number)[];
  readonly message: string;
}

/** What semantic (cross-section) checks know about the loaded agent. */
export interface SemanticContext {
  /** Every metric name declared by enabled plugins and core subsystems. */
  readonly metricNames: ReadonlySet<string>;
  /** Plugin instance names. */
  readonly pluginNames: ReadonlySet<string>;
}

/** Thrown when a config cannot be used; `issues` are already formatted with file and line. */
export class ConfigError extends Error {
  readonly issues: readonly string[];
  constructor(issues: readonly string[]) {
    super(`invalid configuration:\n  ${issues.join('\n  ')}`);
    this.name = 'ConfigError';
    this.issues = issues;
  }
}
