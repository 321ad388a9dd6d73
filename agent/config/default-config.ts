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
  # The host: CPU, memory, load.
  - use: system
  # Memory of this container (its cgroup, v1 or v2) with its limit; add process / v8 / kubelet
  # sources to watch the app itself (plugins/heap/README.md).
  - use: heap
  # NVIDIA GPUs, when nvidia-smi is there (else: unavailable, retried with backoff).
  - use: gpu
  # A Redis beside the app, when one listens (else: unavailable).
  - use: cache
    redis:
      - url: \${REDIS_URL:-redis://127.0.0.1:6379}
`;
