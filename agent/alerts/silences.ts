import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { parseDuration } from '../util/duration.ts';
import { readJsonFile, writeFileAtomic } from './persist.ts';
import type { Labels } from './types.ts';

export interface Matcher {
  readonly name: string;
  readonly value: string;
  readonly isRegex: boolean;
  /** false = negative matcher (`!=` / `!~`). */
  readonly isEqual: boolean;
}

export interface Silence {
  readonly id: string;
  readonly matchers: readonly Matcher[];
  readonly startsAt: number;
  readonly endsAt: number;
  readonly createdBy: string;
  readonly comment: string;
  readonly createdAt: number;
}

const matcherSchema = z
  .object({
    name: z.string().min(1),
    value: z.string(),
    isRegex: z.boolean().default(false),
    isEqual: z.boolean().default(true),
  })
  .strict();

/** POST /api/silences body: matchers as a list (Alertmanager style) or a label → value map. */
export const silenceRequestSchema = z
  .object({
    matchers: z.union([z.array(matcherSchema).min(1), z.record(z.string(), z.string())]),
    /** "2h", or give endsAt. */
    duration: z.string().optional(),
    startsAt: z.string().datetime({ offset: true }).optional(),
    endsAt: z.string().datetime({ offset: true }).optional(),
    createdBy: z.string().default('api'),
    comment: z.string().default(''),
  })
  .strict();

export type SilenceRequest = z.input<typeof silenceRequestSchema>;

/** Silences (matchers + expiry), persisted so a restart keeps them. */
export class Silences {
  private readonly items = new Map<string, Silence>();
  private readonly compiled = new Map<string, ((labels: Labels) => boolean)>();

  constructor(private readonly file: string) {}

  async load(now: number): Promise<void> {
    const raw = await readJsonFile(this.file);
    if (!Array.isArray(raw)) return;
    for (const s of raw as Silence[]) if (s.endsAt > now) this.put(s);
  }

  list(now: number): Silence[] {
    this.expire(now);
    return [...this.items.values()];
  }

  /** Validates a request and adds the silence; throws an Error with a readable message when invalid. */
  async create(body: unknown, now: number): Promise<Silence> {
    const parsed = silenceRequestSchema.safeParse(body);
    if (!parsed.success) throw new Error(parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '));
    const req = parsed.data;
    const matchers: Matcher[] = Array.isArray(req.matchers)
      ? req.matchers
      : Object.entries(req.matchers).map(([name, value]) => ({ name, value, isRegex: false, isEqual: true }));
    for (const m of matchers) {
      if (m.isRegex) {
        try {
          new RegExp(`^(?:${m.value})$`);
        } catch (err) {
          throw new Error(`matcher ${m.name}: invalid regular expression: ${(err as Error).message}`);
        }
      }
    }
    const startsAt = req.startsAt ? Date.parse(req.startsAt) : now;
    let endsAt: number;
    if (req.endsAt) endsAt = Date.parse(req.endsAt);
    else if (req.duration) {
      const ms = parseDuration(req.duration);
      if (ms === undefined) throw new Error(`duration: expected a duration like "2h", got ${JSON.stringify(req.duration)}`);
      endsAt = startsAt + ms;
    } else throw new Error('give "duration" (e.g. "2h") or "endsAt"');
    if (endsAt <= startsAt) throw new Error('endsAt must be after startsAt');
    const s: Silence = { id: randomUUID(), matchers, startsAt, endsAt, createdBy: req.createdBy, comment: req.comment, createdAt: now };
    this.put(s);
    await this.save();
    return s;
  }

  async remove(id: string): Promise<boolean> {
    const ok = this.items.delete(id);
    this.compiled.delete(id);
    if (ok) await this.save();
    return ok;
  }

  /** The silence muting these labels now, if any. */
  silencedBy(labels: Labels, now: number): Silence | undefined {
    for (const s of this.items.values()) {
      if (s.startsAt > now || s.endsAt <= now) continue;
      if (this.compiled.get(s.id)!(labels)) return s;
    }
    return undefined;
  }

  /** Drops expired silences; true when any expired (groups must be re-checked). */
  expire(now: number): boolean {
    let any = false;
    for (const s of this.items.values()) {
      if (s.endsAt <= now) {
        this.items.delete(s.id);
        this.compiled.delete(s.id);
        any = true;
      }
    }
    if (any) void this.save().catch(() => {});
    return any;
  }

  private put(s: Silence): void {
    this.items.set(s.id, s);
    const tests = s.matchers.map((m) => {
      const re = m.isRegex ? new RegExp(`^(?:${m.value})$`) : undefined;
      return (labels: Labels) => {
        const v = labels[m.name] ?? '';
        const hit = re ? re.test(v) : v === m.value;
        return hit === m.isEqual;
      };
    });
    this.compiled.set(s.id, (labels) => tests.every((t) => t(labels)));
  }

  private save(): Promise<void> {
    return writeFileAtomic(this.file, JSON.stringify([...this.items.values()], null, 1));
  }
}
