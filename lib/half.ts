// float16 / bfloat16 on the JS side: their bits (what native read/write move) to and from numbers.
// The rounding is native/kernels/half.h's, bit for bit: a number goes to float32 first (Math.fround),
// then to the nearest 16-bit value, ties to even; NaN stays NaN, overflow gives +-Infinity.
import type { DType } from './dtype';

export type HalfDType = 'float16' | 'bfloat16';

export function isHalf(d: DType): d is HalfDType {
  return d === 'float16' || d === 'bfloat16';
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

function floatBits(v: number): number {
  f32[0] = v;
  return u32[0];
}
function bitsFloat(b: number): number {
  u32[0] = b >>> 0;
  return f32[0];
}

export function toF16Bits(v: number): number {
  const x = floatBits(v);
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 | (mant >>> 13) : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let h = mant >>> shift;
    const rem = mant & ((1 << shift) - 1), mid = 1 << (shift - 1);
    if (rem > mid || (rem === mid && (h & 1))) h++;
    return sign | h;
  }
  let h = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (h & 1))) h++;
  return sign | h;
}

export function fromF16Bits(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f, mant = h & 0x3ff;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  if (exp === 0) return sign * mant * 2 ** -24;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

export function toBF16Bits(v: number): number {
  const x = floatBits(v);
  if ((x & 0x7fffffff) >>> 0 > 0x7f800000) return ((x >>> 16) | 0x40) & 0xffff;
  return ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
}

export function fromBF16Bits(b: number): number {
  return bitsFloat((b & 0xffff) << 16);
}

/** The values of raw 16-bit storage, widened (exactly) to float32. */
export function widenHalf(dtype: HalfDType, bits: Uint16Array): Float32Array {
  const out = new Float32Array(bits.length);
  const from = dtype === 'float16' ? fromF16Bits : fromBF16Bits;
  for (let i = 0; i < bits.length; i++) out[i] = from(bits[i]);
  return out;
}

/** Numbers rounded to 16-bit storage. */
export function narrowHalf(dtype: HalfDType, values: ArrayLike<number>): Uint16Array {
  const out = new Uint16Array(values.length);
  const to = dtype === 'float16' ? toF16Bits : toBF16Bits;
  for (let i = 0; i < values.length; i++) out[i] = to(values[i]);
  return out;
}
