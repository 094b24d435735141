// gradcheck: compares the gradients autograd computes with central finite differences, in float64.
//
// For a random cotangent v (a vector shaped like the output) it checks, for every input element j,
//   (v . J)_j  from backward(v)     against     (v . f(x + eps e_j) - v . f(x - eps e_j)) / (2 eps)
// Two independent v catch any wrong Jacobian entry with probability 1, at the cost of one backward
// and 2 * numel forward passes, so the tests can check every op.
import { noGrad } from './autograd';
import { tidy } from './memory';
import { native } from './native';
import { Generator, randn } from './ops/random';
import { Tensor } from './tensor';

export interface GradcheckOptions {
  eps?: number;
  atol?: number;
  rtol?: number;
  /** Number of random cotangents (default 2). */
  projections?: number;
  seed?: number;
}

function check(inputs: Tensor[]): void {
  inputs.forEach((x, i) => {
    if (!(x instanceof Tensor)) throw new TypeError(`gradcheck: input ${i} is not a Tensor`);
    if (x.dtype !== 'float64') throw new TypeError(`gradcheck: input ${i} is ${x.dtype}; use float64 inputs for finite differences`);
  });
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/**
 * Returns true when analytical and numerical gradients agree for every input that requires grad;
 * otherwise throws an Error naming the input, element and both values.
 */
export function gradcheck(fn: (...xs: Tensor[]) => Tensor, inputs: Tensor[], opts: GradcheckOptions = {}): true {
  const { eps = 1e-6, atol = 1e-5, rtol = 1e-3, projections = 2, seed = 1234 } = opts;
  check(inputs);
  if (!inputs.some((x) => x.requiresGrad)) {
    throw new Error('gradcheck: no input requires grad, so nothing would be checked (set requiresGrad on the inputs to check)');
  }
  // Every temporary (leaf copies, outputs, cotangents, gradients) is freed on return or throw.
  return tidy(() => gradcheckImpl(fn, inputs, eps, atol, rtol, projections, seed));
}

function gradcheckImpl(
  fn: (...xs: Tensor[]) => Tensor,
  inputs: Tensor[],
  eps: number,
  atol: number,
  rtol: number,
  projections: number,
  seed: number,
): true {
  const gen = new Generator(seed);
  // Private leaf copies, so callers' tensors and .grad are untouched.
  const leaves = inputs.map((x) => noGrad(() => x.clone()).requiresGrad_(x.requiresGrad));
  const values = leaves.map((x) => x.dataSync() as Float64Array);
  // Each evaluation runs in its own tidy scope (fn's intermediates are freed at once).
  const evalAt = (k: number, j: number, delta: number): Float64Array =>
    tidy(() =>
      noGrad(() => {
        const data = values[k].slice();
        data[j] += delta;
        const perturbed = Tensor._empty(leaves[k]._shape.slice(), 'float64');
        native.write(perturbed._storage.handle, 0, data);
        const args = leaves.map((x, i) => (i === k ? perturbed : x));
        return fn(...args).dataSync() as Float64Array;
      }),
    );
  try {
    for (let p = 0; p < projections; p++) {
      for (const x of leaves) {
        x.grad?.dispose();
        x.grad = null;
      }
      const out = fn(...leaves);
      if (!(out instanceof Tensor)) throw new TypeError('gradcheck: fn must return a Tensor');
      if (out.dtype !== 'float64') throw new TypeError(`gradcheck: fn returned ${out.dtype}; expected float64`);
      const v = randn(out._shape.slice(), { dtype: 'float64', generator: gen });
      const vData = v.dataSync() as Float64Array;
      if (out.requiresGrad) out.backward(v);
      for (let k = 0; k < leaves.length; k++) {
        if (!leaves[k].requiresGrad) continue;
        const analytic = leaves[k].grad ? (leaves[k].grad!.dataSync() as Float64Array) : new Float64Array(values[k].length);
        for (let j = 0; j < values[k].length; j++) {
          const numeric = (dot(vData, evalAt(k, j, eps)) - dot(vData, evalAt(k, j, -eps))) / (2 * eps);
          const a = analytic[j];
          if (!(Math.abs(a - numeric) <= atol + rtol * Math.abs(numeric))) {
            throw new Error(
              `gradcheck: gradient mismatch for input ${k} (shape [${leaves[k]._shape.join(', ')}]) at element ${j}: ` +
                `analytical ${a}, numerical ${numeric}`,
            );
          }
        }
      }
    }
    return true;
  } finally {
    // .grad is kept out of tidy scopes (see accumulateGrad), so free it here.
    for (const x of leaves) x.grad?.dispose();
  }
}
