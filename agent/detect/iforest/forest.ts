import { Prng } from './prng.ts';
import { averagePathLength } from './path-length.ts';

export const MAX_FEATURES = 255;
/** Largest ψ: a leaf value, at most 12 + c(4096) ≈ 27.4, must fit 16 bits at LEAF_SCALE; the agent's config stops at 4096 too. */
export const MAX_SAMPLE_SIZE = 4096;
/** Leaf values are stored in units of 1/2048 (u16): at most 1/4096 off each, ~1e-6 of a score. */
const LEAF_SCALE = 2048;
/** Trees walked side by side when scoring: independent chains of loads overlap in the CPU. */
const LANES = 8;
/** Feature values are quantised to 24 bits over the training range (thresholds share a word with the feature). */
const LEVELS = 1 << 24;

export interface ForestOptions {
  /** Number of isolation trees t (default 100). */
  readonly trees?: number;
  /** Sub-sample size ψ per tree (default 256). */
  readonly sampleSize?: number;
  /** PRNG seed: same seed + same data → the same model and scores. */
  readonly seed?: number;
}

/**
 * Isolation forest (Liu, Ting & Zhou 2008).
 *
 * Layout: each tree is a complete binary tree of height ⌈log2 ψ⌉ stored flat in heap order
 * (children of node i at 2i+1 and 2i+2). An internal node is ONE u32: split feature in the low
 * 8 bits, threshold in the high 24 bits, the threshold being in units of 1/2^24 of the
 * feature's training range (features are quantised once per point before the walk). One load
 * per step, and a node costs 4 bytes, so more of a model stays in cache when an agent scores
 * a thousand series each with its own model. The 2^height bottom slots hold depth + c(size) of
 * the leaf covering them in fixed point, u16 in units of 1/2048: 2 bytes a slot where an f32
 * took 4, summed as integers (exact, in any order). The rounding, ≤ 1/4096 of a path length, moves
 * a score by about a millionth; a table of f32 values indexed by (depth, size) would have kept
 * scores to the bit but its extra load per tree cost 4 % of scoring speed. A leaf that stops
 * early is padded down (padding nodes route anywhere, every slot below holds the same value),
 * so every walk takes exactly `height` steps with no "is this a leaf" branch, and eight trees
 * are walked in lockstep so their memory loads overlap. Scoring allocates nothing.
 *
 * Quantising does not change what the forest can express: a split is uniform between the
 * node's min and max (now on a 2^24-level grid), and a value beyond the training range lands
 * where the most extreme training value would, which is what a plain isolation forest does.
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
  /** LEAF_SCALE × trees: the walk's fixed-point sum over this is E[h(x)]. */
  private readonly leafDiv: number;
  /** Internal nodes: (threshold << 8 | feature). */
  private nodes: Int32Array = new Int32Array(0);
  /** Bottom slots, 2^height per tree: round((depth + c(size)) × LEAF_SCALE) of the leaf above. */
  private leafFixed: Uint16Array = new Uint16Array(0);
  /** Per-feature min/max of the training data (quantisation range; lets callers see out-of-range inputs). */
  private lo: Float64Array = new Float64Array(0);
  private hi: Float64Array = new Float64Array(0);
  /** LEVELS / (hi − lo), 0 for a constant feature. */
  private scale: Float64Array = new Float64Array(0);
  /** The point being scored, quantised. */
  private qx: Int32Array = new Int32Array(0);
  /** The compiled tree walk for this height (see walkerFor). */
  private walk: Walker = unfitted;
  // fit scratch, shared by every forest of the process (fits are synchronous, never interleaved):
  // a thousand per-series models must not each keep their own
  private qdata: Uint32Array = EMPTY_U32;
  private idx: Int32Array = EMPTY_I32;

  constructor(opts: ForestOptions = {}) {
    this.trees = opts.trees ?? 100;
    this.sampleSize = opts.sampleSize ?? 256;
    if (!Number.isInteger(this.trees) || this.trees < 1) throw new Error(`isolation forest: trees must be a positive integer, got ${this.trees}`);
    if (!Number.isInteger(this.sampleSize) || this.sampleSize < 2 || this.sampleSize > MAX_SAMPLE_SIZE) throw new Error(`isolation forest: sampleSize must be an integer 2..${MAX_SAMPLE_SIZE}, got ${this.sampleSize}`);
    this.rng = new Prng(opts.seed ?? 1);
    this.leafDiv = LEAF_SCALE * this.trees;
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

  /** Bytes held by the model. */
  get bytes(): number {
    return this.nodes.byteLength + this.leafFixed.byteLength + 3 * this.lo.byteLength + this.qx.byteLength;
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
    if (!Number.isInteger(dims) || dims < 1 || dims > MAX_FEATURES) throw new Error(`isolation forest: dims must be 1..${MAX_FEATURES}, got ${dims}`);
    if (rows < 1) throw new Error('isolation forest: cannot fit on zero rows');
    if (data.length < rows * dims) throw new Error(`isolation forest: data holds ${data.length} values, need ${rows}×${dims}`);
    const psi = Math.min(this.sampleSize, rows);
    const height = heightFor(psi);
    const nodes = 2 ** height - 1; // internal slots per tree
    if (this.nodes.length !== nodes * this.trees) {
      this.nodes = new Int32Array(nodes * this.trees);
      this.leafFixed = new Uint16Array((nodes + 1) * this.trees);
    }
    if (this.lo.length !== dims) {
      this.lo = new Float64Array(dims);
      this.hi = new Float64Array(dims);
      this.scale = new Float64Array(dims);
      this.qx = new Int32Array(dims);
    }
    if (scratch.q.length < rows * dims) scratch.q = new Uint32Array(rows * dims);
    if (scratch.perm.length < rows) scratch.perm = new Int32Array(rows);
    if (scratch.idx.length < psi) scratch.idx = new Int32Array(Math.max(psi, 256));
    this.qdata = scratch.q;
    this.idx = scratch.idx;
    this.dimsValue = dims;
    this.heightLimitValue = height;
    this.nodesPerTree = nodes;
    this.walk = walkerFor(height);
    this.psiUsed = psi;
    this.cPsi = Math.max(averagePathLength(psi), 1e-9);
    this.nodes.fill(0);

    for (let f = 0; f < dims; f++) {
      let lo = Infinity;
      let hi = -Infinity;
      for (let r = 0; r < rows; r++) {
        const v = data[r * dims + f]!;
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
      if (!(lo <= hi)) lo = hi = 0; // all NaN
      this.lo[f] = lo;
      this.hi[f] = hi;
      this.scale[f] = hi > lo && Number.isFinite(hi - lo) ? LEVELS / (hi - lo) : 0;
    }
    const q = this.qdata;
    for (let r = 0; r < rows; r++) for (let f = 0; f < dims; f++) q[r * dims + f] = this.quantise(data[r * dims + f]!, f);

    const perm = scratch.perm;
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
      this.build(dims, t, 0, 0, psi, 0);
    }
    this.qdata = EMPTY_U32;
    this.idx = EMPTY_I32;
    return this;
  }

  /** Convenience: fits an array of equal-length rows. */
  fitRows(rows: readonly (readonly number[])[]): this {
    const dims = rows[0]?.length ?? 0;
    const flat = new Float64Array(rows.length * dims);
    rows.forEach((r, i) => flat.set(r, i * dims));
    return this.fit(flat, rows.length, dims);
  }

  private quantise(v: number, f: number): number {
    const lo = this.lo[f]!;
    if (!(v > lo)) return 0; // also NaN
    const k = Math.floor((v - lo) * this.scale[f]!);
    return k < LEVELS ? k : LEVELS - 1;
  }

  /** E[h(x)]: mean path length of the point at `offset` in `x` over all trees. */
  pathLength(x: ArrayLike<number>, offset = 0): number {
    if (this.nodesPerTree === 0) throw new Error('isolation forest: score called before fit');
    const qx = this.qx;
    for (let f = 0; f < this.dimsValue; f++) qx[f] = this.quantise(x[offset + f]!, f);
    // one division: LEAF_SCALE is a power of two, so this equals (sum / LEAF_SCALE) / trees to the bit
    return this.walk(this.nodes, this.leafFixed, qx, 0, this.trees) / this.leafDiv;
  }

  /** Anomaly score s = 2^(−E[h(x)]/c(ψ)) in (0, 1]: near 1 isolated, below 0.5 ordinary. */
  score(x: ArrayLike<number>, offset = 0): number {
    return 2 ** (-this.pathLength(x, offset) / this.cPsi);
  }

  /**
   * Scores `rows` row-major points into `out` (allocated when not given): the same scores as
   * `score` point by point, without a call per point; points are quantised a block at a time.
   */
  scoreMany(data: ArrayLike<number>, rows: number, out: Float64Array = new Float64Array(rows)): Float64Array {
    if (this.nodesPerTree === 0) throw new Error('isolation forest: score called before fit');
    const d = this.dimsValue;
    if (blockScratch.length < BLOCK * d) blockScratch = new Int32Array(BLOCK * d);
    const qb = blockScratch;
    const walk = this.walk;
    const nodes = this.nodes;
    const leaf = this.leafFixed;
    const trees = this.trees;
    const div = this.leafDiv;
    const cPsi = this.cPsi;
    for (let r0 = 0; r0 < rows; r0 += BLOCK) {
      const n = Math.min(BLOCK, rows - r0);
      for (let p = 0; p < n; p++) for (let f = 0; f < d; f++) qb[p * d + f] = this.quantise(data[(r0 + p) * d + f]!, f);
      // the same arithmetic as score(), so the two agree to the bit
      for (let p = 0; p < n; p++) out[r0 + p] = 2 ** (-(walk(nodes, leaf, qb, p * d, trees) / div) / cPsi);
    }
    return out;
  }

  private build(dims: number, tree: number, node: number, start: number, end: number, depth: number): void {
    const size = end - start;
    if (depth >= this.heightLimitValue || size <= 1) {
      this.leaf(tree, node, depth, size);
      return;
    }
    const idx = this.idx;
    const q = this.qdata;
    // random feature among those that still vary here (a constant one cannot split)
    let f = this.rng.int(dims);
    let lo = 0;
    let hi = 0;
    for (let tries = 0; tries < dims; tries++) {
      lo = LEVELS;
      hi = -1;
      for (let i = start; i < end; i++) {
        const v = q[idx[i]! * dims + f]!;
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
      if (hi > lo) break;
      f = (f + 1) % dims;
    }
    if (!(hi > lo)) {
      this.leaf(tree, node, depth, size); // all remaining points are identical
      return;
    }
    // split uniformly in (lo, hi]: left holds values < p
    const p = lo + 1 + Math.floor(this.rng.next() * (hi - lo));
    let mid = start;
    for (let i = start; i < end; i++) {
      const r = idx[i]!;
      if (q[r * dims + f]! < p) {
        idx[i] = idx[mid]!;
        idx[mid++] = r;
      }
    }
    this.nodes[tree * this.nodesPerTree + node] = (p << 8) | f;
    this.build(dims, tree, 2 * node + 1, start, mid, depth + 1);
    this.build(dims, tree, 2 * node + 2, mid, end, depth + 1);
  }

  /** Writes a leaf's depth + c(size), in fixed point, into every bottom slot below `node` (padding nodes stay 0). */
  private leaf(tree: number, node: number, depth: number, size: number): void {
    const span = 1 << (this.heightLimitValue - depth);
    const base = tree * (this.nodesPerTree + 1) + (node + 1) * span - 1 - this.nodesPerTree; // leftmost bottom slot
    const v = toFixed(depth + averagePathLength(size));
    const leaf = this.leafFixed;
    // a plain loop: most spans are 1 or 2 and TypedArray.fill's call overhead dominated fits
    for (let i = 0; i < span; i++) leaf[base + i] = v;
  }

  // ---- persistence -------------------------------------------------------------------

  toJSON(): IsolationForestJson {
    return {
      kind: 'vigil.iforest',
      version: 3,
      trees: this.trees,
      sampleSize: this.sampleSize,
      dims: this.dimsValue,
      heightLimit: this.heightLimitValue,
      psi: this.psiUsed,
      rng: this.rng.state(),
      lo: Array.from(this.lo),
      hi: Array.from(this.hi),
      nodes: toBase64(u32ToBytes(new Uint32Array(this.nodes.buffer, this.nodes.byteOffset, this.nodes.length))),
      leaf: toBase64(u16ToBytes(this.leafFixed)),
    };
  }

  /** Reads version 3 and the older version 2 (f32 leaf values, rounded to fixed point: scores within ~1e-6). */
  static fromJSON(j: IsolationForestJson): IsolationForest {
    if (j.kind !== 'vigil.iforest' || (j.version !== 2 && j.version !== 3)) throw new Error(`isolation forest: unsupported model kind ${String(j.kind)} v${String(j.version)}`);
    const f = new IsolationForest({ trees: j.trees, sampleSize: j.sampleSize });
    const leafBytes = Buffer.from(j.leaf, 'base64');
    const leaf = j.version === 3 ? bytesToU16(leafBytes) : bytesToF32(leafBytes);
    f.restore(j.dims, j.heightLimit, j.psi, j.rng, Float64Array.from(j.lo), Float64Array.from(j.hi), bytesToU32(Buffer.from(j.nodes, 'base64')), leaf);
    return f;
  }

  /** Compact binary form: a 64-byte header, lo/hi (f64), nodes (u32), leaf values (u16 fixed point); little-endian. */
  toBinary(): Uint8Array {
    const d = this.dimsValue;
    const size = HEADER + 16 * d + 4 * this.nodes.length + 2 * this.leafFixed.length;
    const out = new Uint8Array(size);
    const v = new DataView(out.buffer);
    out.set(MAGIC, 0);
    v.setUint32(4, 3, true);
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
    for (let i = 0; i < this.nodes.length; i++, o += 4) v.setInt32(o, this.nodes[i]!, true);
    for (let i = 0; i < this.leafFixed.length; i++, o += 2) v.setUint16(o, this.leafFixed[i]!, true);
    return out;
  }

  /** Reads version 3 and the older version 2 (f32 leaf values). */
  static fromBinary(bytes: Uint8Array): IsolationForest {
    if (bytes.byteLength < HEADER) throw new Error(`isolation forest: binary model too short (${bytes.byteLength} bytes)`);
    const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let i = 0; i < 4; i++) if (bytes[i] !== MAGIC[i]) throw new Error('isolation forest: not a vigil model (bad magic)');
    const version = v.getUint32(4, true);
    if (version !== 2 && version !== 3) throw new Error(`isolation forest: unsupported binary version ${version}`);
    const leafBytes = version === 3 ? 2 : 4;
    const trees = v.getUint32(8, true);
    const d = v.getUint32(16, true);
    const height = v.getUint32(20, true);
    if (height < 1 || height > 30) throw new Error(`isolation forest: tree height ${height} out of range`);
    const nodes = 2 ** height - 1;
    const expected = HEADER + 16 * d + (4 * nodes + leafBytes * (nodes + 1)) * trees;
    if (bytes.byteLength !== expected) throw new Error(`isolation forest: binary model is ${bytes.byteLength} bytes, expected ${expected}`);
    const f = new IsolationForest({ trees, sampleSize: v.getUint32(12, true) });
    const rng: [number, number, number, number] = [v.getInt32(28, true), v.getInt32(32, true), v.getInt32(36, true), v.getInt32(40, true)];
    let o = HEADER;
    const lo = new Float64Array(d);
    const hi = new Float64Array(d);
    for (let i = 0; i < d; i++, o += 8) lo[i] = v.getFloat64(o, true);
    for (let i = 0; i < d; i++, o += 8) hi[i] = v.getFloat64(o, true);
    const nodeArr = new Uint32Array(nodes * trees);
    for (let i = 0; i < nodeArr.length; i++, o += 4) nodeArr[i] = v.getUint32(o, true);
    let leaf: Uint16Array | Float32Array;
    if (version === 3) {
      leaf = new Uint16Array((nodes + 1) * trees);
      for (let i = 0; i < leaf.length; i++, o += 2) leaf[i] = v.getUint16(o, true);
    } else {
      leaf = new Float32Array((nodes + 1) * trees);
      for (let i = 0; i < leaf.length; i++, o += 4) leaf[i] = v.getFloat32(o, true);
    }
    f.restore(d, height, v.getUint32(24, true), rng, lo, hi, nodeArr, leaf);
    return f;
  }

  /** `leaf`: fixed-point values (version 3), or the f32 values of version 2. */
  private restore(dims: number, height: number, psi: number, rng: readonly [number, number, number, number], lo: Float64Array, hi: Float64Array, nodes: Uint32Array, leaf: Uint16Array | Float32Array): void {
    if (!Number.isInteger(height) || height < 1 || height > heightFor(this.sampleSize)) throw new Error(`isolation forest: tree height ${height} does not fit sampleSize ${this.sampleSize}`);
    const perTree = 2 ** height - 1;
    if (!Number.isInteger(dims) || dims < 1 || dims > MAX_FEATURES) throw new Error(`isolation forest: model has ${dims} features`);
    if (nodes.length !== perTree * this.trees || leaf.length !== (perTree + 1) * this.trees) {
      throw new Error(`isolation forest: model holds ${nodes.length} nodes / ${leaf.length} leaf slots, expected ${perTree * this.trees} / ${(perTree + 1) * this.trees}`);
    }
    if (lo.length !== dims || hi.length !== dims) throw new Error(`isolation forest: feature ranges hold ${lo.length} values, expected ${dims}`);
    for (let i = 0; i < nodes.length; i++) if ((nodes[i]! & 255) >= dims) throw new Error(`isolation forest: node ${i} splits on feature ${nodes[i]! & 255} of ${dims}`);
    // a leaf's value is its depth (≤ height) plus c(its size ≤ 2^height)
    const max = toFixed(height + averagePathLength(2 ** height));
    const fixed = leaf instanceof Uint16Array ? leaf : new Uint16Array(leaf.length);
    for (let i = 0; i < leaf.length; i++) {
      const v = leaf instanceof Uint16Array ? leaf[i]! : toFixed(leaf[i]!);
      if (!(v >= 0 && v <= max)) throw new Error(`isolation forest: leaf slot ${i} holds ${leaf[i]!}, not a path length in a tree of height ${height} (a corrupt model?)`);
      fixed[i] = v;
    }
    this.dimsValue = dims;
    this.heightLimitValue = height;
    this.nodesPerTree = perTree;
    this.walk = walkerFor(height);
    this.psiUsed = psi;
    this.cPsi = Math.max(averagePathLength(psi), 1e-9);
    this.rng.setState(rng);
    this.lo = lo;
    this.hi = hi;
    this.scale = new Float64Array(dims);
    for (let f = 0; f < dims; f++) this.scale[f] = hi[f]! > lo[f]! && Number.isFinite(hi[f]! - lo[f]!) ? LEVELS / (hi[f]! - lo[f]!) : 0;
    this.qx = new Int32Array(dims);
    this.nodes = new Int32Array(nodes.buffer, nodes.byteOffset, nodes.length);
    this.leafFixed = fixed;
  }
}

