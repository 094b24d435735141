// Random tensors from a seedable, counter-based generator (native/kernels/random.cpp): a generator
// is (seed, offset); each call takes the next `numel` draws, so a run is reproducible from
// manualSeed() whatever the thread count.
import { parseDevice } from '../backend';
import { checkDType, isFloating, type DType } from '../dtype';
import { isHalf } from '../half';
import { callee, meta, metaNum, native } from '../native';
import { Tensor } from '../tensor';
import { finish, parseShapeArgs, type CreateOptions } from './creation';
import { copyRaw } from './views';

export class Generator {
  private seedHi = 0;
  private seedLo = 0;
  private offset = 0;
  constructor(seed?: number | bigint) {
    this.manualSeed(seed ?? randomSeed());
  }
  /** Resets the stream to `seed` (a non-negative integer below 2^64). */
  manualSeed(seed: number | bigint): this {
    let s: bigint;
    if (typeof seed === 'bigint') s = seed;
    else if (Number.isSafeInteger(seed)) s = BigInt(seed);
    else throw new RangeError(`manualSeed: seed must be an integer, got ${seed}`);
    if (s < 0n || s >= 1n << 64n) throw new RangeError(`manualSeed: seed must be in [0, 2^64), got ${s}`);
    this.seedHi = Number(s >> 32n);
    this.seedLo = Number(s & 0xffffffffn);
    this.offset = 0;
    return this;
  }
  initialSeed(): bigint {
    return (BigInt(this.seedHi) << 32n) | BigInt(this.seedLo);
  }
  /** @internal Fills a contiguous tensor: kind 0 uniform(a, b), 1 normal(a, b), 2 integers in [a, b). */
  _fill(kind: number, t: Tensor, a: number, b: number): Tensor {
    const n = t.numel();
    if (n === 0) return t; // nothing to draw
    if (isHalf(t.dtype)) {
      // Drawn in float32 (the same stream as a float32 tensor) and rounded to 16 bits, so a uniform
      // draw just below b may round to b.
      const wide = this._fill(kind, Tensor._empty(t._shape.slice(), 'float32', false, t.device), a, b);
      copyRaw(t, wide);
      wide.dispose();
      return t;
    }
    meta();
    t._meta();
    metaNum(this.seedHi, this.seedLo, this.offset, a, b);
    callee().random(kind);
    // Normal draws come in pairs; keep the offset even so streams stay aligned.
    this.offset += kind === 1 ? n + (n % 2) : n;
    return t;
  }
}

function randomSeed(): bigint {
  const { randomBytes } = require('node:crypto') as typeof import('node:crypto');
  return randomBytes(8).readBigUInt64BE();
}

export const defaultGenerator = new Generator();

/** Seeds the default generator (like torch.manual_seed). */
export function manualSeed(seed: number | bigint): Generator {
  return defaultGenerator.manualSeed(seed);
}

export interface RandomOptions extends CreateOptions {
  generator?: Generator;
}

function floatDType(op: string, opts: RandomOptions): DType {
  const d = checkDType(op, opts.dtype ?? 'float32');
  if (!isFloating(d)) throw new TypeError(`${op}: expected a floating-point dtype, got ${d}`);
  return d;
}

/** Uniform on [0, 1). */
export function rand(...args: unknown[]): Tensor {
  const { shape, opts } = parseShapeArgs('rand', args);
  const o = opts as RandomOptions;
  const t = Tensor._empty(shape, floatDType('rand', o), false, parseDevice('rand', o.device));
  return finish((o.generator ?? defaultGenerator)._fill(0, t, 0, 1), o, 'rand');
}
/** Standard normal. */
export function randn(...args: unknown[]): Tensor {
  const { shape, opts } = parseShapeArgs('randn', args);
  const o = opts as RandomOptions;
  const t = Tensor._empty(shape, floatDType('randn', o), false, parseDevice('randn', o.device));
  return finish((o.generator ?? defaultGenerator)._fill(1, t, 0, 1), o, 'randn');
}
/** Integers uniform on [low, high); int32 unless `dtype` says otherwise. */
export function randint(low: number, high: number, shape: number[], opts: RandomOptions = {}): Tensor {
  const op = 'randint';
  if (!Number.isInteger(low) || !Number.isInteger(high)) throw new TypeError(`${op}: low and high must be integers`);
  if (!(high > low)) throw new RangeError(`${op}: expected low < high, got low=${low}, high=${high}`);
  const { shape: s } = parseShapeArgs(op, [shape]);
  const dtype = checkDType(op, opts.dtype ?? 'int32');
  if (dtype === 'bool') throw new TypeError(`${op}: cannot make a bool tensor`);
  if (dtype === 'int32' && (low < -(2 ** 31) || high > 2 ** 31)) throw new RangeError(`${op}: bounds do not fit int32`);
  const t = Tensor._empty(s, dtype, false, parseDevice(op, opts.device));
  return finish((opts.generator ?? defaultGenerator)._fill(2, t, low, high), opts, op);
}
export function randLike(t: Tensor, opts: RandomOptions = {}): Tensor {
  t._check('randLike');
  return rand(t._shape.slice(), { dtype: t.dtype, device: t.device, ...opts });
}
export function randnLike(t: Tensor, opts: RandomOptions = {}): Tensor {
  t._check('randnLike');
  return randn(t._shape.slice(), { dtype: t.dtype, device: t.device, ...opts });
}
/** Uniform on [low, high). */
export function uniform(shape: number[], low = 0, high = 1, opts: RandomOptions = {}): Tensor {
  const { shape: s } = parseShapeArgs('uniform', [shape]);
  const t = Tensor._empty(s, floatDType('uniform', opts), false, parseDevice('uniform', opts.device));
  return finish((opts.generator ?? defaultGenerator)._fill(0, t, low, high), opts, 'uniform');
}
/** Normal with the given mean and standard deviation. */
export function normal(shape: number[], mean = 0, std = 1, opts: RandomOptions = {}): Tensor {
  const { shape: s } = parseShapeArgs('normal', [shape]);
  if (!(std >= 0)) throw new RangeError(`normal: std must be >= 0, got ${std}`);
  const t = Tensor._empty(s, floatDType('normal', opts), false, parseDevice('normal', opts.device));
  return finish((opts.generator ?? defaultGenerator)._fill(1, t, mean, std), opts, 'normal');
}
/** Random permutation of 0..n-1 (int32), from the generator's stream. */
export function randperm(n: number, opts: RandomOptions = {}): Tensor {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`randperm: n must be a non-negative integer, got ${n}`);
  const keys = Tensor._empty([n], 'float64');
  (opts.generator ?? defaultGenerator)._fill(0, keys, 0, 1);
  const k = keys.dataSync() as Float64Array;
  keys.dispose();
  const idx = Array.from({ length: n }, (_, i) => i).sort((a, b) => k[a] - k[b]);
  const t = Tensor._empty([n], 'int32');
  native.write(t._storage.handle, 0, Int32Array.from(idx));
  return t;
}
