/**
 * A detector companion whose whole memory is one array of running statistics (no history):
 * its size, persistence and restore checks, shared by the Gaussian and stuck-value companions.
 */
export abstract class RunningState {
  protected readonly st: Float64Array;
  private readonly label: string;

  protected constructor(size: number, label: string) {
    this.st = new Float64Array(size);
    this.label = label;
  }

  get bytes(): number {
    return this.st.byteLength;
  }

  /** The statistics, for persistence: a restart goes on where it stopped instead of re-learning. */
  state(): number[] {
    return Array.from(this.st);
  }

  /** Whether `s` is a state of this shape (same channels), all finite (only finite values are ever kept). */
  accepts(s: readonly number[]): boolean {
    return s.length === this.st.length && s.every((v) => Number.isFinite(v));
  }

  /** Throws (and changes nothing) when the state is of another shape or not finite. */
  setState(s: readonly number[]): void {
    if (!this.accepts(s)) throw new Error(`${this.label}: state holds ${s.length} values, expected ${this.st.length} finite ones`);
    this.st.set(s);
  }
}
