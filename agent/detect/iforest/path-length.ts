/** Euler–Mascheroni constant. */
const GAMMA = 0.5772156649015329;

const EXACT = 256;
const HARMONIC: Float64Array = (() => {
  const h = new Float64Array(EXACT + 1);
  for (let i = 1; i <= EXACT; i++) h[i] = h[i - 1]! + 1 / i;
  return h;
})();

/**
 * H(i), the i-th harmonic number: exact sum for small i, asymptotic expansion beyond
 * (error < 1e-12 there). The paper's ln(i) + γ alone is off by ~1/(2i), which biases c(n)
 * for the small leaf sizes that matter most.
 */
export function harmonic(i: number): number {
  if (i <= 0) return 0;
  if (i <= EXACT) return HARMONIC[i | 0]!;
  return Math.log(i) + GAMMA + 1 / (2 * i) - 1 / (12 * i * i);
}

/**
 * c(n): the average path length of an unsuccessful search in a binary search tree of n
 * points (Liu, Ting & Zhou 2008, eq. 1), used to normalise path lengths and to account for
 * the unbuilt subtree below a leaf holding n points.
 */
export function averagePathLength(n: number): number {
  if (n <= 1) return 0;
  if (n === 2) return 1;
  return 2 * harmonic(n - 1) - (2 * (n - 1)) / n;
}
