// conv1d / conv2d as im2col + GEMM, with PyTorch's arguments (stride, padding incl. 'same' and
// 'valid', dilation, groups) and autograd.
//
//   cols[n]  [C*K, L]   = im2col(x[n])            K = prod(kernel), L = prod(output spatial)
//   out[n, g]           = W[g] @ cols[n, g]       W[g]: [outC/G, C/G*K]; one batched GEMM call
//   backward:  dcols[n, g] = W[g]^T @ gOut[n, g],  dx = col2im(dcols)   (accumulating adjoint)
//              dW[g] = sum_n gOut[n, g] @ cols[n, g]^T (one batch-reduce GEMM), db = sum of gOut over
//              batch and space
//
// The algorithm is picked per shape: 1x1 convolutions with stride 1 and no padding skip im2col
// (the input already is its columns); depthwise layers and the stride-1 layers of useDirect have
// direct kernels; other layers with at least FOLD_BELOW_COLUMNS output positions per image run the
// same products a tile of output rows at a time inside one native call (convImplicit; on the CPU
// conv_tiled.cpp), so the columns never leave L2; smaller ones fold a chunk's images into one
// GEMM. Where this file runs the GEMMs itself, the batch goes in chunks that bound the column
// buffer; a small column buffer is kept from the forward for the weight gradient (the backward
// frees it, and reuses it for the input gradient's columns); larger ones are recomputed. An
// `activation` option is applied by whichever forward kernel runs, as it stores the output (the GEMM
// paths through the GEMM's epilogue), and ReLU's backward masks gOut by the output first.
import { needsGrad, record } from '../autograd';
import { isFloating } from '../dtype';
import { deviceHas } from '../backend';
import { callee, meta, metaNum, native, UnaryOp } from '../native';
import { shapeStr } from '../shape';
import { Tensor } from '../tensor';
import {
  batchedDesc, checkTensor, chunkDesc, denseDesc, prod, put, tuple, type Desc, type IntOrTuple,
} from './spatial';
import { empty } from './util';
import { contiguousRaw } from './views';
import { halfOperand, viaFloat32 } from './half_fallback';
import { ACTIVATION_CODE, activationOption, applyActivation, type Activation } from './activation';
import { unaryGrad } from './unary';

export type ConvPadding = IntOrTuple | 'same' | 'valid';

export interface ConvOptions {
  stride?: IntOrTuple;
  /** Zero padding on both sides of each spatial dim, or 'valid' (none) or 'same' (output size = input size; stride 1 only). */
  padding?: ConvPadding;
  dilation?: IntOrTuple;
  groups?: number;
  /**
   * An activation applied to the output (after the bias): 'relu', 'gelu', 'gelu-tanh' or 'silu'.
   * The forward kernels apply it as they write each tile or plane of the output, so no second pass
   * and no intermediate tensor; ReLU's backward masks the gradient with the output. GELU and SiLU,
   * whose backwards need the pre-activation, run as the convolution then the op when a gradient is
   * wanted (as linear does).
   */
  activation?: Activation | null;
}

/** Elements of column buffer per chunk of the batch (32 MiB of float32). */
/** Output positions per image below which a chunk's images share one GEMM (see `folded`). */
const FOLD_BELOW_COLUMNS = 256;

let chunkElements = 1 << 23;
/** Column buffers up to this size are kept from the forward for the weight gradient (16 MiB of float32). */
const KEEP_COLS_ELEMENTS = 1 << 22;
export type ConvAlgorithm = 'auto' | 'im2col' | 'direct' | 'tiled';
let algorithm: ConvAlgorithm = 'auto';
/**
 * @internal For tests and benchmarks: forces the direct kernel (where its geometry allows), im2col +
 * GEMM over whole images, or im2col + GEMM a tile of output rows at a time (the CPU's implicit GEMM)
 * instead of the per-shape choice; returns the previous setting. 1x1 and depthwise layers keep
 * their own paths.
 */
export function _setConvAlgorithm(a: ConvAlgorithm): ConvAlgorithm {
  const prev = algorithm;
  algorithm = a;
  return prev;
}

