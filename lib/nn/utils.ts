// Gradient clipping (PyTorch 1.13's torch/nn/utils/clip_grad.py): both scale or clamp the
// parameters' .grad in place (parameters without a gradient are skipped) and record no autograd.
import { noGrad } from '../autograd';
import { promoteTypes, type DType } from '../dtype';
import { tidy } from '../memory';
import { tensor } from '../ops/creation';
import { stack } from '../ops/join';
import { Tensor } from '../tensor';

function gradsOf(op: string, parameters: Tensor | Iterable<Tensor>): Tensor[] {
  if (parameters === null || typeof parameters !== 'object' || !(parameters instanceof Tensor || Symbol.iterator in parameters)) {
    throw new TypeError(`${op}: parameters must be a Tensor or an iterable of Tensors`);
  }
  const list = parameters instanceof Tensor ? [parameters] : [...parameters];
  const grads: Tensor[] = [];
  list.forEach((p, i) => {
    if (!(p instanceof Tensor)) throw new TypeError(`${op}: parameters[${i}] is not a Tensor`);
    if (p.grad === null) return;
    p.grad._check(`${op} (the .grad of parameters[${i}])`);
    grads.push(p.grad);
  });
  return grads;
}

// The p-norm of one gradient as a 0-d tensor of `dtype` (p: a positive number, 0 or +-Infinity).
function normOf(g: Tensor, p: number, dtype: DType): Tensor {
  const x = g.dtype === dtype ? g : g.to(dtype);
  if (x.numel() === 0) return tensor(p === -Infinity ? Infinity : 0, { dtype });
  if (p === Infinity) return x.abs().amax();
  if (p === -Infinity) return x.abs().amin();
  if (p === 0) return x.ne(0).to(dtype).sum();
  if (p === 1) return x.abs().sum();
  if (p === 2) return x.square().sum().sqrt();
  return x.abs().pow(p).sum().pow(1 / p);
}

export interface ClipGradNormOptions {
  /** The norm's order: a positive number, 0, Infinity or -Infinity (default 2). */
  normType?: number;
  /** Throw an Error, leaving the gradients as they are, when the total norm is NaN or infinite. */
  errorIfNonfinite?: boolean;
}

/**
 * Scales the gradients of `parameters` in place so that their total norm (the norm of the vector of
 * each gradient's norm) is at most maxNorm: each is multiplied by min(1, maxNorm / (total + 1e-6)).
 * Returns the total norm before clipping, as a 0-d tensor (float32 when there are no gradients).
 */
export function clipGradNorm_(parameters: Tensor | Iterable<Tensor>, maxNorm: number, opts: ClipGradNormOptions = {}): Tensor {
  const op = 'clipGradNorm_';
  const normType = opts.normType ?? 2;
  const errorIfNonfinite = opts.errorIfNonfinite ?? false;
  if (typeof maxNorm !== 'number' || Number.isNaN(maxNorm)) throw new TypeError(`${op}: maxNorm must be a number, got ${String(maxNorm)}`);
  if (typeof normType !== 'number' || Number.isNaN(normType) || (normType < 0 && normType !== -Infinity)) {
    throw new Error(`${op}: normType must be a non-negative number, Infinity or -Infinity, got ${String(normType)}`);
  }
  if (typeof errorIfNonfinite !== 'boolean') throw new TypeError(`${op}: errorIfNonfinite must be a boolean`);
  const grads = gradsOf(op, parameters);
  if (grads.length === 0) return tensor(0);
  return noGrad(() => {
    const total = tidy(() => {
      const dtype = grads.map((g) => g.dtype).reduce((a, b) => promoteTypes(a, b));
      const norms = grads.map((g) => normOf(g, normType, dtype));
      if (norms.length === 1) return norms[0];
      return normOf(stack(norms), normType, dtype);
    });
    const t = total.item();
    if (errorIfNonfinite && !Number.isFinite(t)) {
      total.dispose();
      throw new Error(
        `${op}: the total norm of order ${normType} for gradients from \`parameters\` is non-finite (${t}), so it ` +
          'cannot be clipped. To disable this error and scale the gradients by the non-finite norm anyway, set errorIfNonfinite: false',
      );
    }
    // min(1, NaN) is NaN, as torch.clamp: a NaN norm makes every gradient NaN, an infinite one zero.
    const coef = Math.min(maxNorm / (t + 1e-6), 1);
    if (coef !== 1) for (const g of grads) g.mul_(coef);
    return total;
  });
}

/** Clamps the gradients of `parameters` in place to [-clipValue, clipValue]. */
export function clipGradValue_(parameters: Tensor | Iterable<Tensor>, clipValue: number): void {
  const op = 'clipGradValue_';
  if (typeof clipValue !== 'number' || Number.isNaN(clipValue)) throw new TypeError(`${op}: clipValue must be a number, got ${String(clipValue)}`);
  const grads = gradsOf(op, parameters);
  noGrad(() => {
    for (const g of grads) g.clamp_(-clipValue, clipValue);
  });
}
