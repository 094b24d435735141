// Pooling with PyTorch's arguments and autograd: maxPool1d/2d (with optional indices), avgPool1d/2d,
// adaptiveAvgPool2d and adaptiveMaxPool2d (whose backward is max pooling's scatter through the indices). The native kernels (native/kernels/pool.cpp) take 1 to 3 spatial dims, so
// the 1-D ops call them directly; unbatched inputs ([C, ...]) get a unit batch dim in the descriptor.
import { record } from '../autograd';
import { isFloating } from '../dtype';
import { callee, meta, metaNum, native } from '../native';
import { shapeStr } from '../shape';
import { Tensor } from '../tensor';
import { batchedDesc, checkTensor, put, tuple, type IntOrTuple } from './spatial';
import { empty } from './util';
import { halfOperand, viaFloat32 } from './half_fallback';

export interface MaxPoolOptions {
  /** Default: kernelSize. */
  stride?: IntOrTuple | null;
  padding?: IntOrTuple;
  dilation?: IntOrTuple;
  ceilMode?: boolean;
  /** Also return the int32 indices of the maxima (flat positions in each input plane). */
  returnIndices?: boolean;
}

export interface AvgPoolOptions {
  /** Default: kernelSize. */
  stride?: IntOrTuple | null;
  padding?: IntOrTuple;
  ceilMode?: boolean;
  /** Count padded zeros in the divisor (default true). */
  countIncludePad?: boolean;
  /** Divide every window by this instead (2-D only, as in PyTorch). */
  divisorOverride?: number | null;
}

const NAMES = [[], ['L'], ['H', 'W'], ['D', 'H', 'W']];

/** Validates a pooling input of ns spatial dims; returns whether it is unbatched. */
function checkInput(op: string, x: unknown, ns: number): boolean {
  const t = checkTensor(op, x, 'input');
  const names = NAMES[ns].join(', ');
  if (t.ndim !== ns + 1 && t.ndim !== ns + 2) {
    throw new Error(`${op}: expected a ${ns + 1}-D [C, ${names}] or ${ns + 2}-D [N, C, ${names}] input, got ${shapeStr(t._shape)}`);
  }
  if (!isFloating(t.dtype)) throw new TypeError(`${op}: expected a floating-point input, got ${t.dtype} (convert it with .float())`);
  const spatial = t._shape.slice(t.ndim - ns);
  if (spatial.some((s) => s === 0)) {
    throw new Error(`${op}: expected non-empty spatial dims [${names}], got input ${shapeStr(t._shape)}`);
  }
  return t.ndim === ns + 1;
}

interface PoolGeometry {
  kernel: number[];
  stride: number[];
  padding: number[];
  dilation: number[];
  ceilMode: boolean;
  outSize: number[];
}

function poolGeometry(
  op: string, ns: number, x: Tensor, kernelSize: unknown, stride: unknown, padding: unknown, dilation: unknown, ceilMode: unknown,
): PoolGeometry {
  const kernel = tuple(op, 'kernelSize', kernelSize, ns, 1);
  const s = stride === undefined || stride === null || (Array.isArray(stride) && stride.length === 0)
    ? kernel.slice()
    : tuple(op, 'stride', stride, ns, 1);
  const p = tuple(op, 'padding', padding ?? 0, ns, 0);
  const d = tuple(op, 'dilation', dilation ?? 1, ns, 1);
  const ceil = Boolean(ceilMode);
  if (p.some((v, i) => v > Math.floor(kernel[i] / 2))) {
    throw new Error(`${op}: padding ${shapeStr(p)} should be at most half of kernelSize ${shapeStr(kernel)}`);
  }
  const inSize = x._shape.slice(x.ndim - ns);
  const outSize = inSize.map((n, i) => {
    let o = Math.floor((n + 2 * p[i] - d[i] * (kernel[i] - 1) - 1 + (ceil ? s[i] - 1 : 0)) / s[i]) + 1;
    if (ceil && (o - 1) * s[i] >= n + p[i]) o--;
    return o;
  });
  if (outSize.some((o) => o < 1)) {
    throw new Error(
      `${op}: input ${shapeStr(x._shape)} is too small for kernelSize ${shapeStr(kernel)} (stride ${shapeStr(s)}, padding ` +
        `${shapeStr(p)}, dilation ${shapeStr(d)}): the output would be ${shapeStr(outSize)}`,
    );
  }
  return { kernel, stride: s, padding: p, dilation: d, ceilMode: ceil, outSize };
}

