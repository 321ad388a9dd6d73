import { pino, type Logger } from 'pino';

/** Field names whose values are secrets wherever they appear in a log object. */
const REDACT_PATHS = [
  'password', '*.password', 'token', '*.token', 'api_token', '*.api_token', 'secret', '*.secret',
  'webhook_url', '*.webhook_url', 'authorization', '*.authorization', 'headers.authorization',
  '*.headers.authorization', 'hmac_secret', '*.hmac_secret',
];

export interface LoggerOptions {
  level?: string;
  /** Literal secret values (from env/files) to mask inside any logged string. */
  secrets?: readonly string[];
  destination?: NodeJS.WritableStream;
}

/** Structured JSON logs to stderr (stdout stays free for command output such as `collect --json`). */
export function createLogger(opts: LoggerOptions = {}): Logger {
  const secrets = (opts.secrets ?? []).filter((s) => s.length >= 4);
  return pino(
    {
      level: opts.level ?? 'info',
      base: { service: 'vigil' },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      // pino replaces its default hooks with whatever is passed, `undefined` included.
      ...(secrets.length > 0 ? { hooks: { streamWrite: (line: string) => maskSecrets(line, secrets) } } : {}),
    },
    (opts.destination as pino.DestinationStream | undefined) ?? pino.destination({ dest: 2, sync: false }),
  );
}

/** Replaces every occurrence of each secret (and URL userinfo passwords) with [redacted]. */
export function maskSecrets(text: string, secrets: readonly string[] = []): string {
  let out = text.replace(/(\w+:\/\/[^:/@\s"]*:)([^@\s"]+)@/g, '$1[redacted]@');
  for (const s of secrets) if (s.length >= 4) out = out.split(s).join('[redacted]');
  return out;
}