/**
 * The direct kernels (native/kernels/conv_direct.cpp, conv_direct_oc.cpp) take 1-D/2-D convolutions
 * with stride 1 and no dilation. They win where im2col + GEMM is worst: few input channels per group
 * (a GEMM with a tiny K dimension, and a column buffer KH*KW times the input, written and read back
 * through memory) and rows long enough to fill vectors. And for 3x3 layers of one group whose input
 * and output channels fill whole vectors (ResNet's), the lanes-over-channels kernels compute the
 * forward and both gradients from the padded input itself, with no column buffer and no packing.
 */
function useDirect(ns: number, C: number, Cg: number, outC: number, kernel: number[], stride: number[],
  dilation: number[], outSize: number[]): boolean {
  // (No input channels: nothing for a direct kernel to do; the GEMM paths give the bias.)
  if (ns > 2 || Cg === 0 || stride.some((s) => s !== 1) || dilation.some((d) => d !== 1) || algorithm === 'im2col' || algorithm === 'tiled') return false;
  if (algorithm === 'direct') return true;
  if (Cg <= 8 && outSize[outSize.length - 1] >= 8 && kernel[kernel.length - 1] <= 16) return true;
  return ns === 2 && Cg === C && C % 16 === 0 && outC % 32 === 0 && kernel.every((k) => k === 3);
}

/** @internal For tests: sets the column-buffer budget per batch chunk; returns the previous one. */
export function _setConvChunkElements(n: number): number {
  const prev = chunkElements;
  chunkElements = n;
  return prev;
}

export interface Geometry {
  ns: number;
  kernel: number[];
  stride: number[];
  padBefore: number[];
  padAfter: number[];
  dilation: number[];
  inSize: number[];
  outSize: number[];
}

function geometryMeta(g: Geometry): void {
  metaNum(g.ns, ...g.kernel, ...g.stride, ...g.padBefore, ...g.padAfter, ...g.dilation);
}

/** C = alpha * A @ B + beta * C, then activation `act` (an ACTIVATION_CODE, 0: none) on each tile of C as the kernel writes it. */
export function gemm(c: Desc, a: Desc, b: Desc, alpha: number, beta: number, act = 0): void {
  meta();
  put(c);
  put(a);
  put(b);
  if (act === 0) {
    metaNum(alpha, beta);
    callee().gemm();
  } else {
    metaNum(alpha, beta, 0, 0, act); // no bias (biasDim 0), then the activation
    callee().gemmEpilogue();
  }
}

export function im2col(cols: Desc, x: Desc, g: Geometry): void {
  meta();
  put(cols);
  put(x);
  geometryMeta(g);
  callee().im2col();
}

/**
 * out = act(conv(x, w) + bias) by the direct kernel (act: an ACTIVATION_CODE); with `adjoint`, the
 * input gradient: x is the output gradient, out the input gradient, w the forward's weight and g
 * the adjoint's geometry.
 */
function convDirect(out: Desc, x: Desc, w: Tensor, bias: Tensor | null, g: Geometry, groups: number, adjoint = false, act = 0): void {
  convOperands(out, x, w, bias, g, groups);
  metaNum(adjoint ? 1 : 0, act);
  callee().convDirect();
}

// What convDirect, convDepthwise and convImplicit read first: y, x, w, hasBias, [bias], geometry, groups.
function convOperands(y: Desc, x: Desc, w: Tensor, bias: Tensor | null, g: Geometry, groups: number): void {
  meta();
  put(y);
  put(x);
  w._meta();
  metaNum(bias ? 1 : 0);
  if (bias) bias._meta();
  geometryMeta(g);
  metaNum(groups);
}

/**
 * The input gradient of a stride-1 convolution is the output gradient convolved with the flipped,
 * channel-swapped weight, padded by kernel - 1 - padding on each side: its geometry, or null when
 * the padding exceeds kernel - 1 (then im2col's adjoint serves).
 */
function adjointGeometry(g: Geometry): Geometry | null {
  const padBefore = g.kernel.map((k, i) => k - 1 - g.padBefore[i]);
  const padAfter = g.kernel.map((k, i) => k - 1 - g.padAfter[i]);
  if (padBefore.some((p) => p < 0) || padAfter.some((p) => p < 0)) return null;
  return { ...g, padBefore, padAfter, inSize: g.outSize, outSize: g.inSize };
}

