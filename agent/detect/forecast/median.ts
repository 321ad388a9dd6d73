/**
 * Median of the first `n` entries of `a`, reordering them in place (Hoare quickselect):
 * O(n) on average and no allocation, so the forecaster can call it on every pass.
 */
export function medianInPlace(a: Float64Array, n: number): number {
  if (n <= 0) return Number.NaN;
  const mid = n >> 1;
  const hi = select(a, 0, n - 1, mid);
  if (n & 1) return hi;
  // Even count: the lower middle is the largest value left of `mid` after selection.
  let lo = -Infinity;
  for (let i = 0; i < mid; i++) if (a[i]! > lo) lo = a[i]!;
  return (lo + hi) / 2;
}

/**
 * Moves the k-th smallest of a[left..right] to index k (smaller ones before it, larger after)
 * and returns it.
 */
export function selectInPlace(a: Float64Array, left: number, right: number, k: number): number {
  return select(a, left, right, k);
}

function select(a: Float64Array, left: number, right: number, k: number): number {
  while (right > left) {
    const pivot = a[(left + right) >> 1]!;
    let i = left;
    let j = right;
    while (i <= j) {
      while (a[i]! < pivot) i++;
      while (a[j]! > pivot) j--;
      if (i <= j) {
        const tmp = a[i]!;
        a[i] = a[j]!;
        a[j] = tmp;
        i++;
        j--;
      }
    }
    if (k <= j) right = j;
    else if (k >= i) left = i;
    else return a[k]!;
  }
  return a[k]!;
}
