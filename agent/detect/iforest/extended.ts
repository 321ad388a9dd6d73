import { Prng } from './prng.ts';
import { averagePathLength } from './path-length.ts';

export interface ExtendedForestOptions {
  readonly trees?: number;
  readonly sampleSize?: number;
  readonly seed?: number;
}

/**
 * Extended isolation forest (Hariri, Carrasco Kind & Brunner 2021): each split is a random
 * hyperplane (normal drawn from N(0, I), intercept uniform in the node's bounding box) instead
 * of an axis-parallel cut, which removes the axis-aligned "ghost" regions of low scores that a
 * plain forest draws around clusters in several dimensions. Features are rescaled to their
 * training range first so a hyperplane is not dominated by the feature with the largest unit.
 * Same storage idea as IsolationForest: complete trees in heap order, padded to full height,
 * flat typed arrays; a node holds its normal (dims × f32) and its offset n·p (f32).
 */
export class ExtendedIsolationForest {
  readonly trees: number;
  readonly sampleSize: number;
  private readonly rng: Prng;
  private dimsValue = 0;
  private height = 0;
  private nodesPerTree = 0;
  private psiUsed = 0;
  private cPsi = 1;
  private normal: Float32Array = new Float32Array(0);
  private offset: Float32Array = new Float32Array(0);
  private leafValue: Float32Array = new Float32Array(0);
  private lo: Float64Array = new Float64Array(0);
  private hi: Float64Array = new Float64Array(0);
  private inv: Float64Array = new Float64Array(0);
  private z: Float64Array = new Float64Array(0);
  private data: Float64Array = new Float64Array(0);
  private idx: Int32Array = new Int32Array(0);
  private proj: Float64Array = new Float64Array(0);

  constructor(opts: ExtendedForestOptions = {}) {
    this.trees = opts.trees ?? 100;
    this.sampleSize = opts.sampleSize ?? 256;
    if (!Number.isInteger(this.trees) || this.trees < 1) throw new Error(`extended isolation forest: trees must be a positive integer, got ${this.trees}`);
    if (!Number.isInteger(this.sampleSize) || this.sampleSize < 2) throw new Error(`extended isolation forest: sampleSize must be an integer ≥ 2, got ${this.sampleSize}`);
    this.rng = new Prng(opts.seed ?? 1);
  }

  get dims(): number {
    return this.dimsValue;
  }

  get bytes(): number {
    return this.normal.byteLength + this.offset.byteLength + this.leafValue.byteLength + 3 * this.lo.byteLength + this.z.byteLength;
  }

  featureMin(f: number): number {
    return this.lo[f]!;
  }

  featureMax(f: number): number {
    return this.hi[f]!;
  }