/**
 * One pass of a kernel that sees the whole convolution (native/binding.cpp read_conv_pass):
 * convDepthwise (one filter per channel) or convImplicit (implicit GEMM: CUDA's, the CPU's tiles). y is output-shaped,
 * x input-shaped, w weight-shaped; mode 0 writes y = act(conv(x, w) + bias) (act: an
 * ACTIVATION_CODE), 1 writes x = the input gradient from y = gOut, 2 writes w = the weight gradient
 * from x and y = gOut.
 */
function convPass(entry: 'convDepthwise' | 'convImplicit', mode: 0 | 1 | 2, y: Desc, x: Desc, w: Tensor, bias: Tensor | null,
  g: Geometry, groups: number, act = 0): void {
  convOperands(y, x, w, bias, g, groups);
  metaNum(act);
  callee()[entry](mode);
}

/** The depthwise backward in one call: each of dx, dW and dB that is given (native conv_depthwise_backward). */
function convDepthwiseBackward(gOut: Desc, x: Desc, w: Tensor, dx: Desc | null, dW: Tensor | null, dB: Tensor | null,
  g: Geometry, groups: number): void {
  meta();
  put(gOut);
  put(x);
  w._meta();
  metaNum(dx ? 1 : 0);
  if (dx) put(dx);
  metaNum(dW ? 1 : 0);
  if (dW) dW._meta();
  metaNum(dB ? 1 : 0);
  if (dB) dB._meta();
  geometryMeta(g);
  metaNum(groups);
  callee().convDepthwiseBackward();
}

function convDirectWeightGrad(dW: Tensor, x: Desc, gOut: Desc, g: Geometry, groups: number): void {
  meta();
  dW._meta();
  put(x);
  put(gOut);
  geometryMeta(g);
  metaNum(groups);
  callee().convDirectWeightGrad();
}

// dB = gOut summed per channel.
function convBiasGrad(dB: Tensor, gOut: Desc, ns: number): void {
  meta();
  dB._meta();
  put(gOut);
  metaNum(ns);
  callee().convBiasGrad();
}

export function col2im(dx: Desc, cols: Desc, g: Geometry): void {
  meta();
  put(dx);
  put(cols);
  geometryMeta(g);
  callee().col2im();
}

/** The single stride that walks the spatial dims of x (batched descriptor) as one flat dim, or null. */
export function flatSpatialStride(x: Desc): number | null {
  let stride: number | null = null, expected = 0;
  for (let d = x.shape.length - 1; d >= 2; d--) {
    if (x.shape[d] === 1) continue;
    if (stride === null) {
      stride = x.strides[d];
      expected = stride * x.shape[d];
    } else {
      if (x.strides[d] !== expected) return null;
      expected *= x.shape[d];
    }
  }
  return stride ?? 1;
}

