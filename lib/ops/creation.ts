// Creation functions: tensor(), zeros, ones, full, empty, arange, linspace, eye and the *Like forms.
import { parseDevice } from '../backend';
import { checkDType, dtypeOfTypedArray, isFloating, TYPED_ARRAY, type Device, type DType, type TypedArray } from '../dtype';
import { isHalf, narrowHalf } from '../half';
import { callee, meta, metaNum, native } from '../native';
import { checkShape, numelOf, shapeStr } from '../shape';
import { Tensor, type NestedArray } from '../tensor';
import { toDevice } from './cast';

export interface CreateOptions {
  dtype?: DType;
  requiresGrad?: boolean;
  /** 'cpu' (the default), 'cuda', or 'auto' (CUDA when usable, else the CPU). */
  device?: Device | 'auto' | 'cuda:0';
}
export interface TensorOptions extends CreateOptions {
  /** Shape for flat data (a typed array or flat number array); defaults to its length. */
  shape?: number[];
}

export type ShapeArgs = [number[], CreateOptions?] | [number[]] | number[] | [...number[], CreateOptions];

/** Reads `(2, 3)`, `([2, 3])` or `([2, 3], opts)` / `(2, 3, opts)` into a shape and options. */
export function parseShapeArgs(op: string, args: unknown[]): { shape: number[]; opts: CreateOptions } {
  let opts: CreateOptions = {};
  let rest = args;
  const last = args[args.length - 1];
  if (args.length > 0 && last !== null && typeof last === 'object' && !Array.isArray(last)) {
    opts = last as CreateOptions;
    rest = args.slice(0, -1);
  }
  let shape: unknown[];
  if (rest.length === 1 && Array.isArray(rest[0])) shape = rest[0] as unknown[];
  else shape = rest;
  return { shape: checkShape(op, shape).slice(), opts };
}

export function finish(t: Tensor, opts: CreateOptions | undefined, op: string): Tensor {
  const device = parseDevice(op, opts?.device);
  if (t.device !== device) {
    // Made on the host (from JS data, or by the host's generator, whose streams every device shares).
    const moved = toDevice(t, device, op);
    t.dispose();
    t = moved;
  }
  if (opts?.requiresGrad) {
    if (!isFloating(t.dtype)) {
      t.dispose();
      throw new Error(`${op}: only floating-point tensors can require gradients, got ${t.dtype}`);
    }
    t._requiresGrad = true;
  }
  return t;
}

/** t[...] = value, in place (no autograd; callers handle that). */
export function fillTensor(t: Tensor, value: number): Tensor {
  t._check('fill');
  meta();
  t._meta();
  metaNum(value);
  callee().fill();
  return t;
}

function fromFlat(op: string, flat: ArrayLike<number>, shape: number[], dtype: DType): Tensor {
  const t = Tensor._empty(shape, dtype);
  if (flat.length > 0 && isHalf(dtype)) {
    native.write(t._storage.handle, 0, narrowHalf(dtype, flat));
  } else if (flat.length > 0) {
    const Ctor = TYPED_ARRAY[dtype];
    let arr: TypedArray;
    if (flat instanceof Ctor) arr = flat as TypedArray;
    else {
      arr = new Ctor(flat.length);
      for (let i = 0; i < flat.length; i++) arr[i] = dtype === 'bool' ? (flat[i] ? 1 : 0) : flat[i];
    }
    native.write(t._storage.handle, 0, arr);
  }
  void op;
  return t;
}

/**
 * Makes a tensor from a number, a boolean, nested arrays of them, or a typed array (copied).
 * Numbers give float32 (JS cannot tell 1 from 1.0), booleans bool, Int32Array int32, Float64Array
 * float64; `dtype` overrides.
 */
