// nn.functional forms of the layers built from existing ops: linear, dropout, the normalisations,
// embedding. (Activations, softmax, convolution and pooling are ops in lib/ops/.)
import { noGrad } from '../autograd';
import { isFloating } from '../dtype';
import { fusedBatchNorm, fusedLayerNorm } from '../ops/norm';
import { rand } from '../ops/random';
import { shapeStr } from '../shape';
import { Tensor } from '../tensor';

function check(op: string, x: unknown, what = 'input'): Tensor {
  if (!(x instanceof Tensor)) throw new TypeError(`${op}: ${what} must be a Tensor`);
  x._check(op);
  return x;
}

/**
 * y = input @ weight^T + bias (PyTorch's F.linear), as one GEMM with the bias added in its epilogue;
 * `activation` ('relu', 'gelu', 'gelu-tanh', 'silu') is applied there too (see lib/ops/linear.ts).
 */
export { linear } from '../ops/linear';

/** Zeroes elements with probability p during training and scales the rest by 1/(1-p). */
export function dropout(input: Tensor, opts: { p?: number; training?: boolean } = {}): Tensor {
  const op = 'dropout';
  check(op, input);
  const p = opts.p ?? 0.5;
  if (!(p >= 0 && p <= 1)) throw new RangeError(`${op}: probability has to be between 0 and 1, but got ${p}`);
  if (!(opts.training ?? true) || p === 0) return input;
  if (p === 1) return input.mul(0);
  const mask = noGrad(() => {
    const r = rand(input._shape.slice(), { dtype: isFloating(input.dtype) ? input.dtype : 'float32', device: input.device });
    const keepMask = r.ge(p).to(r.dtype).mul(1 / (1 - p));
    r.dispose();
    return keepMask;
  });
  return input.mul(mask);
}

function affineShape(ndim: number, channelDim: number, c: number): number[] {
  return Array.from({ length: ndim }, (_, i) => (i === channelDim ? c : 1));
}

/**
 * Checks a layer-style norm's arguments: a floating input ending with normalizedShape, and affine
 * tensors of exactly that shape. Returns the number of normalised dims.
 */
function checkNormalized(op: string, input: Tensor, normalizedShape: number[], affine: [string, Tensor | null | undefined][]): number {
  check(op, input);
  const k = normalizedShape.length;
  const tail = input._shape.slice(input.ndim - k);
  if (k === 0 || k > input.ndim || tail.some((s, i) => s !== normalizedShape[i])) {
    throw new Error(`${op}: input ${shapeStr(input._shape)} does not end with normalizedShape ${shapeStr(normalizedShape)}`);
  }
  if (!isFloating(input.dtype)) throw new TypeError(`${op}: expected a floating-point input, got ${input.dtype}`);
  for (const [name, t] of affine) {
    if (t && (check(op, t, name).ndim !== k || t._shape.some((s, i) => s !== normalizedShape[i]))) {
      throw new Error(`${op}: ${name} ${shapeStr(t._shape)} must have normalizedShape ${shapeStr(normalizedShape)}`);
    }
  }
  return k;
}

/** Normalises over the trailing dims given by normalizedShape, then scales and shifts. */
export function layerNorm(
  input: Tensor,
  normalizedShape: number[],
  opts: { weight?: Tensor | null; bias?: Tensor | null; eps?: number } = {},
): Tensor {
  const op = 'layerNorm';
  checkNormalized(op, input, normalizedShape, [['weight', opts.weight], ['bias', opts.bias]]);
  const d = normalizedShape.reduce((a, b) => a * b, 1);
  return fusedLayerNorm(op, input, d, opts.weight ?? null, opts.bias ?? null, opts.eps ?? 1e-5);
}

/**
 * Root-mean-square norm over the trailing dims given by normalizedShape, then scaled:
 *   y = x / sqrt(mean(x^2) + eps) * weight.  eps defaults to the dtype's machine epsilon (as torch).
 */
export function rmsNorm(
  input: Tensor,
  normalizedShape: number[],
  opts: { weight?: Tensor | null; eps?: number | null } = {},
): Tensor {
  const op = 'rmsNorm';
  const w = opts.weight;
  const k = checkNormalized(op, input, normalizedShape, [['weight', w]]);
  const eps = opts.eps ?? (input.dtype === 'float64' ? 2.220446049250313e-16 : 1.1920928955078125e-7);
  const dims = Array.from({ length: k }, (_, i) => input.ndim - k + i);
  const y = input.mul(input.square().mean(dims, { keepdim: true }).add(eps).rsqrt());
  return w ? y.mul(w) : y;
}