function convNd(op: string, ns: number, input: Tensor, weight: Tensor, bias: Tensor | null | undefined, opts: ConvOptions): Tensor {
  checkTensor(op, input, 'input');
  checkTensor(op, weight, 'weight');
  if (bias !== null && bias !== undefined) checkTensor(op, bias, 'bias');
  else bias = null;
  const half = halfOperand(input, weight, bias);
  if (half) return viaFloat32(half, [input, weight, bias], (x, w, b) => convNd(op, ns, x, w, b, opts));
  const names = ns === 1 ? ['L'] : ns === 2 ? ['H', 'W'] : ['D', 'H', 'W'];
  if (!isFloating(input.dtype)) {
    throw new TypeError(`${op}: expected a floating-point input, got ${input.dtype} (convert it with .float())`);
  }
  if (weight.dtype !== input.dtype || (bias && bias.dtype !== input.dtype)) {
    throw new TypeError(
      `${op}: input (${input.dtype}), weight (${weight.dtype})${bias ? ` and bias (${bias.dtype})` : ''} must have the same dtype`,
    );
  }
  if (weight.ndim !== ns + 2) {
    throw new Error(`${op}: expected weight [outC, inC / groups, ${names.map((n) => 'k' + n).join(', ')}], got ${shapeStr(weight._shape)}`);
  }
  const groups = opts.groups ?? 1;
  if (!Number.isInteger(groups) || groups < 1) throw new RangeError(`${op}: groups must be a positive integer, got ${groups}`);
  const unbatched = input.ndim === ns + 1;
  if (!unbatched && input.ndim !== ns + 2) {
    throw new Error(
      `${op}: expected a ${ns + 1}-D (unbatched [C, ${names.join(', ')}]) or ${ns + 2}-D (batched [N, C, ${names.join(', ')}]) ` +
        `input, got ${shapeStr(input._shape)}`,
    );
  }
  const x = batchedDesc(input, unbatched);
  const [N, C] = x.shape;
  const outC = weight._shape[0], Cg = weight._shape[1];
  const kernel = weight._shape.slice(2);
  if (outC % groups !== 0) {
    throw new Error(`${op}: weight ${shapeStr(weight._shape)} has ${outC} output channels, which is not divisible by groups ${groups}`);
  }
  if (C !== Cg * groups) {
    const layout = unbatched ? `[C, ${names.join(', ')}]` : `[N, C, ${names.join(', ')}]`;
    throw new Error(
      `${op}: expected input ${layout} with C = ${Cg * groups} (weight ${shapeStr(weight._shape)}, groups ${groups}), ` +
        `got ${shapeStr(input._shape)}`,
    );
  }
  if (kernel.some((k) => k < 1)) throw new Error(`${op}: weight ${shapeStr(weight._shape)} has an empty kernel`);
  if (bias && (bias.ndim !== 1 || bias._shape[0] !== outC)) {
    throw new Error(`${op}: expected bias [${outC}] (one per output channel of weight ${shapeStr(weight._shape)}), got ${shapeStr(bias._shape)}`);
  }
  const act = activationOption(op, opts.activation);
  const stride = tuple(op, 'stride', opts.stride ?? 1, ns, 1);
  const dilation = tuple(op, 'dilation', opts.dilation ?? 1, ns, 1);
  const inSize = x.shape.slice(2);
  let padBefore: number[], padAfter: number[];
  const padding = opts.padding ?? 0;
  if (padding === 'valid') {
    padBefore = new Array<number>(ns).fill(0);
    padAfter = padBefore.slice();
  } else if (padding === 'same') {
    if (stride.some((s) => s !== 1)) {
      throw new Error(`${op}: padding 'same' is not supported for strided convolutions (stride ${shapeStr(stride)})`);
    }
    // PyTorch's split: the odd element of the total padding goes after.
    const total = kernel.map((k, i) => dilation[i] * (k - 1));
    padBefore = total.map((t) => Math.floor(t / 2));
    padAfter = total.map((t, i) => t - padBefore[i]);
  } else {
    padBefore = tuple(op, 'padding', padding, ns, 0);
    padAfter = padBefore.slice();
  }
  const outSize = inSize.map((n, i) => {
    const span = n + padBefore[i] + padAfter[i] - dilation[i] * (kernel[i] - 1) - 1;
    if (span < 0) {
      throw new Error(
        `${op}: kernel ${shapeStr(kernel)} (dilation ${shapeStr(dilation)}) is larger than the padded input ` +
          `${shapeStr(inSize.map((s, j) => s + padBefore[j] + padAfter[j]))} (input ${shapeStr(input._shape)})`,
      );
    }
    return Math.floor(span / stride[i]) + 1;
  });
  const g: Geometry = { ns, kernel, stride, padBefore, padAfter, dilation, inSize, outSize };

  const dt = input.dtype;
  // The activation goes into the forward kernels' stores unless a gradient is wanted through GELU
  // or SiLU (their backwards need the pre-activation: then the op runs after, as for linear).
  const fuseAct = act !== null && (act === 'relu' || !needsGrad(input, weight, ...(bias ? [bias] : []))) &&
    deviceHas(input.device, 'gemmEpilogue');
  const actCode = fuseAct ? ACTIVATION_CODE[act!] : 0;
  const G = groups, Mg = outC / G, K = prod(kernel), Kg = Cg * K, L = prod(outSize);
  const outShape = unbatched ? [outC, ...outSize] : [N, outC, ...outSize];
  const out = empty(outShape, dt, input.device);
  const oneByOne = kernel.every((k) => k === 1) && stride.every((s) => s === 1) && padBefore.every((p) => p === 0) &&
    padAfter.every((p) => p === 0);
  const flat = oneByOne ? flatSpatialStride(x) : null;
  const direct = flat !== null;
  // Depthwise (one filter per channel): its own kernel, which needs no column buffer for any stride.
  const depthwise = !direct && ns <= 2 && groups === C && outC === C && Cg === 1 && algorithm !== 'im2col' &&
    deviceHas(input.device, 'convDepthwise');
  const directConv = !direct && !depthwise && deviceHas(input.device, 'convDirect') &&
    useDirect(ns, C, Cg, outC, kernel, stride, dilation, outSize);
  // Convolution as implicit GEMM needs no column buffer for the batch: CUDA computes the columns in
  // the GEMM's tile loader; the CPU (conv_tiled.cpp) writes them a tile of output rows at a time,
  // where they stay in L2, and runs the GEMM on the tile. The CPU takes it for the layers no direct
  // kernel does whose images have enough output positions to fill a GEMM's columns (below that,
  // `folded` gives a chunk's images one GEMM).
  const implicit = !direct && !depthwise && !directConv && algorithm !== 'im2col' && deviceHas(input.device, 'convImplicit') &&
    (input.device !== 'cpu' || algorithm === 'tiled' || (algorithm === 'auto' && L >= FOLD_BELOW_COLUMNS));
  // Few output positions per image (a late ResNet stage: 7x7 = 49) make per-image GEMMs narrow and
  // their packing dominant. There the images of a chunk are folded into the GEMM's columns instead:
  // im2col writes the columns as [C*K, nb*L] (through its strides), one GEMM per group spans nb*L
  // columns, and the output and its gradient pass through an [outC, nb*L] buffer.
  const folded = !direct && !directConv && !depthwise && !implicit && L < FOLD_BELOW_COLUMNS && N > 1;
  const perImage = C * K * L + outC * Kg + (folded ? outC * L : 0);
  const chunk = Math.max(1, Math.min(N, Math.floor(chunkElements / Math.max(perImage, 1))));
  // The folded layout of `cols` for nb images: im2col's [nb, C*K, L] view, and per-group matrices.
  const foldedIm2col = (cols: Tensor, nb: number): Desc => ({ t: cols, offset: cols._offset, shape: [nb, C * K, L], strides: [L, nb * L, 1] });
  const foldedMatrix = (t: Tensor, rows: number, nb: number, transposed = false): Desc =>
    transposed
      ? { t, offset: t._offset, shape: [G, nb * L, rows], strides: [rows * nb * L, 1, nb * L] }
      : { t, offset: t._offset, shape: [G, rows, nb * L], strides: [rows * nb * L, nb * L, 1] };
  // Images [n0, n0 + nb) of a [N, outC, L] tensor, and the same elements of an [outC, nb*L] buffer.
  const imagesOf = (t: Tensor, n0: number, nb: number): Desc => denseDesc(t, [nb, outC, L], n0 * outC * L);
  const foldedImages = (buf: Tensor, nb: number): Desc => ({ t: buf, offset: buf._offset, shape: [nb, outC, L], strides: [L, nb * L, 1] });
  const copyDesc = (dst: Desc, src: Desc): void => {
    meta();
    put(dst);
    put(src);
    callee().copy();
  };

  // Columns of images [n0, n0 + nb) as [nb, G, Kg, L] (transposed: [nb, G, L, Kg]); `cols` is the
  // buffer im2col fills unless it already holds them (unused when direct).
  const colsOf = (cols: Tensor | null, n0: number, nb: number, transposed: boolean, filled = false): Desc => {
    if (direct) {
      const sN = x.strides[0], sC = x.strides[1], sL = flat!;
      const offset = x.offset + n0 * sN;
      return transposed
        ? { t: input, offset, shape: [nb, G, L, Kg], strides: [sN, Kg * sC, sL, sC] }
        : { t: input, offset, shape: [nb, G, Kg, L], strides: [sN, Kg * sC, sC, sL] };
    }
    if (!filled) im2col(denseDesc(cols!, [nb, C * K, L]), chunkDesc(x, n0, nb), g);
    return transposed
      ? { t: cols!, offset: cols!._offset, shape: [nb, G, L, Kg], strides: [C * K * L, Kg * L, 1, L] }
      : denseDesc(cols!, [nb, G, Kg, L]);
  };
  const weightOf = (w: Tensor, nb: number, transposed: boolean): Desc =>
    transposed
      ? { t: w, offset: w._offset, shape: [nb, G, Kg, Mg], strides: [0, Mg * Kg, 1, Kg] }
      : { t: w, offset: w._offset, shape: [nb, G, Mg, Kg], strides: [0, Mg * Kg, Kg, 1] };

  let savedCols: Tensor | null = null;
  if (out.numel() > 0 && (implicit || depthwise)) {
    const w = weight.isContiguous() ? weight : contiguousRaw(weight);
    const b = bias && !bias.isContiguous() ? contiguousRaw(bias) : bias;
    try {
      convPass(implicit ? 'convImplicit' : 'convDepthwise', 0, batchedDesc(out, unbatched), x, w, b, g, groups, actCode);
    } finally {
      if (w !== weight) w.dispose();
      if (b !== bias) b?.dispose();
    }
  } else if (out.numel() > 0 && directConv) {
    const w = weight.isContiguous() ? weight : contiguousRaw(weight);
    const b = bias && !bias.isContiguous() ? contiguousRaw(bias) : bias;
    try {
      convDirect(batchedDesc(out, unbatched), x, w, b, g, groups, false, actCode);
    } finally {
      if (w !== weight) w.dispose();
      if (b !== bias) b?.dispose();
    }
  } else if (out.numel() > 0 && folded) {
    const w = weight.isContiguous() ? weight : contiguousRaw(weight);
    const cols = empty([C * K, Math.min(chunk, N) * L], dt, input.device);
    const buf = empty([outC, Math.min(chunk, N) * L], dt, input.device);
    if (chunk >= N && cols.numel() <= KEEP_COLS_ELEMENTS && needsGrad(weight)) savedCols = cols;
    try {
      for (let n0 = 0; n0 < N; n0 += chunk) {
        const nb = Math.min(chunk, N - n0);
        const o = foldedMatrix(buf, Mg, nb);
        if (bias) {
          const bs = bias._strides[0];
          copyDesc(o, { t: bias, offset: bias._offset, shape: [G, Mg, nb * L], strides: [Mg * bs, bs, 0] });
        }
        im2col(foldedIm2col(cols, nb), chunkDesc(x, n0, nb), g);
        gemm(o, { t: w, offset: w._offset, shape: [G, Mg, Kg], strides: [Mg * Kg, Kg, 1] }, foldedMatrix(cols, Kg, nb), 1,
          bias ? 1 : 0, actCode);
        copyDesc(imagesOf(out, n0, nb), foldedImages(buf, nb));
      }
    } finally {
      if (cols !== savedCols) cols.dispose();
      buf.dispose();
      if (w !== weight) w.dispose();
    }
  } else if (out.numel() > 0) {
    const w = weight.isContiguous() ? weight : contiguousRaw(weight);
    const cols = direct ? null : empty([Math.min(chunk, N), C * K, L], dt, input.device);
    if (cols && chunk >= N && cols.numel() <= KEEP_COLS_ELEMENTS && needsGrad(weight)) savedCols = cols;
    try {
      for (let n0 = 0; n0 < N; n0 += chunk) {
        const nb = Math.min(chunk, N - n0);
        const o = denseDesc(out, [nb, G, Mg, L], n0 * outC * L);
        if (bias) {
          const bs = bias._strides[0];
          meta();
          put(o);
          put({ t: bias, offset: bias._offset, shape: [nb, G, Mg, L], strides: [0, Mg * bs, bs, 0] });
          callee().copy();
        }
        gemm(o, weightOf(w, nb, false), colsOf(cols, n0, nb, false), 1, bias ? 1 : 0, actCode);
      }
    } finally {
      if (cols !== savedCols) cols?.dispose();
      if (w !== weight) w.dispose();
    }
  }

  const inputs = bias ? [input, weight, bias] : [input, weight];
  const fusedRelu = fuseAct && act === 'relu';
  const y = record(
    out,
    fusedRelu ? 'ConvolutionReluBackward' : 'ConvolutionBackward',
    inputs,
    (gOut) => {
      // Through the fused ReLU: the gradient where the output is positive (relu's own backward,
      // one native pass; the output is positive exactly where the pre-activation is).
      const gm = fusedRelu ? unaryGrad(UnaryOp.Relu, gOut, out, out) : gOut;
      const gc = gm.isContiguous() ? gm : contiguousRaw(gm);
      const w = weight.isContiguous() ? weight : contiguousRaw(weight);
      const needX = input.requiresGrad, needW = weight.requiresGrad, needB = bias !== null && bias.requiresGrad;
      const adjoint = directConv && needX ? adjointGeometry(g) : null;
      // col2im accumulates into dx, so that path needs it zeroed.
      const dx = needX ? Tensor._empty(input._shape.slice(), dt, !direct && !adjoint && !depthwise && !implicit, input.device) : null;
      const dW = needW ? empty(weight._shape.slice(), dt, input.device) : null;
      const dB = needB ? empty([outC], dt, input.device) : null;
      const temps: Tensor[] = [];
      try {
        if (depthwise && deviceHas(input.device, 'convDepthwiseBackward')) {
          // All three gradients in one pass over gOut and x.
          if (needX || needW || needB)
            convDepthwiseBackward(batchedDesc(gc, unbatched), x, w, dx ? batchedDesc(dx, unbatched) : null, dW, dB, g, groups);
          return bias ? [dx, dW, dB] : [dx, dW];
        }
        // dB: a native per-channel sum of gOut where the device has one (one pass, one call), else
        // a vector of ones: sums as matrix-vector products (the GEMM entry point's unpacked path).
        const dBsum = dB !== null && deviceHas(input.device, 'convBiasGrad');
        if (dB && dBsum) convBiasGrad(dB, batchedDesc(gc, unbatched), ns);
        const ones = needB && !dBsum ? empty([Math.max(L, N)], dt, input.device) : null;
        if (ones) {
          temps.push(ones);
          meta();
          ones._meta();
          metaNum(1);
          callee().fill();
        }
        if (dB && !dBsum) {
          // dB = ones[1, N] @ (gOut[N * outC, L] @ ones[L, 1]) viewed as [N, outC].
          const rows = empty([N * outC, 1], dt, input.device);
          temps.push(rows);
          gemm(denseDesc(rows, [N * outC, 1]), denseDesc(gc, [N * outC, L]), denseDesc(ones!, [L, 1]), 1, 0);
          gemm(denseDesc(dB, [1, outC]), denseDesc(ones!, [1, N]), denseDesc(rows, [N, outC]), 1, 0);
        }
        if (dW && directConv && gc.numel() > 0) convDirectWeightGrad(dW, x, batchedDesc(gc, unbatched), g, groups);
        if (dx && adjoint && gc.numel() > 0) convDirect(batchedDesc(dx, unbatched), batchedDesc(gc, unbatched), w, null, adjoint, groups, true);
        if ((implicit || depthwise) && (needX || needW) && gc.numel() > 0) {
          const entry = implicit ? 'convImplicit' : 'convDepthwise';
          if (dx) convPass(entry, 1, batchedDesc(gc, unbatched), batchedDesc(dx, unbatched), w, null, g, groups);
          if (dW) convPass(entry, 2, batchedDesc(gc, unbatched), x, dW, null, g, groups);
        } else if (folded && (needX || needW) && gc.numel() > 0) {
          let filled = savedCols !== null;
          const cols = savedCols ?? empty([C * K, Math.min(chunk, N) * L], dt, input.device);
          savedCols = null;
          temps.push(cols);
          const gbuf = empty([outC, Math.min(chunk, N) * L], dt, input.device);
          temps.push(gbuf);
          for (let n0 = 0; n0 < N; n0 += chunk) {
            const nb = Math.min(chunk, N - n0);
            copyDesc(foldedImages(gbuf, nb), imagesOf(gc, n0, nb));
            const gm = foldedMatrix(gbuf, Mg, nb);
            if (dW) {
              // dW[g] (+)= gOut[g] [Mg, nb*L] @ cols[g]^T [nb*L, Kg]: the chunk's images in one product.
              if (!filled) im2col(foldedIm2col(cols, nb), chunkDesc(x, n0, nb), g);
              gemm({ t: dW, offset: dW._offset, shape: [G, Mg, Kg], strides: [Mg * Kg, Kg, 1] }, gm, foldedMatrix(cols, Kg, nb, true), 1, n0 === 0 ? 0 : 1);
            }
            if (dx) {
              gemm(foldedMatrix(cols, Kg, nb), { t: w, offset: w._offset, shape: [G, Kg, Mg], strides: [Mg * Kg, 1, Kg] }, gm, 1, 0);
              col2im(chunkDesc(batchedDesc(dx, unbatched), n0, nb), foldedIm2col(cols, nb), g);
            }
            filled = false;
          }
        } else if (((needX && !adjoint) || (needW && !directConv)) && gc.numel() > 0) {
          // The forward's columns when kept (then freed here; a second backward recomputes them).
          let filled = savedCols !== null;
          const cols = direct ? null : savedCols ?? empty([Math.min(chunk, N), C * K, L], dt, input.device);
          savedCols = null;
          if (cols) temps.push(cols);
          for (let n0 = 0; n0 < N; n0 += chunk) {
            const nb = Math.min(chunk, N - n0);
            const go = denseDesc(gc, [nb, G, Mg, L], n0 * outC * L);
            if (dW && !directConv) {
              // dW[g] (+)= sum over the chunk's images of gOut[n, g] @ cols[n, g]^T: one batch-reduce
              // GEMM, its output's stride 0 over n asking the kernel for the sum.
              const colsT = colsOf(cols, n0, nb, true, filled);
              const dWsum: Desc = { t: dW, offset: dW._offset, shape: [nb, G, Mg, Kg], strides: [0, Mg * Kg, Kg, 1] };
              gemm(dWsum, go, colsT, 1, n0 === 0 ? 0 : 1);
            }
            if (dx && !adjoint) {
              if (direct) {
                gemm(denseDesc(dx, [nb, G, Kg, L], n0 * C * L), weightOf(w, nb, true), go, 1, 0);
              } else {
                const dcols = denseDesc(cols!, [nb, G, Kg, L]);
                gemm(dcols, weightOf(w, nb, true), go, 1, 0);
                col2im(chunkDesc(batchedDesc(dx, unbatched), n0, nb), denseDesc(cols!, [nb, C * K, L]), g);
              }
            }
            filled = false;
          }
        } else if (gc.numel() === 0) {
          // Nothing to multiply (an empty batch or output): the gradients are zero.
          for (const t of [dx, dW]) {
            if (!t) continue;
            meta();
            t._meta();
            metaNum(0);
            callee().fill();
          }
        }
      } finally {
        for (const t of temps) t.dispose();
        if (gc !== gm) gc.dispose();
        if (gm !== gOut) gm.dispose();
        if (w !== weight) w.dispose();
      }
      return bias ? [dx, dW, dB] : [dx, dW];
    },
    fusedRelu ? [input, weight, out] : [input, weight],
  );
  return act !== null && !fuseAct ? applyActivation(y, act) : y;
}

/**
 * 1-D convolution (PyTorch's F.conv1d): input [N, C, L] or [C, L], weight [outC, C / groups, k],
 * bias [outC]. Options: stride, padding (int, 'valid' or 'same'), dilation, groups.
 */
export function conv1d(input: Tensor, weight: Tensor, bias?: Tensor | null, opts: ConvOptions = {}): Tensor {
  return convNd('conv1d', 1, input, weight, bias, opts);
}

/**
 * 2-D convolution (PyTorch's F.conv2d): input [N, C, H, W] or [C, H, W], weight
 * [outC, C / groups, kH, kW], bias [outC]. stride, padding and dilation take an int or [h, w];
 * padding also 'valid' or 'same' (stride 1).
 */
export function conv2d(input: Tensor, weight: Tensor, bias?: Tensor | null, opts: ConvOptions = {}): Tensor {
  return convNd('conv2d', 2, input, weight, bias, opts);
}