export function tensor(data: NestedArray | TypedArray | readonly number[], opts: TensorOptions = {}): Tensor {
  const op = 'tensor';
  if (opts.dtype !== undefined) checkDType(op, opts.dtype);
  if (ArrayBuffer.isView(data)) {
    const inferred = dtypeOfTypedArray(data);
    if (!inferred) throw new TypeError(`${op}: unsupported typed array ${data.constructor.name} (use Float32Array, Float64Array, Int32Array or Uint8Array)`);
    const arr = data as TypedArray;
    const shape = opts.shape ? checkShape(op, opts.shape).slice() : [arr.length];
    if (numelOf(shape) !== arr.length) {
      throw new Error(`${op}: shape ${shapeStr(shape)} needs ${numelOf(shape)} elements but the data has ${arr.length}`);
    }
    const dtype = opts.dtype ?? inferred;
    const src = dtype === inferred ? arr : Array.from(arr);
    return finish(fromFlat(op, src, shape, dtype), opts, op);
  }
  const shape: number[] = [];
  const flat: number[] = [];
  let sawBool = false, sawNumber = false;
  // Shape from the first element at each depth, then every element checked against it.
  let probe: unknown = data;
  while (Array.isArray(probe)) {
    shape.push(probe.length);
    probe = probe[0];
  }
  if (shape.length > 16) throw new RangeError(`${op}: nested arrays deeper than 16 dims`);
  const walk = (v: unknown, depth: number, path: number[]): void => {
    if (depth === shape.length) {
      if (typeof v === 'number') {
        sawNumber = true;
        flat.push(v);
      } else if (typeof v === 'boolean') {
        sawBool = true;
        flat.push(v ? 1 : 0);
      } else {
        throw new TypeError(`${op}: element at [${path.join(', ')}] is ${Array.isArray(v) ? 'an array' : typeof v}; expected a number or boolean (ragged nested array?)`);
      }
      return;
    }
    if (!Array.isArray(v) || v.length !== shape[depth]) {
      throw new Error(
        `${op}: ragged nested array: expected ${shape[depth]} elements at [${path.join(', ')}], got ` +
          (Array.isArray(v) ? String(v.length) : typeof v),
      );
    }
    for (let i = 0; i < v.length; i++) walk(v[i], depth + 1, [...path, i]);
  };
  walk(data, 0, []);
  if (sawBool && sawNumber) throw new TypeError(`${op}: mixes numbers and booleans`);
  let finalShape = shape;
  if (opts.shape) {
    finalShape = checkShape(op, opts.shape).slice();
    if (numelOf(finalShape) !== flat.length) {
      throw new Error(`${op}: shape ${shapeStr(finalShape)} needs ${numelOf(finalShape)} elements but the data has ${flat.length}`);
    }
  }
  const dtype = opts.dtype ?? (sawBool ? 'bool' : 'float32');
  return finish(fromFlat(op, flat, finalShape, dtype), opts, op);
}

/** A 0-d tensor holding one number. */
export function scalarTensor(value: number, dtype: DType): Tensor {
  return fillTensor(Tensor._empty([], dtype), value);
}

export function full(shape: number[], value: number | boolean, opts: CreateOptions = {}): Tensor {
  const op = 'full';
  const s = checkShape(op, shape).slice();
  const dtype = opts.dtype ? checkDType(op, opts.dtype) : typeof value === 'boolean' ? 'bool' : 'float32';
  if (typeof value !== 'number' && typeof value !== 'boolean') throw new TypeError(`${op}: fill value must be a number or boolean`);
  return finish(fillTensor(Tensor._empty(s, dtype, false, parseDevice(op, opts.device)), Number(value)), opts, op);
}


export function zeros(...args: unknown[]): Tensor {
  const { shape, opts } = parseShapeArgs('zeros', args);
  const dtype = opts.dtype ? checkDType('zeros', opts.dtype) : 'float32';
  return finish(Tensor._empty(shape, dtype, true, parseDevice('zeros', opts.device)), opts, 'zeros');
}
export function ones(...args: unknown[]): Tensor {
  const { shape, opts } = parseShapeArgs('ones', args);
  return full(shape, 1, { ...opts, dtype: opts.dtype ?? 'float32' });
}
/** Uninitialised memory (fast; contents are arbitrary). */
export function empty(...args: unknown[]): Tensor {
  const { shape, opts } = parseShapeArgs('empty', args);
  const dtype = opts.dtype ? checkDType('empty', opts.dtype) : 'float32';
  return finish(Tensor._empty(shape, dtype, false, parseDevice('empty', opts.device)), opts, 'empty');
}