  fit(data: ArrayLike<number>, rows: number, dims: number): this {
    if (!Number.isInteger(dims) || dims < 1) throw new Error(`extended isolation forest: dims must be ≥ 1, got ${dims}`);
    if (rows < 1) throw new Error('extended isolation forest: cannot fit on zero rows');
    const psi = Math.min(this.sampleSize, rows);
    const height = Math.max(1, Math.ceil(Math.log2(psi)));
    const nodes = 2 ** height - 1;
    this.dimsValue = dims;
    this.height = height;
    this.nodesPerTree = nodes;
    this.psiUsed = psi;
    this.cPsi = Math.max(averagePathLength(psi), 1e-9);
    this.normal = new Float32Array(nodes * this.trees * dims);
    this.offset = new Float32Array(nodes * this.trees).fill(Infinity); // padding nodes route left
    this.leafValue = new Float32Array((nodes + 1) * this.trees);
    this.lo = new Float64Array(dims);
    this.hi = new Float64Array(dims);
    this.inv = new Float64Array(dims);
    this.z = new Float64Array(dims);
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
      this.inv[f] = hi > lo ? 1 / (hi - lo) : 0;
    }
    // rescaled copy: every feature in [0, 1] over the training data
    this.data = new Float64Array(rows * dims);
    for (let r = 0; r < rows; r++) for (let f = 0; f < dims; f++) this.data[r * dims + f] = (data[r * dims + f]! - this.lo[f]!) * this.inv[f]!;
    const perm = Int32Array.from({ length: rows }, (_, i) => i);
    this.idx = new Int32Array(psi);
    this.proj = new Float64Array(rows);
    for (let t = 0; t < this.trees; t++) {
      for (let i = 0; i < psi; i++) {
        const j = i + this.rng.int(rows - i);
        const tmp = perm[i]!;
        perm[i] = perm[j]!;
        perm[j] = tmp;
        this.idx[i] = perm[i]!;
      }
      this.build(t, 0, 0, psi, 0);
    }
    this.data = new Float64Array(0);
    this.proj = new Float64Array(0);
    return this;
  }

  pathLength(x: ArrayLike<number>, offset = 0): number {
    if (this.nodesPerTree === 0) throw new Error('extended isolation forest: score called before fit');
    const d = this.dimsValue;
    const z = this.z;
    for (let f = 0; f < d; f++) z[f] = (x[offset + f]! - this.lo[f]!) * this.inv[f]!;
    const nodes = this.nodesPerTree;
    let total = 0;
    for (let t = 0; t < this.trees; t++) {
      const b = t * nodes;
      let i = 0;
      for (let k = 0; k < this.height; k++) {
        const at = b + i;
        let dot = 0;
        for (let f = 0, o = at * d; f < d; f++) dot += this.normal[o + f]! * z[f]!;
        i = 2 * i + 1 + +(dot >= this.offset[at]!);
      }
      total += this.leafValue[b + t + i - nodes]!;
    }
    return total / this.trees;
  }

  score(x: ArrayLike<number>, offset = 0): number {
    return 2 ** (-this.pathLength(x, offset) / this.cPsi);
  }

  private build(tree: number, node: number, start: number, end: number, depth: number): void {
    const size = end - start;
    const d = this.dimsValue;
    if (depth >= this.height || size <= 1) {
      this.leaf(tree, node, depth, size);
      return;
    }
    const at = tree * this.nodesPerTree + node;
    const o = at * d;
    // intercept uniform in the node's bounding box, normal from N(0, I)
    let off = 0;
    let spread = false;
    for (let f = 0; f < d; f++) {
      let lo = Infinity;
      let hi = -Infinity;
      for (let i = start; i < end; i++) {
        const v = this.data[this.idx[i]! * d + f]!;
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
      if (hi > lo) spread = true;
      const n = Math.fround(this.rng.gaussian());
      this.normal[o + f] = n;
      off += n * (lo + this.rng.next() * (hi - lo));
    }
    if (!spread) {
      this.normal.fill(0, o, o + d);
      this.leaf(tree, node, depth, size); // identical points
      return;
    }
    const p = Math.fround(off);
    this.offset[at] = p;
    let mid = start;
    for (let i = start; i < end; i++) {
      const r = this.idx[i]!;
      let dot = 0;
      for (let f = 0; f < d; f++) dot += this.normal[o + f]! * this.data[r * d + f]!;
      if (!(dot >= p)) {
        this.idx[i] = this.idx[mid]!;
        this.idx[mid++] = r;
      }
    }
    this.build(tree, 2 * node + 1, start, mid, depth + 1);
    this.build(tree, 2 * node + 2, mid, end, depth + 1);
  }

  private leaf(tree: number, node: number, depth: number, size: number): void {
    const span = 1 << (this.height - depth);
    const base = tree * (this.nodesPerTree + 1) + (node + 1) * span - 1 - this.nodesPerTree;
    const v = depth + averagePathLength(size);
    for (let i = 0; i < span; i++) this.leafValue[base + i] = v;
  }

  toJSON(): ExtendedForestJson {
    return {
      kind: 'vigil.eiforest',
      version: 1,
      trees: this.trees,
      sampleSize: this.sampleSize,
      dims: this.dimsValue,
      heightLimit: this.height,
      psi: this.psiUsed,
      rng: this.rng.state(),
      lo: Array.from(this.lo),
      hi: Array.from(this.hi),
      normal: Array.from(this.normal),
      offset: Array.from(this.offset, (v) => (Number.isFinite(v) ? v : null)),
      leaf: Array.from(this.leafValue),
    };
  }

  static fromJSON(j: ExtendedForestJson): ExtendedIsolationForest {
    if (j.kind !== 'vigil.eiforest' || j.version !== 1) throw new Error(`extended isolation forest: unsupported model kind ${String(j.kind)} v${String(j.version)}`);
    const nodes = 2 ** j.heightLimit - 1;
    if (j.normal.length !== nodes * j.trees * j.dims || j.offset.length !== nodes * j.trees || j.leaf.length !== (nodes + 1) * j.trees) {
      throw new Error('extended isolation forest: model arrays do not match trees × height × dims');
    }
    const f = new ExtendedIsolationForest({ trees: j.trees, sampleSize: j.sampleSize });
    f.dimsValue = j.dims;
    f.height = j.heightLimit;
    f.nodesPerTree = nodes;
    f.psiUsed = j.psi;
    f.cPsi = Math.max(averagePathLength(j.psi), 1e-9);
    f.rng.setState(j.rng);
    f.lo = Float64Array.from(j.lo);
    f.hi = Float64Array.from(j.hi);
    f.inv = Float64Array.from(j.lo, (lo, i) => (j.hi[i]! > lo ? 1 / (j.hi[i]! - lo) : 0));
    f.z = new Float64Array(j.dims);
    f.normal = Float32Array.from(j.normal);
    f.offset = Float32Array.from(j.offset, (v) => (v === null ? Infinity : v));
    f.leafValue = Float32Array.from(j.leaf);
    return f;
  }
}

export interface ExtendedForestJson {
  readonly kind: 'vigil.eiforest';
  readonly version: 1;
  readonly trees: number;
  readonly sampleSize: number;
  readonly dims: number;
  readonly heightLimit: number;
  readonly psi: number;
  readonly rng: [number, number, number, number];
  readonly lo: number[];
  readonly hi: number[];
  readonly normal: number[];
  /** null = a padding node (routes left). */
  readonly offset: (number | null)[];
  readonly leaf: number[];
}