function outShapeOf(x: Tensor, ns: number, outSize: number[]): number[] {
  return [...x._shape.slice(0, x.ndim - ns), ...outSize];
}

function maxPoolNd(op: string, ns: number, input: Tensor, kernelSize: IntOrTuple, opts: MaxPoolOptions): [Tensor, Tensor] {
  const half = halfOperand(input);
  if (half) return viaFloat32(half, [input], (x) => maxPoolNd(op, ns, x, kernelSize, opts));
  const unbatched = checkInput(op, input, ns);
  const geo = poolGeometry(op, ns, input, kernelSize, opts.stride, opts.padding, opts.dilation, opts.ceilMode);
  const outShape = outShapeOf(input, ns, geo.outSize);
  const out = empty(outShape, input.dtype, input.device);
  const indices = empty(outShape.slice(), 'int32', input.device);
  if (out.numel() > 0) {
    meta();
    put(batchedDesc(out, unbatched));
    put(batchedDesc(indices, unbatched));
    put(batchedDesc(input, unbatched));
    metaNum(ns, ...geo.kernel, ...geo.stride, ...geo.padding, ...geo.dilation, geo.ceilMode ? 1 : 0);
    callee().maxPool();
  }
  recordMaxBackward(ns === 1 ? 'MaxPool1DWithIndicesBackward' : 'MaxPool2DWithIndicesBackward', out, indices, input, unbatched,
    ns, Boolean(opts.returnIndices));
  return [out, indices];
}

/**
 * The backward of a max pooling (plain or adaptive): g scattered into the input through the
 * indices of the maxima. Without a graph node, and when the caller did not ask for them, nobody
 * reads the indices: they are freed here.
 */
function recordMaxBackward(name: string, out: Tensor, indices: Tensor, input: Tensor, unbatched: boolean, ns: number,
  wantIndices: boolean): void {
  record(
    out,
    name,
    [input],
    (g) => {
      const dx = empty(input._shape.slice(), input.dtype, input.device);
      meta();
      put(batchedDesc(dx, unbatched));
      put(batchedDesc(g, unbatched));
      put(batchedDesc(indices, unbatched));
      metaNum(ns);
      callee().maxPoolBackward();
      return [dx];
    },
    wantIndices ? [indices] : [],
  );
  if (!out.gradFn && !wantIndices) indices.dispose();
}

function avgPoolNd(op: string, ns: number, input: Tensor, kernelSize: IntOrTuple, opts: AvgPoolOptions): Tensor {
  const half = halfOperand(input);
  if (half) return viaFloat32(half, [input], (x) => avgPoolNd(op, ns, x, kernelSize, opts));
  const unbatched = checkInput(op, input, ns);
  const geo = poolGeometry(op, ns, input, kernelSize, opts.stride, opts.padding, 1, opts.ceilMode);
  const cip = opts.countIncludePad ?? true;
  const div = opts.divisorOverride ?? 0;
  if (!Number.isInteger(div) || div < 0 || (opts.divisorOverride !== undefined && opts.divisorOverride !== null && div === 0)) {
    throw new RangeError(`${op}: divisorOverride must be a positive integer, got ${opts.divisorOverride}`);
  }
  const params = (): void => {
    metaNum(ns, ...geo.kernel, ...geo.stride, ...geo.padding, geo.ceilMode ? 1 : 0, cip ? 1 : 0, div);
  };
  const out = empty(outShapeOf(input, ns, geo.outSize), input.dtype, input.device);
  if (out.numel() > 0) {
    meta();
    put(batchedDesc(out, unbatched));
    put(batchedDesc(input, unbatched));
    params();
    callee().avgPool();
  }
  return record(out, ns === 1 ? 'AvgPool1DBackward' : 'AvgPool2DBackward', [input], (g) => {
    const dx = empty(input._shape.slice(), input.dtype, input.device);
    meta();
    put(batchedDesc(dx, unbatched));
    put(batchedDesc(g, unbatched));
    params();
    callee().avgPoolBackward();
    return [dx];
  });
}

