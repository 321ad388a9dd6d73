import { Prng } from './prng.ts';
import { averagePathLength } from './path-length.ts';

export const MAX_FEATURES = 255;
/** Trees walked side by side when scoring: independent chains of loads overlap in the CPU. */
const LANES = 8;

export interface ForestOptions {
  /** Number of isolation trees t (default 100). */
  readonly trees?: number;
  /** Sub-sample size ψ per tree (default 256). */
  readonly sampleSize?: number;
  /** PRNG seed: same seed + same data → the same model and scores. */
  readonly seed?: number;
}

/**
 * Isolation forest (Liu, Ting & Zhou 2008). Each tree is a complete binary tree of height
 * ⌈log2 ψ⌉ stored flat in heap order (children of node i at 2i+1 and 2i+2): internal nodes
 * are (feature: u8, threshold: f32), the 2^height bottom slots hold depth + c(size) of the
 * leaf that covers them. A leaf that stops early is padded down to the bottom (its padding
 * nodes route anywhere, every slot below holds the same value), so every walk takes exactly
 * `height` steps: no branch on "is this a leaf", and eight trees are walked in lockstep so
 * their memory loads overlap. Scoring allocates nothing.
 */
export class IsolationForest {
  readonly trees: number;
  readonly sampleSize: number;
  private readonly rng: Prng;
  private dimsValue = 0;
  private heightLimitValue = 0;
  private nodesPerTree = 0;
  /** ψ actually used in the last fit (the data may have had fewer rows), for c(ψ). */
  private psiUsed = 0;
  private cPsi = 1;
  private feat: Uint8Array = new Uint8Array(0);
  private thr: Float32Array = new Float32Array(0);
  private leafValue: Float32Array = new Float32Array(0);
  /** Per-feature min/max of the training data: lets callers see out-of-range inputs. */
  private lo: Float64Array = new Float64Array(0);
  private hi: Float64Array = new Float64Array(0);
  // scratch reused across fits (retraining every few seconds must not churn the heap)
  private perm: Int32Array = new Int32Array(0);
  private idx: Int32Array = new Int32Array(0);

  constructor(opts: ForestOptions = {}) {
    this.trees = opts.trees ?? 100;
    this.sampleSize = opts.sampleSize ?? 256;
    if (!Number.isInteger(this.trees) || this.trees < 1) throw new Error(`isolation forest: trees must be a positive integer, got ${this.trees}`);
    if (!Number.isInteger(this.sampleSize) || this.sampleSize < 2) throw new Error(`isolation forest: sampleSize must be an integer ≥ 2, got ${this.sampleSize}`);
    this.rng = new Prng(opts.seed ?? 1);
  }

  get dims(): number {
    return this.dimsValue;
  }

  get heightLimit(): number {
    return this.heightLimitValue;
  }

  get fitted(): boolean {
    return this.nodesPerTree > 0;
  }

  /** Bytes held by the model's arrays. */
  get bytes(): number {
    return this.feat.byteLength + this.thr.byteLength + this.leafValue.byteLength + this.lo.byteLength + this.hi.byteLength;
  }

  featureMin(f: number): number {
    return this.lo[f]!;
  }

  featureMax(f: number): number {
    return this.hi[f]!;
  }

