// Ops without float16 / bfloat16 kernels (all but the elementwise ops, casts, reductions and
// matmul) run on float32 copies of their 16-bit operands, and their floating results are cast back.
// PyTorch's CPU kernels compute these dtypes in float32 too; here the casts are autograd ops, so the
// backward pass also runs in float32 and the gradients come back in the operands' dtypes.
import { isFloating } from '../dtype';
import { isHalf, type HalfDType } from '../half';
import { Tensor } from '../tensor';

/** The 16-bit dtype of the first float16 / bfloat16 tensor among xs, or null when there is none. */
export function halfOperand(...xs: unknown[]): HalfDType | null {
  for (const x of xs) if (x instanceof Tensor && isHalf(x.dtype)) return x.dtype;
  return null;
}

/**
 * `run` on float32 copies of the 16-bit tensors among `xs` (other arguments pass through), its
 * float32 results cast to `dtype`. Without a graph to keep them, the temporaries are freed at once.
 */
export function viaFloat32<A extends unknown[], R extends Tensor | Tensor[]>(dtype: HalfDType, xs: [...A], run: (...args: A) => R): R {
  const temps: Tensor[] = [];
  const args = xs.map((x) => {
    if (!(x instanceof Tensor) || !isHalf(x.dtype)) return x;
    const f = x.to('float32');
    temps.push(f);
    return f;
  }) as A;
  const result = run(...args);
  const back = (t: Tensor): Tensor => {
    if (t.dtype !== 'float32' || !isFloating(dtype)) return t;
    const h = t.to(dtype);
    temps.push(t);
    return h;
  };
  const out = (Array.isArray(result) ? result.map(back) : back(result)) as R;
  const outs: Tensor[] = Array.isArray(out) ? out : [out as Tensor];
  if (!outs.some((t) => t.requiresGrad)) for (const t of temps) if (!outs.includes(t)) t.dispose();
  return out;
}