/**
 * 2-D max pooling (PyTorch's F.max_pool2d) over [N, C, H, W] or [C, H, W]. kernelSize, stride
 * (default kernelSize), padding (at most half the kernel; padded positions never win) and dilation
 * take an int or [h, w]. With returnIndices, also returns the int32 flat indices h * W + w of the maxima.
 */
export function maxPool2d(input: Tensor, kernelSize: IntOrTuple, opts: MaxPoolOptions & { returnIndices: true }): [Tensor, Tensor];
export function maxPool2d(input: Tensor, kernelSize: IntOrTuple, opts?: MaxPoolOptions & { returnIndices?: false }): Tensor;
export function maxPool2d(input: Tensor, kernelSize: IntOrTuple, opts: MaxPoolOptions = {}): Tensor | [Tensor, Tensor] {
  const [out, indices] = maxPoolNd('maxPool2d', 2, input, kernelSize, opts);
  return opts.returnIndices ? [out, indices] : out;
}

/** 1-D max pooling (PyTorch's F.max_pool1d) over [N, C, L] or [C, L]; options as maxPool2d, ints. */
export function maxPool1d(input: Tensor, kernelSize: IntOrTuple, opts: MaxPoolOptions & { returnIndices: true }): [Tensor, Tensor];
export function maxPool1d(input: Tensor, kernelSize: IntOrTuple, opts?: MaxPoolOptions & { returnIndices?: false }): Tensor;
export function maxPool1d(input: Tensor, kernelSize: IntOrTuple, opts: MaxPoolOptions = {}): Tensor | [Tensor, Tensor] {
  const [out, indices] = maxPoolNd('maxPool1d', 1, input, kernelSize, opts);
  return opts.returnIndices ? [out, indices] : out;
}

/**
 * 2-D average pooling (PyTorch's F.avg_pool2d) over [N, C, H, W] or [C, H, W]: kernelSize, stride
 * (default kernelSize), padding, ceilMode, countIncludePad (default true), divisorOverride.
 */
export function avgPool2d(input: Tensor, kernelSize: IntOrTuple, opts: AvgPoolOptions = {}): Tensor {
  return avgPoolNd('avgPool2d', 2, input, kernelSize, opts);
}

/** 1-D average pooling (PyTorch's F.avg_pool1d) over [N, C, L] or [C, L]. */
export function avgPool1d(input: Tensor, kernelSize: IntOrTuple, opts: Omit<AvgPoolOptions, 'divisorOverride'> = {}): Tensor {
  return avgPoolNd('avgPool1d', 1, input, kernelSize, { ...opts, divisorOverride: undefined });
}

/** An adaptive pool's output size: an int for every dim, or a list where null keeps the input's size. */
function adaptiveOutSize(op: string, input: Tensor, ns: number, outputSize: unknown): number[] {
  const inSize = input._shape.slice(input.ndim - ns);
  const list = typeof outputSize === 'number' ? new Array<unknown>(ns).fill(outputSize) : Array.isArray(outputSize) ? [...outputSize] : null;
  if (!list || list.length !== ns || !list.every((v) => v === null || (Number.isInteger(v) && (v as number) >= 1))) {
    throw new RangeError(`${op}: outputSize must be a positive integer or a list of ${ns} (positive integers or null), got ${JSON.stringify(outputSize)}`);
  }
  return list.map((v, i) => (v === null ? inSize[i] : (v as number)));
}