export interface BatchNormOptions {
  weight?: Tensor | null;
  bias?: Tensor | null;
  training?: boolean;
  momentum?: number;
  eps?: number;
}

/**
 * Batch normalisation over dim 1 of [N, C, ...]. In training it uses the batch's statistics and
 * updates runningMean / runningVar in place (unbiased variance, as PyTorch); otherwise it uses them.
 */
export function batchNorm(input: Tensor, runningMean: Tensor | null, runningVar: Tensor | null, opts: BatchNormOptions = {}): Tensor {
  const op = 'batchNorm';
  check(op, input);
  if (input.ndim < 2) throw new Error(`${op}: expected at least 2 dims [N, C, ...], got ${shapeStr(input._shape)}`);
  if (!isFloating(input.dtype)) throw new TypeError(`${op}: expected a floating-point input, got ${input.dtype}`);
  const c = input._shape[1];
  const training = opts.training ?? false;
  for (const [name, t] of [['weight', opts.weight], ['bias', opts.bias], ['runningMean', runningMean], ['runningVar', runningVar]] as const) {
    if (t && check(op, t, name).numel() !== c) throw new Error(`${op}: ${name} ${shapeStr(t._shape)} must hold ${c} elements (one per channel of ${shapeStr(input._shape)})`);
  }
  if (training) {
    const count = input.numel() / c;
    if (count <= 1) throw new Error(`${op}: expected more than 1 value per channel when training, got input size ${shapeStr(input._shape)}`);
  } else if (!runningMean || !runningVar) {
    throw new Error(`${op}: running statistics are required in eval mode`);
  }
  return fusedBatchNorm(op, input, {
    runningMean: runningMean && runningVar ? runningMean : null,
    runningVar: runningMean && runningVar ? runningVar : null,
    weight: opts.weight ?? null,
    bias: opts.bias ?? null,
    training,
    momentum: opts.momentum ?? 0.1,
    eps: opts.eps ?? 1e-5,
  });
}

/** Group normalisation: channels split into numGroups groups, each normalised over its channels and positions. */
export function groupNorm(input: Tensor, numGroups: number, opts: { weight?: Tensor | null; bias?: Tensor | null; eps?: number } = {}): Tensor {
  const op = 'groupNorm';
  check(op, input);
  if (input.ndim < 2) throw new Error(`${op}: expected at least 2 dims [N, C, ...], got ${shapeStr(input._shape)}`);
  const [n, c] = input._shape;
  if (!Number.isInteger(numGroups) || numGroups <= 0 || c % numGroups !== 0) {
    throw new Error(`${op}: expected the number of channels ${c} to be divisible by numGroups ${numGroups}`);
  }
  if (!isFloating(input.dtype)) throw new TypeError(`${op}: expected a floating-point input, got ${input.dtype}`);
  // Each (image, group) is one row of the fused layer-norm kernel; the affine is per channel.
  const d = n > 0 ? input.numel() / (n * numGroups) : 0;
  let y = fusedLayerNorm(op, input, d, null, null, opts.eps ?? 1e-5);
  const shape = affineShape(input.ndim, 1, c);
  if (opts.weight) y = y.mul(opts.weight.reshape(shape));
  if (opts.bias) y = y.add(opts.bias.reshape(shape));
  return y;
}

/** Rows of weight [num, dim] picked by int32 indices of any shape: output [...indices.shape, dim]. */
export function embedding(input: Tensor, weight: Tensor, opts: { paddingIdx?: number | null } = {}): Tensor {
  const op = 'embedding';
  check(op, input, 'indices');
  check(op, weight, 'weight');
  if (input.dtype !== 'int32') throw new TypeError(`${op}: indices must be an int32 tensor, got ${input.dtype}`);
  if (weight.ndim !== 2) throw new Error(`${op}: weight must be 2-D [numEmbeddings, embeddingDim], got ${shapeStr(weight._shape)}`);
  const flat = input.reshape([-1]);
  let rows = weight.indexSelect(0, flat);
  const pad = opts.paddingIdx;
  if (pad !== undefined && pad !== null && rows.requiresGrad) {
    // The padding row gets no gradient (its value is returned as is).
    const isPad = flat.eq(pad < 0 ? pad + weight._shape[0] : pad).reshape([-1, 1]);
    rows = rows.detach().where(isPad, rows);
  }
  return rows.reshape([...input._shape, weight._shape[1]]);
}
