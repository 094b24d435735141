// Data types, their native codes and typed arrays, and PyTorch's type promotion.
// float16 and bfloat16 are stored in 16 bits (native/kernels/half.h); JS sees their values as
// float32 (dataSync gives a Float32Array), since Node has no 16-bit float array.

export type DType = 'float32' | 'float64' | 'int32' | 'bool' | 'float16' | 'bfloat16';
export type Device = 'cpu' | 'cuda';
export type TypedArray = Float32Array | Float64Array | Int32Array | Uint8Array;

export const DTYPES: readonly DType[] = ['float32', 'float64', 'int32', 'bool', 'float16', 'bfloat16'];

/** Codes shared with native/tensor_view.h (enum DType). */
export const DTYPE_CODE: Record<DType, number> = { float32: 0, float64: 1, int32: 2, bool: 3, float16: 4, bfloat16: 5 };
export const DTYPE_OF_CODE: readonly DType[] = ['float32', 'float64', 'int32', 'bool', 'float16', 'bfloat16'];

/** The typed array that holds a dtype's values in JS (float32 for the 16-bit floats). */
export const TYPED_ARRAY: Record<DType, { new (n: number): TypedArray; BYTES_PER_ELEMENT: number }> = {
  float32: Float32Array,
  float64: Float64Array,
  int32: Int32Array,
  bool: Uint8Array,
  float16: Float32Array,
  bfloat16: Float32Array,
};

/** Bytes per element in native storage. */
export const ELEMENT_SIZE: Record<DType, number> = { float32: 4, float64: 8, int32: 4, bool: 1, float16: 2, bfloat16: 2 };

export function isFloating(d: DType): boolean {
  return d === 'float32' || d === 'float64' || d === 'float16' || d === 'bfloat16';
}

export function checkDType(op: string, d: unknown): DType {
  if (typeof d !== 'string' || !(DTYPES as readonly string[]).includes(d)) {
    throw new TypeError(`${op}: unknown dtype ${JSON.stringify(d)} (expected one of ${DTYPES.join(', ')})`);
  }
  return d as DType;
}

const RANK: Record<DType, number> = { bool: 0, int32: 1, float16: 2, bfloat16: 2, float32: 3, float64: 4 };

/**
 * Result dtype of a binary op on two tensors (bool < int32 < float16, bfloat16 < float32 < float64;
 * float16 with bfloat16 gives float32, as in PyTorch).
 */
export function promoteTypes(a: DType, b: DType): DType {
  if (RANK[a] === RANK[b] && a !== b) return 'float32';
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
