// Data types, their native codes and typed arrays, and PyTorch's type promotion for the four we have.

export type DType = 'float32' | 'float64' | 'int32' | 'bool';
export type Device = 'cpu' | 'cuda';
export type TypedArray = Float32Array | Float64Array | Int32Array | Uint8Array;

export const DTYPES: readonly DType[] = ['float32', 'float64', 'int32', 'bool'];

/** Codes shared with native/tensor_view.h (enum DType). */
export const DTYPE_CODE: Record<DType, number> = { float32: 0, float64: 1, int32: 2, bool: 3 };
export const DTYPE_OF_CODE: readonly DType[] = ['float32', 'float64', 'int32', 'bool'];

export const TYPED_ARRAY: Record<DType, { new (n: number): TypedArray; BYTES_PER_ELEMENT: number }> = {
  float32: Float32Array,
  float64: Float64Array,
  int32: Int32Array,
  bool: Uint8Array,
};

export function isFloating(d: DType): boolean {
  return d === 'float32' || d === 'float64';
}

export function checkDType(op: string, d: unknown): DType {
  if (typeof d !== 'string' || !(DTYPES as readonly string[]).includes(d)) {
    throw new TypeError(`${op}: unknown dtype ${JSON.stringify(d)} (expected one of ${DTYPES.join(', ')})`);
  }
  return d as DType;
}

const RANK: Record<DType, number> = { bool: 0, int32: 1, float32: 2, float64: 3 };

/** Result dtype of a binary op on two tensors (bool < int32 < float32 < float64). */
export function promoteTypes(a: DType, b: DType): DType {
  return RANK[a] >= RANK[b] ? a : b;
}

/** Result dtype of tensor (op) number: a float number lifts an integer tensor to float32, as in PyTorch. */
export function promoteWithScalar(t: DType, s: number | boolean): DType {
  if (typeof s === 'boolean') return t;
  if (!Number.isInteger(s) && !isFloating(t)) return 'float32';
  if (t === 'bool') return Number.isInteger(s) ? 'int32' : 'float32';
  return t;
}

export function dtypeOfTypedArray(a: ArrayBufferView): DType | undefined {
  if (a instanceof Float32Array) return 'float32';
  if (a instanceof Float64Array) return 'float64';
  if (a instanceof Int32Array) return 'int32';
  if (a instanceof Uint8Array) return 'bool';
  return undefined;
}