/**
 * 2-D adaptive average pooling (PyTorch's F.adaptive_avg_pool2d) to outputSize (an int, or [h, w]
 * where null keeps that input size): output cell i along a dim of size n averages inputs
 * floor(i * n / out) to ceil((i + 1) * n / out) - 1.
 */
export function adaptiveAvgPool2d(input: Tensor, outputSize: number | readonly (number | null)[]): Tensor {
  const op = 'adaptiveAvgPool2d', ns = 2;
  const half = halfOperand(input);
  if (half) return viaFloat32(half, [input], (x) => adaptiveAvgPool2d(x, outputSize));
  const unbatched = checkInput(op, input, ns);
  const outSize = adaptiveOutSize(op, input, ns, outputSize);
  const out = empty(outShapeOf(input, ns, outSize), input.dtype, input.device);
  if (out.numel() > 0) {
    meta();
    put(batchedDesc(out, unbatched));
    put(batchedDesc(input, unbatched));
    metaNum(ns);
    callee().adaptiveAvgPool(false);
  }
  return record(out, 'AdaptiveAvgPool2DBackward', [input], (g) => {
    const dx = empty(input._shape.slice(), input.dtype, input.device);
    meta();
    put(batchedDesc(dx, unbatched));
    put(batchedDesc(g, unbatched));
    metaNum(ns);
    callee().adaptiveAvgPool(true);
    return [dx];
  });
}

/**
 * 2-D adaptive max pooling (PyTorch's F.adaptive_max_pool2d) to outputSize (an int, or [h, w] where
 * null keeps that input size): output cell i along a dim of size n takes the max of inputs
 * floor(i * n / out) to ceil((i + 1) * n / out) - 1 (NaN wins). With returnIndices, also returns
 * the int32 flat indices h * W + w of the maxima, as maxPool2d does; the gradient goes to them.
 */
export function adaptiveMaxPool2d(input: Tensor, outputSize: number | readonly (number | null)[], opts: { returnIndices: true }): [Tensor, Tensor];
export function adaptiveMaxPool2d(input: Tensor, outputSize: number | readonly (number | null)[], opts?: { returnIndices?: false }): Tensor;
export function adaptiveMaxPool2d(input: Tensor, outputSize: number | readonly (number | null)[], opts: { returnIndices?: boolean } = {}): Tensor | [Tensor, Tensor] {
  const [out, indices] = adaptiveMaxPoolNd('adaptiveMaxPool2d', 2, input, outputSize, Boolean(opts.returnIndices));
  return opts.returnIndices ? [out, indices] : out;
}

function adaptiveMaxPoolNd(op: string, ns: number, input: Tensor, outputSize: unknown, wantIndices: boolean): [Tensor, Tensor] {
  const half = halfOperand(input);
  if (half) return viaFloat32(half, [input], (x) => adaptiveMaxPoolNd(op, ns, x, outputSize, wantIndices));
  const unbatched = checkInput(op, input, ns);
  const outShape = outShapeOf(input, ns, adaptiveOutSize(op, input, ns, outputSize));
  const out = empty(outShape, input.dtype, input.device);
  const indices = empty(outShape.slice(), 'int32', input.device);
  if (out.numel() > 0) {
    meta();
    put(batchedDesc(out, unbatched));
    put(batchedDesc(indices, unbatched));
    put(batchedDesc(input, unbatched));
    metaNum(ns);
    callee().adaptiveMaxPool();
  }
  recordMaxBackward('AdaptiveMaxPool2DBackward', out, indices, input, unbatched, ns, wantIndices);
  return [out, indices];
}