export interface IsolationForestJson {
  readonly kind: 'vigil.iforest';
  /** 3; 2 (f32 leaf values instead of fixed point) is still read. */
  readonly version: 2 | 3;
  readonly trees: number;
  readonly sampleSize: number;
  readonly dims: number;
  readonly heightLimit: number;
  readonly psi: number;
  readonly rng: [number, number, number, number];
  /** Training range per feature (the quantisation grid). */
  readonly lo: number[];
  readonly hi: number[];
  /** base64 of the u32 node words (threshold << 8 | feature), heap order, 2^height − 1 per tree, little-endian. */
  readonly nodes: string;
  /**
   * base64 of the bottom-slot values depth + c(size), 2^height per tree, little-endian: v3 u16
   * in units of 1/2048, v2 f32.
   */
  readonly leaf: string;
}

const EMPTY_U32 = new Uint32Array(0);
const unfitted: Walker = () => {
  throw new Error('isolation forest: score called before fit');
};
const EMPTY_I32 = new Int32Array(0);
const scratch = { q: EMPTY_U32, perm: EMPTY_I32, idx: EMPTY_I32 };
/** Points quantised at a time in scoreMany (scratch shared: scoring is synchronous). */
const BLOCK = 64;
let blockScratch = new Int32Array(BLOCK * 8);

