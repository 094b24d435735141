// convTranspose1d / convTranspose2d (PyTorch's F.conv_transpose1d/2d) with autograd: the adjoint
// (input gradient) of a regular convolution, on the im2col / col2im / GEMM entry points of conv.ts.
//
//   weight [inC, outC/G, *kernel];  along each spatial dim input position i, kernel tap k writes
//   output position i*stride - padding + k*dilation (positions outside the output are dropped), so
//   out size = (in - 1)*stride - 2*padding + dilation*(k - 1) + outputPadding + 1.
//
// That is the geometry of a convolution whose *input* is our output and whose *output* is our input:
//   forward:   cols[n, g] [outC/G*K, L] = W[g]^T @ x[n, g]   (W[g]: [inC/G, outC/G*K]; one batched GEMM)
//              out[n] = col2im(cols[n])                      (accumulating, into the bias or zeros)
//   backward:  cols = im2col(gOut);  dx[n, g] = W[g] @ cols[n, g];
//              dW[g] = sum_n x[n, g] @ cols[n, g]^T (one batch-reduce GEMM); db = sum of gOut over
//              batch and space.
// L = prod(input spatial), K = prod(kernel). The convolution's padding after is chosen so that its
// output size is exactly the input's; when outputPadding exceeds padding by stride or more (allowed
// when outputPadding < dilation), the last positions of the output are written by no tap: the
// im2col / col2im geometry then covers the leading "core" of the output only (through a temporary
// buffer in the forward, a strided view in the backward). The batch is processed in chunks that
// bound the column buffer.
import { needsGrad, record } from '../autograd';
import { isFloating } from '../dtype';
import { callee, meta, metaNum } from '../native';
import { contiguousStrides, shapeStr } from '../shape';
import { Tensor } from '../tensor';
import { col2im, flatSpatialStride, gemm, im2col, type Geometry } from './conv';
import { batchedDesc, checkTensor, chunkDesc, denseDesc, prod, put, tuple, type Desc, type IntOrTuple } from './spatial';
import { empty } from './util';
import { contiguousRaw } from './views';
import { halfOperand, viaFloat32 } from './half_fallback';

export interface ConvTransposeOptions {
  stride?: IntOrTuple;
  /** Implicit zero padding removed from both sides of each spatial dim of the output (dilation*(k-1) - padding added to the input). */
  padding?: IntOrTuple;
  /** Extra size added to one side of each spatial dim of the output; smaller than stride or dilation. */
  outputPadding?: IntOrTuple;
  groups?: number;
  dilation?: IntOrTuple;
}

/** Elements of column buffer per chunk of the batch (32 MiB of float32). */
let chunkElements = 1 << 23;

/** @internal For tests: sets the column-buffer budget per batch chunk; returns the previous one. */
export function _setConvTransposeChunkElements(n: number): number {
  const prev = chunkElements;
  chunkElements = n;
  return prev;
}

const spatialNames = (ns: number): string[] => (ns === 1 ? ['L'] : ns === 2 ? ['H', 'W'] : ['D', 'H', 'W']);

/** The output size of a transposed convolution along one dim. */
function transposedSize(inSize: number, k: number, s: number, p: number, d: number, op: number): number {
  return (inSize - 1) * s - 2 * p + d * (k - 1) + op + 1;
}

/**
 * The outputPadding that makes a transposed convolution's output `outputSize` (PyTorch's
 * _output_padding): outputSize (the spatial sizes, or the whole shape with batch and channel dims)
 * must lie in [minSize, minSize + stride - 1] along each dim, minSize being the size at outputPadding 0.
 */
export function convTransposeOutputPadding(
  op: string,
  inputSpatial: readonly number[],
  outputSize: readonly number[],
  kernel: readonly number[],
  stride: readonly number[],
  padding: readonly number[],
  dilation: readonly number[],
): number[] {
  const ns = inputSpatial.length;
  let size = outputSize.slice();
  if (size.length === ns + 2 || (size.length === ns + 1 && ns > 0)) size = size.slice(size.length - ns);
  if (size.length !== ns || !size.every((v) => Number.isInteger(v) && v >= 0)) {
    throw new RangeError(`${op}: outputSize must be ${ns} (or ${ns + 2}) non-negative integers, got ${JSON.stringify(outputSize)}`);
  }
  return size.map((want, i) => {
    const min = transposedSize(inputSpatial[i], kernel[i], stride[i], padding[i], dilation[i], 0);
    const max = min + stride[i] - 1;
    if (want < min || want > max) {
      throw new Error(
        `${op}: requested outputSize ${shapeStr(size)} is not reachable from input size ${shapeStr(inputSpatial)}: ` +
          `dim ${i} must be between ${min} and ${max} (stride ${shapeStr(stride)}, padding ${shapeStr(padding)}, ` +
          `kernel ${shapeStr(kernel)}, dilation ${shapeStr(dilation)})`,
      );
    }
    return want - min;
  });
}

