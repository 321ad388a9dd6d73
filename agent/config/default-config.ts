/**
 * The embedded default config: runs on a plain machine (no GPU, Redis or Kubernetes),
 * enabling what is there and reporting what is not (those plugins show `unavailable`).
 * Kept as YAML text so errors and `vigil check` point at its lines like any file.
 */
export const DEFAULT_CONFIG_NAME = '<embedded default config>';

export const DEFAULT_CONFIG_YAML = `# vigil embedded default config
agent:
  interval: \${VIGIL_INTERVAL:-5s}
  retention: 1h
  data_dir: \${VIGIL_DATA_DIR:-.vigil-data}
  log_level: \${VIGIL_LOG_LEVEL:-info}
server:
  host: \${VIGIL_HOST:-0.0.0.0}
  port: \${VIGIL_PORT:-9464}
plugins:
  - use: system
`;
