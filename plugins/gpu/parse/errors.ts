/** Where a parse problem was found, so a log line says which output, row and field broke. */
export interface ParseErrorContext {
  /** `csv`, `xml`, `compute-apps`, `help-query-gpu`, `capture`. */
  readonly source: string;
  /** 1-based line in the parsed text, when known. */
  readonly line?: number;
  readonly field?: string;
  /** A short excerpt of the offending text (never more than 120 characters). */
  readonly excerpt?: string;
}

/** nvidia-smi printed something we could not read. Counted, logged, never fatal to the agent. */
export class GpuParseError extends Error {
  override readonly name = 'GpuParseError';
  constructor(
    message: string,
    readonly context: ParseErrorContext,
  ) {
    super(`${context.source}${context.line !== undefined ? ` line ${context.line}` : ''}${context.field ? ` field ${context.field}` : ''}: ${message}${context.excerpt !== undefined ? ` (near ${JSON.stringify(context.excerpt)})` : ''}`);
  }
}

export function excerpt(text: string, max = 120): string {
  const t = text.replace(/\s+/g, ' ').trim();
  return t.length > max ? `${t.slice(0, max - 1)}…` : t;
}