function fillZero(t: Tensor): void {
  meta();
  t._meta();
  metaNum(0);
  callee().fill();
}

function copyDesc(dst: Desc, src: Desc): void {
  meta();
  put(dst);
  put(src);
  callee().copy();
}

function convTransposeNd(
  op: string,
  ns: number,
  input: Tensor,
  weight: Tensor,
  bias: Tensor | null | undefined,
  opts: ConvTransposeOptions,
): Tensor {
  checkTensor(op, input, 'input');
  checkTensor(op, weight, 'weight');
  if (bias !== null && bias !== undefined) checkTensor(op, bias, 'bias');
  else bias = null;
  const half = halfOperand(input, weight, bias);
  if (half) return viaFloat32(half, [input, weight, bias], (x, w, b) => convTransposeNd(op, ns, x, w, b, opts));
  const names = spatialNames(ns);
  if (!isFloating(input.dtype)) {
    throw new TypeError(`${op}: expected a floating-point input, got ${input.dtype} (convert it with .float())`);
  }
  if (weight.dtype !== input.dtype || (bias && bias.dtype !== input.dtype)) {
    throw new TypeError(
      `${op}: input (${input.dtype}), weight (${weight.dtype})${bias ? ` and bias (${bias.dtype})` : ''} must have the same dtype`,
    );
  }
  if (weight.ndim !== ns + 2) {
    throw new Error(`${op}: expected weight [inC, outC / groups, ${names.map((n) => 'k' + n).join(', ')}], got ${shapeStr(weight._shape)}`);
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
  const inC = weight._shape[0], Cog = weight._shape[1];
  const kernel = weight._shape.slice(2);
  if (inC % groups !== 0) {
    throw new Error(`${op}: weight ${shapeStr(weight._shape)} has ${inC} input channels, which is not divisible by groups ${groups}`);
  }
  const x0 = batchedDesc(input, unbatched);
  const [N, C] = x0.shape;
  if (C !== inC) {
    const layout = unbatched ? `[C, ${names.join(', ')}]` : `[N, C, ${names.join(', ')}]`;
    throw new Error(`${op}: expected input ${layout} with C = ${inC} (weight ${shapeStr(weight._shape)}, groups ${groups}), got ${shapeStr(input._shape)}`);
  }
  if (kernel.some((k) => k < 1)) throw new Error(`${op}: weight ${shapeStr(weight._shape)} has an empty kernel`);
  const outC = Cog * groups;
  if (bias && (bias.ndim !== 1 || bias._shape[0] !== outC)) {
    throw new Error(
      `${op}: expected bias [${outC}] (outC = weight.shape[1] * groups = ${Cog} * ${groups}, weight ${shapeStr(weight._shape)}), ` +
        `got ${shapeStr(bias._shape)}`,
    );
  }
  const stride = tuple(op, 'stride', opts.stride ?? 1, ns, 1);
  const padding = tuple(op, 'padding', opts.padding ?? 0, ns, 0);
  const dilation = tuple(op, 'dilation', opts.dilation ?? 1, ns, 1);
  const outputPadding = tuple(op, 'outputPadding', opts.outputPadding ?? 0, ns, 0);
  if (outputPadding.some((o, i) => o >= stride[i] && o >= dilation[i])) {
    throw new Error(
      `${op}: outputPadding must be smaller than either stride or dilation, got outputPadding ${shapeStr(outputPadding)}, ` +
        `stride ${shapeStr(stride)}, dilation ${shapeStr(dilation)}`,
    );
  }
  const inSize = x0.shape.slice(2);
  if (inSize.some((s) => s < 1)) {
    throw new Error(`${op}: expected a non-empty spatial size, got input ${shapeStr(input._shape)}`);
  }
  const outSize = inSize.map((n, i) => transposedSize(n, kernel[i], stride[i], padding[i], dilation[i], outputPadding[i]));
  if (outSize.some((s) => s < 1)) {
    throw new Error(
      `${op}: the output size ${shapeStr(outSize)} is too small (input ${shapeStr(input._shape)}, weight ${shapeStr(weight._shape)}, ` +
        `stride ${shapeStr(stride)}, padding ${shapeStr(padding)}, outputPadding ${shapeStr(outputPadding)}, dilation ${shapeStr(dilation)})`,
    );
  }
  // The adjoint convolution's geometry: input = the output's leading core (coreSize), output = our
  // input. r = outputPadding - padding: positions past the last tap's reach (r of them when r > 0).
  const padAfter: number[] = [], coreSize: number[] = [];
  for (let i = 0; i < ns; i++) {
    const r = outputPadding[i] - padding[i];
    padAfter.push(r <= 0 ? -r : 0);
    coreSize.push(outSize[i] - (r >= stride[i] ? r - stride[i] + 1 : 0));
  }
  const coreEmpty = coreSize.some((s) => s < 1);
  const cropped = coreSize.some((s, i) => s !== outSize[i]);
  const g: Geometry = { ns, kernel, stride, padBefore: padding, padAfter, dilation, inSize: coreSize, outSize: inSize };

  const dt = input.dtype;
  const G = groups, Cig = inC / G, K = prod(kernel), L = prod(inSize), Lout = prod(outSize), MK = Cog * K;
  const outShape = unbatched ? [outC, ...outSize] : [N, outC, ...outSize];
  const fullStrides = contiguousStrides([N, outC, ...outSize]);
  /** The output's (or its gradient's) leading core, images [n0, n0 + nb), of a contiguous tensor. */
  const coreOf = (t: Tensor, n0: number, nb: number): Desc => ({
    t,
    offset: t._offset + n0 * outC * Lout,
    shape: [nb, outC, ...coreSize],
    strides: fullStrides,
  });
  const perImage = outC * K * L + (cropped ? outC * prod(coreSize) : 0);
  const chunk = Math.max(1, Math.min(N, Math.floor(chunkElements / Math.max(perImage, 1))));
  const work = !coreEmpty && N > 0 && inC > 0 && outC > 0;

  /** x[n0, n0 + nb) as [nb, G, Cig, L] (x: the input or a contiguous copy). */
  const xGroups = (xt: Tensor, xd: Desc, sL: number, n0: number, nb: number): Desc => ({
    t: xt,
    offset: xd.offset + n0 * xd.strides[0],
    shape: [nb, G, Cig, L],
    strides: [xd.strides[0], Cig * xd.strides[1], xd.strides[1], sL],
  });
  /** A flat-spatial view of the input: [tensor, batched desc, spatial stride]; the tensor may be a copy. */
  const flatInput = (): [Tensor, Desc, number] => {
    const sL = flatSpatialStride(x0);
    if (sL !== null) return [input, x0, sL];
    const xc = contiguousRaw(input);
    return [xc, batchedDesc(xc, unbatched), 1];
  };
  // W[g] [Cig, Cog*K] (weight contiguous), broadcast over nb images; transposed: [Cog*K, Cig].
  const weightOf = (w: Tensor, nb: number, transposed: boolean): Desc =>
    transposed
      ? { t: w, offset: w._offset, shape: [nb, G, MK, Cig], strides: [0, Cig * MK, 1, MK] }
      : { t: w, offset: w._offset, shape: [nb, G, Cig, MK], strides: [0, Cig * MK, MK, 1] };

  const out = Tensor._empty(outShape, dt, !bias, input.device);
  if (bias && out.numel() > 0) {
    const bs = bias._strides[0];
    meta();
    put(batchedDesc(out, unbatched));
    put({ t: bias, offset: bias._offset, shape: [N, outC, ...outSize], strides: [0, bs, ...outSize.map(() => 0)] });
    callee().copy();
  }
  if (work) {
    const w = weight.isContiguous() ? weight : contiguousRaw(weight);
    const [xt, xd, sL] = flatInput();
    const cols = empty([Math.min(chunk, N), outC * K, L], dt, input.device);
    const tmp = cropped ? empty([Math.min(chunk, N), outC, ...coreSize], dt, input.device) : null;
    try {
      for (let n0 = 0; n0 < N; n0 += chunk) {
        const nb = Math.min(chunk, N - n0);
        gemm(denseDesc(cols, [nb, G, MK, L]), weightOf(w, nb, true), xGroups(xt, xd, sL, n0, nb), 1, 0);
        const colsDesc = denseDesc(cols, [nb, outC * K, L]);
        if (tmp) {
          const t = denseDesc(tmp, [nb, outC, ...coreSize]);
          copyDesc(t, coreOf(out, n0, nb));
          col2im(t, colsDesc, g);
          copyDesc(coreOf(out, n0, nb), t);
        } else {
          col2im(chunkDesc(batchedDesc(out, unbatched), n0, nb), colsDesc, g);
        }
      }
    } finally {
      cols.dispose();
      tmp?.dispose();
      if (xt !== input) xt.dispose();
      if (w !== weight) w.dispose();
    }
  }

  const inputs = bias ? [input, weight, bias] : [input, weight];
  if (!needsGrad(...inputs)) return out;
  return record(
    out,
    'ConvolutionBackward',
    inputs,
    (gOut) => {
      const gc = gOut.isContiguous() ? gOut : contiguousRaw(gOut);
      const needX = input.requiresGrad, needW = weight.requiresGrad, needB = bias !== null && bias.requiresGrad;
      const dx = needX ? empty(input._shape.slice(), dt, input.device) : null;
      const dW = needW ? empty(weight._shape.slice(), dt, input.device) : null;
      const dB = needB ? empty([outC], dt, input.device) : null;
      const temps: Tensor[] = [];
      try {
        if (dB && gc.numel() === 0) fillZero(dB);
        else if (dB) {
          // dB = ones[1, N] @ (gOut[N * outC, Lout] @ ones[Lout, 1]) viewed as [N, outC].
          const ones = empty([Math.max(Lout, N)], dt, input.device);
          temps.push(ones);
          meta();
          ones._meta();
          metaNum(1);
          callee().fill();
          const rows = empty([N * outC, 1], dt, input.device);
          temps.push(rows);
          gemm(denseDesc(rows, [N * outC, 1]), denseDesc(gc, [N * outC, Lout]), denseDesc(ones, [Lout, 1]), 1, 0);
          gemm(denseDesc(dB, [1, outC]), denseDesc(ones, [1, N]), denseDesc(rows, [N, outC]), 1, 0);
        }
        if ((dx || dW) && !work) {
          // No tap reaches the output (or nothing to multiply): the gradients are zero.
          for (const t of [dx, dW]) if (t) fillZero(t);
        } else if (dx || dW) {
          const w = weight.isContiguous() ? weight : contiguousRaw(weight);
          if (w !== weight) temps.push(w);
          let xt: Tensor | null = null, xd: Desc | null = null, sL = 1;
          if (dW) {
            [xt, xd, sL] = flatInput();
            if (xt !== input) temps.push(xt);
          }
          const cols = empty([Math.min(chunk, N), outC * K, L], dt, input.device);
          temps.push(cols);
          for (let n0 = 0; n0 < N; n0 += chunk) {
            const nb = Math.min(chunk, N - n0);
            im2col(denseDesc(cols, [nb, outC * K, L]), coreOf(gc, n0, nb), g);
            if (dx) gemm(denseDesc(dx, [nb, G, Cig, L], n0 * inC * L), weightOf(w, nb, false), denseDesc(cols, [nb, G, MK, L]), 1, 0);
            if (dW) {
              // dW[g] (+)= sum over the chunk's images of x[n, g] @ cols[n, g]^T: one batch-reduce GEMM,
              // its output's stride 0 over n asking the kernel for the sum.
              const dWsum: Desc = { t: dW, offset: dW._offset, shape: [nb, G, Cig, MK], strides: [0, Cig * MK, MK, 1] };
              const colsT: Desc = { t: cols, offset: cols._offset, shape: [nb, G, L, MK], strides: [outC * K * L, MK * L, 1, L] };
              gemm(dWsum, xGroups(xt!, xd!, sL, n0, nb), colsT, 1, n0 === 0 ? 0 : 1);
            }
          }
        }
      } finally {
        for (const t of temps) t.dispose();
        if (gc !== gOut) gc.dispose();
      }
      return bias ? [dx, dW, dB] : [dx, dW];
    },
    [input, weight],
  );
}

/**
 * 1-D transposed convolution (PyTorch's F.conv_transpose1d): input [N, inC, L] or [inC, L], weight
 * [inC, outC / groups, k], bias [outC]. Options: stride, padding, outputPadding, groups, dilation.
 * Output length (L - 1)*stride - 2*padding + dilation*(k - 1) + outputPadding + 1.
 */
export function convTranspose1d(input: Tensor, weight: Tensor, bias?: Tensor | null, opts: ConvTransposeOptions = {}): Tensor {
  return convTransposeNd('convTranspose1d', 1, input, weight, bias, opts);
}

/**
 * 2-D transposed convolution (PyTorch's F.conv_transpose2d): input [N, inC, H, W] or [inC, H, W],
 * weight [inC, outC / groups, kH, kW], bias [outC]. stride, padding, outputPadding and dilation take
 * an int or [h, w]; outputPadding must be smaller than stride or dilation along each dim.
 */
export function convTranspose2d(input: Tensor, weight: Tensor, bias?: Tensor | null, opts: ConvTransposeOptions = {}): Tensor {
  return convTransposeNd('convTranspose2d', 2, input, weight, bias, opts);
}
