// Shape arithmetic: strides, broadcasting, dim normalisation. Pure functions on number arrays.

export const MAX_DIMS = 16;

export function shapeStr(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

export function numelOf(shape: readonly number[]): number {
  let n = 1;
  for (const s of shape) n *= s;
  return n;
}

/** Row-major strides of a contiguous tensor of this shape. */
export function contiguousStrides(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= Math.max(shape[i], 1);
  }
  return strides;
}

export function checkShape(op: string, shape: readonly unknown[]): number[] {
  if (shape.length > MAX_DIMS) throw new RangeError(`${op}: tensors may have at most ${MAX_DIMS} dims, got ${shape.length}`);
  for (const s of shape) {
    if (typeof s !== 'number' || !Number.isInteger(s) || s < 0) {
      throw new RangeError(`${op}: invalid shape ${shapeStr(shape as number[])} (sizes must be non-negative integers)`);
    }
  }
  return shape as number[];
}

/** NumPy broadcasting of two shapes; throws naming the op and both shapes. */
export function broadcastShapes(op: string, a: readonly number[], b: readonly number[]): number[] {
  const n = Math.max(a.length, b.length);
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const da = i < n - a.length ? 1 : a[i - (n - a.length)];
    const db = i < n - b.length ? 1 : b[i - (n - b.length)];
    if (da !== db && da !== 1 && db !== 1) {
      throw new Error(
        `${op}: shapes ${shapeStr(a)} and ${shapeStr(b)} cannot be broadcast together ` +
          `(dim ${i}: ${da} vs ${db})`,
      );
    }
    out[i] = da === 1 ? db : da;
  }
  return out;
}

export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Wraps a possibly negative dim into [0, ndim); throws with the valid range otherwise. */
export function normalizeDim(op: string, dim: number, ndim: number): number {
  if (typeof dim !== 'number' || !Number.isInteger(dim)) throw new TypeError(`${op}: dim must be an integer, got ${dim}`);
  const lo = -Math.max(ndim, 1), hi = Math.max(ndim, 1) - 1;
  if (dim < lo || dim > hi) {
    throw new RangeError(`${op}: dim ${dim} is out of range for a tensor of ${ndim} dims (expected ${lo}..${hi})`);
  }
  return dim < 0 ? dim + Math.max(ndim, 1) : dim;
}

/** Normalises a dim or list of dims (undefined: all dims); rejects repeats. */
export function normalizeDims(op: string, dims: number | readonly number[] | undefined | null, ndim: number): number[] {
  if (dims === undefined || dims === null) return Array.from({ length: ndim }, (_, i) => i);
  if (typeof dims !== 'number' && !Array.isArray(dims)) {
    const got = typeof dims === 'object' ? 'an object (options go after the dim: pass null for all dims)' : typeof dims;
    throw new TypeError(`${op}: dim must be an integer or a list of integers, got ${got}`);
  }
  const list = typeof dims === 'number' ? [dims] : [...dims];
  const out = list.map((d) => (ndim === 0 ? (normalizeDim(op, d, 1), 0) : normalizeDim(op, d, ndim)));
  if (ndim === 0) return [];
  const seen = new Set<number>();
  out.forEach((d, i) => {
    if (seen.has(d)) throw new Error(`${op}: dim ${list[i]} appears more than once in the list of dims [${list.join(', ')}]`);
    seen.add(d);
  });
  return out.sort((x, y) => x - y);
}