/** Sum of the bottom-slot values (fixed point) reached by the point quantised at q[o..] over `trees` trees. */
type Walker = (nodes: Int32Array, leaf: Uint16Array, q: Int32Array, o: number, trees: number) => number;
const walkers = new Map<number, Walker>();

/** Tree height for ψ points: ⌈log2 ψ⌉, at least 1. */
function heightFor(psi: number): number {
  return Math.max(1, Math.ceil(Math.log2(psi)));
}

function toFixed(pathLength: number): number {
  return Math.round(pathLength * LEAF_SCALE);
}

/**
 * The tree walk, compiled once per tree height with the height and the node stride as
 * literals and eight trees unrolled in lockstep. The generic loop (height and stride read
 * from the instance) ran ~35 % slower: with 8 lanes × (base, index) live, the extra
 * variables spill registers and the step count is unknown to the compiler. The source is a
 * fixed template over two integers; nothing from data or config reaches it.
 */
function walkerFor(height: number): Walker {
  const cached = walkers.get(height);
  if (cached) return cached;
  if (!Number.isInteger(height) || height < 1 || height > 30) throw new Error(`isolation forest: tree height ${height} out of range`);
  const npt = 2 ** height - 1;
  // a block of `lanes` trees walked in lockstep, starting at tree t
  const block = (lanes: number): string => {
    const L = Array.from({ length: lanes }, (_, l) => l);
    return (
      `for (; t + ${lanes} <= trees; t += ${lanes}) { const b0 = t * ${npt};` +
      L.slice(1).map((l) => `const b${l} = b0 + ${l * npt};`).join('') +
      L.map((l) => `let i${l} = 0;`).join('') +
      `for (let k = 0; k < ${height}; k++) {` +
      L.map((l) => `const w${l} = nodes[b${l} + i${l}];`).join('') +
      L.map((l) => `i${l} = 2 * i${l} + 1 + +(q[o + (w${l} & 255)] >= w${l} >>> 8);`).join('') +
      '}' +
      // bottom slot j of tree t lives at leaf[t * (npt + 1) + j], j = i − npt
      `tot += ${L.map((l) => `leaf[b${l} + t + ${l} + i${l} - ${npt}]`).join(' + ')}; }`
    );
  };
  // 8 lanes, then 4 and 1 for the remainder (100 trees = 12 × 8 + 4)
  const src = `'use strict'; let tot = 0; let t = 0; ${block(LANES)} ${block(4)} ${block(1)} return tot;`;
  // eslint-disable-next-line @typescript-eslint/no-implied-eval -- see above: a fixed template, compiled once per height
  const fn = new Function('nodes', 'leaf', 'q', 'o', 'trees', src) as Walker;
  walkers.set(height, fn);
  return fn;
}