  /**
   * Builds a new model from `rows` points of `dims` features, row-major in `data`. Replaces
   * the previous trees; the PRNG continues, so refitting the same data gives a new forest.
   */
  fit(data: ArrayLike<number>, rows: number, dims: number): this {
    if (dims < 1 || dims > MAX_FEATURES) throw new Error(`isolation forest: dims must be 1..${MAX_FEATURES}, got ${dims}`);
    if (rows < 1) throw new Error('isolation forest: cannot fit on zero rows');
    if (data.length < rows * dims) throw new Error(`isolation forest: data holds ${data.length} values, need ${rows}×${dims}`);
    const psi = Math.min(this.sampleSize, rows);
    const height = Math.max(1, Math.ceil(Math.log2(psi)));
    const nodes = 2 ** height - 1; // internal slots per tree
    const total = nodes * this.trees;
    if (this.feat.length !== total) {
      this.feat = new Uint8Array(total);
      this.thr = new Float32Array(total);
      this.leafValue = new Float32Array((nodes + 1) * this.trees);
    }
    if (this.lo.length !== dims) {
      this.lo = new Float64Array(dims);
      this.hi = new Float64Array(dims);
    }
    if (this.perm.length < rows) this.perm = new Int32Array(Math.max(rows, this.perm.length * 2));
    if (this.idx.length < psi) this.idx = new Int32Array(psi);
    this.dimsValue = dims;
    this.heightLimitValue = height;
    this.nodesPerTree = nodes;
    this.psiUsed = psi;
    this.cPsi = Math.max(averagePathLength(psi), 1e-9);
    this.feat.fill(0);
    this.thr.fill(0);

    for (let f = 0; f < dims; f++) {
      let lo = Infinity;
      let hi = -Infinity;
      for (let r = 0; r < rows; r++) {
        const v = data[r * dims + f]!;
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
      this.lo[f] = lo;
      this.hi[f] = hi;
    }

    const perm = this.perm;
    for (let i = 0; i < rows; i++) perm[i] = i;
    for (let t = 0; t < this.trees; t++) {
      // partial Fisher–Yates: the first psi entries are a sample without replacement
      for (let i = 0; i < psi; i++) {
        const j = i + this.rng.int(rows - i);
        const tmp = perm[i]!;
        perm[i] = perm[j]!;
        perm[j] = tmp;
        this.idx[i] = perm[i]!;
      }
      this.build(data, dims, t, 0, 0, psi, 0);
    }
    return this;
  }

  /** Convenience: fits an array of equal-length rows. */
  fitRows(rows: readonly (readonly number[])[]): this {
    const dims = rows[0]?.length ?? 0;
    const flat = new Float64Array(rows.length * dims);
    rows.forEach((r, i) => flat.set(r, i * dims));
    return this.fit(flat, rows.length, dims);
  }

  /** E[h(x)]: mean path length of the point at `offset` in `x` over all trees. */
  pathLength(x: ArrayLike<number>, offset = 0): number {
    const feat = this.feat;
    const thr = this.thr;
    const leaf = this.leafValue;
    const nodes = this.nodesPerTree;
    const height = this.heightLimitValue;
    if (nodes === 0) throw new Error('isolation forest: score called before fit');
    const trees = this.trees;
    let total = 0;
    let t = 0;
    for (; t + LANES <= trees; t += LANES) {
      const b0 = t * nodes;
      const b1 = b0 + nodes;
      const b2 = b1 + nodes;
      const b3 = b2 + nodes;
      const b4 = b3 + nodes;
      const b5 = b4 + nodes;
      const b6 = b5 + nodes;
      const b7 = b6 + nodes;
      let i0 = 0;
      let i1 = 0;
      let i2 = 0;
      let i3 = 0;
      let i4 = 0;
      let i5 = 0;
      let i6 = 0;
      let i7 = 0;
      for (let k = 0; k < height; k++) {
        i0 = 2 * i0 + 1 + +(x[offset + feat[b0 + i0]!]! >= thr[b0 + i0]!);
        i1 = 2 * i1 + 1 + +(x[offset + feat[b1 + i1]!]! >= thr[b1 + i1]!);
        i2 = 2 * i2 + 1 + +(x[offset + feat[b2 + i2]!]! >= thr[b2 + i2]!);
        i3 = 2 * i3 + 1 + +(x[offset + feat[b3 + i3]!]! >= thr[b3 + i3]!);
        i4 = 2 * i4 + 1 + +(x[offset + feat[b4 + i4]!]! >= thr[b4 + i4]!);
        i5 = 2 * i5 + 1 + +(x[offset + feat[b5 + i5]!]! >= thr[b5 + i5]!);
        i6 = 2 * i6 + 1 + +(x[offset + feat[b6 + i6]!]! >= thr[b6 + i6]!);
        i7 = 2 * i7 + 1 + +(x[offset + feat[b7 + i7]!]! >= thr[b7 + i7]!);
      }
      // bottom slot j of tree t lives at leaf[t * (nodes + 1) + j], j = i - nodes
      total += leaf[b0 + t + i0 - nodes]! + leaf[b1 + t + 1 + i1 - nodes]! + leaf[b2 + t + 2 + i2 - nodes]! + leaf[b3 + t + 3 + i3 - nodes]! + leaf[b4 + t + 4 + i4 - nodes]! + leaf[b5 + t + 5 + i5 - nodes]! + leaf[b6 + t + 6 + i6 - nodes]! + leaf[b7 + t + 7 + i7 - nodes]!;
    }
    for (; t < trees; t++) {
      const b = t * nodes;
      let i = 0;
      for (let k = 0; k < height; k++) i = 2 * i + 1 + +(x[offset + feat[b + i]!]! >= thr[b + i]!);
      total += leaf[b + t + i - nodes]!;
    }
    return total / trees;
  }

  /** Anomaly score s = 2^(−E[h(x)]/c(ψ)) in (0, 1]: near 1 isolated, below 0.5 ordinary. */
  score(x: ArrayLike<number>, offset = 0): number {
    return 2 ** (-this.pathLength(x, offset) / this.cPsi);
  }

  /** Scores `rows` row-major points into `out` (allocated when not given). */
  scoreMany(data: ArrayLike<number>, rows: number, out: Float64Array = new Float64Array(rows)): Float64Array {
    const d = this.dimsValue;
    for (let r = 0; r < rows; r++) out[r] = this.score(data, r * d);
    return out;
  }

  private build(data: ArrayLike<number>, dims: number, tree: number, node: number, start: number, end: number, depth: number): void {
    const size = end - start;
    if (depth >= this.heightLimitValue || size <= 1) {
      this.leaf(tree, node, depth, size);
      return;
    }
    const idx = this.idx;
    // random feature among those that still vary here (a constant one cannot split)
    let q = this.rng.int(dims);
    let lo = 0;
    let hi = 0;
    for (let tries = 0; tries < dims; tries++) {
      lo = Infinity;
      hi = -Infinity;
      for (let i = start; i < end; i++) {
        const v = data[idx[i]! * dims + q]!;
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
      if (hi > lo) break;
      q = (q + 1) % dims;
    }
    if (!(hi > lo)) {
      this.leaf(tree, node, depth, size); // all remaining points are identical
      return;
    }
    // the stored threshold is float32, so split with the rounded value scoring will use
    let p = Math.fround(lo + this.rng.next() * (hi - lo));
    if (!(p > lo)) p = Math.fround(lo + (hi - lo) / 2);
    let mid = start;
    for (let i = start; i < end; i++) {
      const r = idx[i]!;
      if (!(data[r * dims + q]! >= p)) {
        idx[i] = idx[mid]!;
        idx[mid++] = r;
      }
    }
    const at = tree * this.nodesPerTree + node;
    this.feat[at] = q;
    this.thr[at] = p;
    this.build(data, dims, tree, 2 * node + 1, start, mid, depth + 1);
    this.build(data, dims, tree, 2 * node + 2, mid, end, depth + 1);
  }

  /** Writes a leaf's depth + c(size) into every bottom slot below `node` (padding nodes keep feature 0). */
  private leaf(tree: number, node: number, depth: number, size: number): void {
    const span = 1 << (this.heightLimitValue - depth);
    const base = tree * (this.nodesPerTree + 1) + (node + 1) * span - 1 - this.nodesPerTree; // leftmost bottom slot
    const v = depth + averagePathLength(size);
    const leaf = this.leafValue;
    // a plain loop: most spans are 1 or 2 and TypedArray.fill's call overhead dominated fits
    for (let i = 0; i < span; i++) leaf[base + i] = v;
  }

  // ---- persistence -------------------------------------------------------------------

  toJSON(): IsolationForestJson {
    return {
      kind: 'vigil.iforest',
      version: 1,
      trees: this.trees,
      sampleSize: this.sampleSize,
      dims: this.dimsValue,
      heightLimit: this.heightLimitValue,
      psi: this.psiUsed,
      rng: this.rng.state(),
      lo: Array.from(this.lo),
      hi: Array.from(this.hi),
      feat: toBase64(this.feat),
      thr: toBase64(f32ToBytes(this.thr)),
      leaf: toBase64(f32ToBytes(this.leafValue)),
    };
  }

  static fromJSON(j: IsolationForestJson): IsolationForest {
    if (j.kind !== 'vigil.iforest' || j.version !== 1) throw new Error(`isolation forest: unsupported model kind ${String(j.kind)} v${String(j.version)}`);
    const f = new IsolationForest({ trees: j.trees, sampleSize: j.sampleSize });
    f.restore(j.dims, j.heightLimit, j.psi, j.rng, Float64Array.from(j.lo), Float64Array.from(j.hi), new Uint8Array(Buffer.from(j.feat, 'base64')), bytesToF32(Buffer.from(j.thr, 'base64')), bytesToF32(Buffer.from(j.leaf, 'base64')));
    return f;
  }

  /** Compact binary form: a 64-byte header, lo/hi (f64), thresholds and leaf values (f32), features (u8); little-endian. */
  toBinary(): Uint8Array {
    const d = this.dimsValue;
    const size = HEADER + 16 * d + this.thr.byteLength + this.leafValue.byteLength + this.feat.byteLength;
    const out = new Uint8Array(size);
    const v = new DataView(out.buffer);
    out.set(MAGIC, 0);
    v.setUint32(4, 1, true);
    v.setUint32(8, this.trees, true);
    v.setUint32(12, this.sampleSize, true);
    v.setUint32(16, d, true);
    v.setUint32(20, this.heightLimitValue, true);
    v.setUint32(24, this.psiUsed, true);
    const s = this.rng.state();
    for (let i = 0; i < 4; i++) v.setInt32(28 + 4 * i, s[i]!, true);
    let o = HEADER;
    for (let f = 0; f < d; f++, o += 8) v.setFloat64(o, this.lo[f]!, true);
    for (let f = 0; f < d; f++, o += 8) v.setFloat64(o, this.hi[f]!, true);
    for (let i = 0; i < this.thr.length; i++, o += 4) v.setFloat32(o, this.thr[i]!, true);
    for (let i = 0; i < this.leafValue.length; i++, o += 4) v.setFloat32(o, this.leafValue[i]!, true);
    out.set(this.feat, o);
    return out;
  }

  static fromBinary(bytes: Uint8Array): IsolationForest {
    if (bytes.byteLength < HEADER) throw new Error(`isolation forest: binary model too short (${bytes.byteLength} bytes)`);
    const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let i = 0; i < 4; i++) if (bytes[i] !== MAGIC[i]) throw new Error('isolation forest: not a vigil model (bad magic)');
    if (v.getUint32(4, true) !== 1) throw new Error(`isolation forest: unsupported binary version ${v.getUint32(4, true)}`);
    const trees = v.getUint32(8, true);
    const d = v.getUint32(16, true);
    const height = v.getUint32(20, true);
    const nodes = 2 ** height - 1;
    const expected = HEADER + 16 * d + (4 * nodes + 4 * (nodes + 1) + nodes) * trees;
    if (bytes.byteLength !== expected) throw new Error(`isolation forest: binary model is ${bytes.byteLength} bytes, expected ${expected}`);
    const f = new IsolationForest({ trees, sampleSize: v.getUint32(12, true) });
    const rng: [number, number, number, number] = [v.getInt32(28, true), v.getInt32(32, true), v.getInt32(36, true), v.getInt32(40, true)];
    let o = HEADER;
    const lo = new Float64Array(d);
    const hi = new Float64Array(d);
    for (let i = 0; i < d; i++, o += 8) lo[i] = v.getFloat64(o, true);
    for (let i = 0; i < d; i++, o += 8) hi[i] = v.getFloat64(o, true);
    const thr = new Float32Array(nodes * trees);
    for (let i = 0; i < thr.length; i++, o += 4) thr[i] = v.getFloat32(o, true);
    const leaf = new Float32Array((nodes + 1) * trees);
    for (let i = 0; i < leaf.length; i++, o += 4) leaf[i] = v.getFloat32(o, true);
    const feat = bytes.slice(o, o + nodes * trees);
    f.restore(d, height, v.getUint32(24, true), rng, lo, hi, feat, thr, leaf);
    return f;
  }

  private restore(dims: number, height: number, psi: number, rng: readonly [number, number, number, number], lo: Float64Array, hi: Float64Array, feat: Uint8Array, thr: Float32Array, leaf: Float32Array): void {
    const nodes = 2 ** height - 1;
    if (feat.length !== nodes * this.trees || thr.length !== nodes * this.trees || leaf.length !== (nodes + 1) * this.trees) {
      throw new Error(`isolation forest: model arrays hold ${feat.length}/${thr.length}/${leaf.length} nodes, expected ${nodes * this.trees} internal per array`);
    }
    if (lo.length !== dims || hi.length !== dims) throw new Error(`isolation forest: feature ranges hold ${lo.length} values, expected ${dims}`);
    for (let i = 0; i < feat.length; i++) if (feat[i]! >= dims) throw new Error(`isolation forest: node ${i} splits on feature ${feat[i]} of ${dims}`);
    this.dimsValue = dims;
    this.heightLimitValue = height;
    this.nodesPerTree = nodes;
    this.psiUsed = psi;
    this.cPsi = Math.max(averagePathLength(psi), 1e-9);
    this.rng.setState(rng);
    this.lo = lo;
    this.hi = hi;
    this.feat = feat;
    this.thr = thr;
    this.leafValue = leaf;
  }
}

export interface IsolationForestJson {
  readonly kind: 'vigil.iforest';
  readonly version: 1;
  readonly trees: number;
  readonly sampleSize: number;
  readonly dims: number;
  readonly heightLimit: number;
  readonly psi: number;
  readonly rng: [number, number, number, number];
  readonly lo: number[];
  readonly hi: number[];
  /** base64 of the u8 feature array, heap order. */
  readonly feat: string;
  /** base64 of the f32 threshold array (little-endian), 2^height − 1 per tree. */
  readonly thr: string;
  /** base64 of the f32 bottom-slot values (depth + c(size)), 2^height per tree. */
  readonly leaf: string;
}

const MAGIC = new Uint8Array([0x56, 0x49, 0x46, 0x31]); // "VIF1"
const HEADER = 64;

function toBase64(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64');
}

/** Little-endian bytes of a float32 array whatever the host's byte order. */
function f32ToBytes(a: Float32Array): Uint8Array {
  const out = new Uint8Array(a.length * 4);
  const v = new DataView(out.buffer);
  for (let i = 0; i < a.length; i++) v.setFloat32(i * 4, a[i]!, true);
  return out;
}

function bytesToF32(b: Uint8Array): Float32Array {
  const out = new Float32Array(b.byteLength / 4);
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  for (let i = 0; i < out.length; i++) out[i] = v.getFloat32(i * 4, true);
  return out;
}
