/** Removes the password from a URL for logs and errors: `redis://user:***@host:6379/0`. */
export function redactUrl(raw: string): string {
  try {
    const u = new URL(raw);
    if (u.password) u.password = '***';
    return u.toString().replace(/\/$/, '');
  } catch {
    // Not a URL we can parse: strip anything that looks like userinfo.
    return raw.replace(/\/\/[^@/]*@/, '//***@');
  }
}

/** Error text of an unknown thrown value, without URL passwords. */
export function errorMessage(err: unknown): string {
  const text = err instanceof Error ? err.message || err.name : String(err);
  return text.replace(/(\w+:\/\/[^:/@\s"]*:)([^@\s"]+)@/g, '$1***@');
}

/** Network errors that mean "nothing there" rather than "something is wrong". */
const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ETIMEDOUT', 'ECONNRESET', 'EPIPE']);

export function isUnreachable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as NodeJS.ErrnoException).code;
  if (code && UNREACHABLE_CODES.has(code)) return true;
  if (err instanceof AggregateError) return err.errors.some(isUnreachable);
  return /ECONNREFUSED|connect ETIMEDOUT|timed out connecting|Connection is closed|getaddrinfo/i.test(err.message);
}