const MAGIC = new Uint8Array([0x56, 0x49, 0x46, 0x31]); // "VIF1"
const HEADER = 64;

function toBase64(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64');
}

/** Little-endian bytes whatever the host's byte order. */
function u16ToBytes(a: Uint16Array): Uint8Array {
  const out = new Uint8Array(a.length * 2);
  const v = new DataView(out.buffer);
  for (let i = 0; i < a.length; i++) v.setUint16(i * 2, a[i]!, true);
  return out;
}

function bytesToU16(b: Uint8Array): Uint16Array {
  if (b.byteLength % 2 !== 0) throw new Error(`isolation forest: leaf values hold ${b.byteLength} bytes, not a multiple of 2`);
  const out = new Uint16Array(b.byteLength / 2);
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  for (let i = 0; i < out.length; i++) out[i] = v.getUint16(i * 2, true);
  return out;
}

function u32ToBytes(a: Uint32Array): Uint8Array {
  const out = new Uint8Array(a.length * 4);
  const v = new DataView(out.buffer);
  for (let i = 0; i < a.length; i++) v.setUint32(i * 4, a[i]!, true);
  return out;
}

function bytesToF32(b: Uint8Array): Float32Array {
  const out = new Float32Array(b.byteLength / 4);
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  for (let i = 0; i < out.length; i++) out[i] = v.getFloat32(i * 4, true);
  return out;
}

function bytesToU32(b: Uint8Array): Uint32Array {
  const out = new Uint32Array(b.byteLength / 4);
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  for (let i = 0; i < out.length; i++) out[i] = v.getUint32(i * 4, true);
  return out;
}