export function zerosLike(t: Tensor, opts: CreateOptions = {}): Tensor {
  t._check('zerosLike');
  return zeros(t._shape.slice(), { dtype: t.dtype, device: t.device, ...opts });
}
export function onesLike(t: Tensor, opts: CreateOptions = {}): Tensor {
  t._check('onesLike');
  return ones(t._shape.slice(), { dtype: t.dtype, device: t.device, ...opts });
}
export function fullLike(t: Tensor, value: number | boolean, opts: CreateOptions = {}): Tensor {
  t._check('fullLike');
  return full(t._shape.slice(), value, { dtype: t.dtype, device: t.device, ...opts });
}
export function emptyLike(t: Tensor, opts: CreateOptions = {}): Tensor {
  t._check('emptyLike');
  return empty(t._shape.slice(), { dtype: t.dtype, device: t.device, ...opts });
}

/**
 * Values from start (inclusive) to end (exclusive) by step; arange(n) is 0..n-1. int32 when every
 * argument is an integer (as PyTorch gives an integer dtype), float32 otherwise.
 */
export function arange(start: number, end?: number, step = 1, opts: CreateOptions = {}): Tensor {
  const op = 'arange';
  if (end === undefined) {
    end = start;
    start = 0;
  }
  for (const v of [start, end, step]) if (typeof v !== 'number' || !Number.isFinite(v)) throw new TypeError(`${op}: arguments must be finite numbers`);
  if (step === 0) throw new RangeError(`${op}: step must be nonzero`);
  if ((end - start) / step < 0) throw new RangeError(`${op}: upper bound and larger bound inconsistent with step sign (start ${start}, end ${end}, step ${step})`);
  const n = Math.ceil((end - start) / step);
  if (n > 2 ** 31) throw new RangeError(`${op}: ${n} elements is too many`);
  const dtype = opts.dtype ?? ([start, end, step].every(Number.isInteger) ? 'int32' : 'float32');
  const vals = new Float64Array(n);
  for (let i = 0; i < n; i++) vals[i] = start + i * step;
  return finish(fromFlat(op, vals, [n], checkDType(op, dtype)), opts, op);
}

/** `steps` evenly spaced values from start to end inclusive. */
export function linspace(start: number, end: number, steps: number, opts: CreateOptions = {}): Tensor {
  const op = 'linspace';
  if (!Number.isInteger(steps) || steps < 0) throw new RangeError(`${op}: steps must be a non-negative integer, got ${steps}`);
  const vals = new Float64Array(steps);
  const step = steps > 1 ? (end - start) / (steps - 1) : 0;
  // PyTorch fills the second half from the end, so the last value is exactly `end`.
  const half = Math.floor(steps / 2);
  for (let i = 0; i < steps; i++) vals[i] = i < half ? start + i * step : end - (steps - 1 - i) * step;
  if (steps === 1) vals[0] = start; // one step is just `start`, as torch.linspace
  return finish(fromFlat(op, vals, [steps], checkDType(op, opts.dtype ?? 'float32')), opts, op);
}

/** Identity matrix n x m (m defaults to n). */
export function eye(n: number, m: number = n, opts: CreateOptions = {}): Tensor {
  const op = 'eye';
  checkShape(op, [n, m]);
  const t = zeros([n, m], { dtype: opts.dtype ?? 'float32', device: opts.device });
  const k = Math.min(n, m);
  if (k > 0) {
    const diag = t._view([k], [m + 1], 0);
    fillTensor(diag, 1);
    diag.dispose();
  }
  return finish(t, opts, op);
}
