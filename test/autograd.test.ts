// Autograd semantics, checked against PyTorch's behaviour.
import { describe, expect, it } from 'vitest';
import * as tf from '../lib';
import type { Tensor } from '../lib';

const arr = (t: Tensor | null): unknown => {
  expect(t).not.toBeNull();
  return t!.toArray();
};
function close(t: Tensor | null, expected: number[] | number[][], tol = 1e-5): void {
  expect(t).not.toBeNull();
  const got = Array.from(t!.dataSync());
  const want = (expected as unknown[]).flat(Infinity) as number[];
  expect(got.length).toBe(want.length);
  got.forEach((v, i) => expect(v).toBeCloseTo(want[i], -Math.log10(tol)));
}

describe('requiresGrad', () => {
  it('propagates to outputs of ops on a tensor that requires grad', () => {
    const x = tf.tensor([1, 2, 3], { requiresGrad: true });
    const c = tf.tensor([4, 5, 6]);
    expect(x.requiresGrad).toBe(true);
    expect(x.isLeaf).toBe(true);
    expect(c.requiresGrad).toBe(false);
    const y = x.mul(c).add(1);
    expect(y.requiresGrad).toBe(true);
    expect(y.isLeaf).toBe(false);
    expect(y.gradFn?.name).toBe('AddBackward');
    const z = c.mul(2);
    expect(z.requiresGrad).toBe(false);
    expect(z.gradFn).toBeNull();
    // views and reductions too
    expect(x.reshape(3, 1).requiresGrad).toBe(true);
    expect(x.sum().requiresGrad).toBe(true);
    // comparisons and integer results do not require grad
    expect(x.gt(1).requiresGrad).toBe(false);
    expect(x.argmax().requiresGrad).toBe(false);
  });
  it('requiresGrad_ and the setter work on leaves; turning it off on a non-leaf throws', () => {
    const x = tf.ones([2]);
    x.requiresGrad = true;
    expect(x.requiresGrad).toBe(true);
    expect(x.requiresGrad_(false)).toBe(x);
    expect(x.requiresGrad).toBe(false);
    const y = tf.ones([2]).requiresGrad_().mul(2);
    expect(() => y.requiresGrad_(false)).toThrow(/non-leaf/);
  });
  it('requiresGrad on an int or bool tensor throws', () => {
    expect(() => tf.tensor([1, 2], { dtype: 'int32' }).requiresGrad_()).toThrow(/floating/);
    expect(() => tf.tensor([true]).requiresGrad_()).toThrow(/floating/);
    expect(() => tf.zeros([2], { dtype: 'int32', requiresGrad: true })).toThrow(/floating/);
    const i = tf.tensor([1, 2], { dtype: 'int32' });
    expect(() => {
      i.requiresGrad = true;
    }).toThrow(/floating/);
    expect(i.requiresGrad).toBe(false);
  });
  it('backward on a tensor that does not require grad throws', () => {
    expect(() => tf.ones([1]).sum().backward()).toThrow(/does not require grad/);
  });
});

describe('backward: known values', () => {
  it('d/dx sum(x^2) = 2x', () => {
    const x = tf.tensor([1, -2, 3.5], { requiresGrad: true });
    x.pow(2).sum().backward();
    close(x.grad, [2, -4, 7]);
    const y = tf.tensor([0.5, 4], { requiresGrad: true });
    y.square().sum().backward();
    close(y.grad, [1, 8]);
  });
  it('product rule, quotient rule and chain rule', () => {
    const a = tf.tensor([2, 3], { requiresGrad: true });
    const b = tf.tensor([5, 7], { requiresGrad: true });
    a.mul(b).add(a.div(b)).sum().backward();
    close(a.grad, [5 + 1 / 5, 7 + 1 / 7]);
    close(b.grad, [2 - 2 / 25, 3 - 3 / 49]);
    const x = tf.tensor([0.3], { requiresGrad: true });
    x.mul(2).sin().exp().sum().backward();
    close(x.grad, [Math.exp(Math.sin(0.6)) * Math.cos(0.6) * 2]);
  });
  it('matmul gradients', () => {
    const A = tf.tensor([[1, 2], [3, 4]], { requiresGrad: true });
    const B = tf.tensor([[5, 6], [7, 8]], { requiresGrad: true });
    A.matmul(B).sum().backward();
    // dA = 1 @ B^T, dB = A^T @ 1
    expect(arr(A.grad)).toEqual([[11, 15], [11, 15]]);
    expect(arr(B.grad)).toEqual([[4, 4], [6, 6]]);
  });
  it('mean and softmax', () => {
    const x = tf.tensor([1, 2, 3, 4], { requiresGrad: true });
    x.mean().backward();
    close(x.grad, [0.25, 0.25, 0.25, 0.25]);
    const s = tf.tensor([1, 2, 3], { requiresGrad: true });
    // sum of softmax is 1: zero gradient
    s.softmax(0).sum().backward();
    close(s.grad, [0, 0, 0]);
  });
  it('a float32 leaf used with a float64 tensor gets a float32 gradient', () => {
    const x = tf.tensor([1, 2], { requiresGrad: true });
    const d = tf.tensor([3, 4], { dtype: 'float64' });
    const y = x.mul(d);
    expect(y.dtype).toBe('float64');
    y.sum().backward();
    expect(x.grad!.dtype).toBe('float32');
    expect(arr(x.grad)).toEqual([3, 4]);
    const z = tf.tensor([1, 2], { dtype: 'float64', requiresGrad: true });
    z.to('float32').mul(2).sum().backward();
    expect(z.grad!.dtype).toBe('float64');
    expect(arr(z.grad)).toEqual([2, 2]);
  });
});

describe('backward: PyTorch conventions at kinks and special points', () => {
  const grad = (f: (x: Tensor) => Tensor, v: number[]): number[] => {
    const x = tf.tensor(v, { dtype: 'float64', requiresGrad: true });
    f(x).sum().backward();
    return Array.from(x.grad!.dataSync());
  };
  it('relu, abs, leakyRelu and clamp', () => {
    expect(grad((x) => x.relu(), [-1, 0, 1])).toEqual([0, 0, 1]);
    expect(grad((x) => x.abs(), [-1, 0, 1])).toEqual([-1, 0, 1]);
    expect(grad((x) => x.leakyRelu(0.1), [-1, 0, 1])).toEqual([0.1, 0.1, 1]);
    // the bounds themselves pass the gradient
    expect(grad((x) => x.clamp(0, 1), [-1, 0, 0.5, 1, 2])).toEqual([0, 1, 1, 1, 0]);
  });
  it('ties split the gradient evenly (max reduction, maximum, minimum)', () => {
    expect(grad((x) => x.max(), [1, 3, 3])).toEqual([0, 0.5, 0.5]);
    expect(grad((x) => x.min(), [2, 2, 2, 5])).toEqual([1 / 3, 1 / 3, 1 / 3, 0]);
    expect(grad((x) => x.maximum(tf.tensor([1, 1, 1], { dtype: 'float64' })), [0, 1, 2])).toEqual([0, 0.5, 1]);
    expect(grad((x) => tf.minimum(x, 1), [0, 1, 2])).toEqual([1, 0.5, 0]);
  });
  it('std of a constant slice has gradient 0, not nan', () => {
    expect(grad((x) => x.std(), [1, 1, 1])).toEqual([0, 0, 0]);
    const g = grad((x) => x.reshape(2, 2).std(1), [1, 1, 1, 3]);
    expect(g.slice(0, 2)).toEqual([0, 0]);
    expect(g[2]).toBeCloseTo(-Math.SQRT1_2, 12);
    expect(g[3]).toBeCloseTo(Math.SQRT1_2, 12);
  });
  it('pow at 0: zero exponent gives 0, and d/db 0^b is 0 for b >= 0', () => {
    expect(grad((x) => x.pow(0), [0, 2])).toEqual([0, 0]);
    expect(grad((x) => x.pow(tf.tensor([0, 2], { dtype: 'float64' })), [0, 0])).toEqual([0, 0]);
    expect(grad((x) => x.pow(2), [0, 3])).toEqual([0, 6]);
    expect(grad((b) => tf.pow(tf.tensor([0, 0], { dtype: 'float64' }), b), [2, 0])).toEqual([0, 0]);
    expect(grad((x) => x.sqrt(), [0])).toEqual([Infinity]);
  });
  it('prod with a zero gives the product of the others', () => {
    expect(grad((x) => x.prod(), [2, 0, 3])).toEqual([0, 6, 0]);
    expect(grad((x) => x.prod(), [0, 0, 3])).toEqual([0, 0, 0]);
  });
  it('non-differentiable ops (sign, round, comparisons) pass no gradient', () => {
    expect(grad((x) => x.sign().add(x), [-1, 0, 1])).toEqual([1, 1, 1]);
    expect(grad((x) => x.round().add(x.floor()).add(x), [-1.2, 0.5])).toEqual([1, 1]);
  });
});

describe('backward: gradient argument and graph lifetime', () => {
  it('non-scalar outputs need an explicit gradient', () => {
    const x = tf.tensor([1, 2, 3], { requiresGrad: true });
    const y = x.mul(2);
    expect(() => y.backward()).toThrow(/scalar/);
    y.backward(tf.tensor([1, 0.5, -1]));
    expect(arr(x.grad)).toEqual([2, 1, -2]);
  });
  it('a gradient of the wrong shape throws', () => {
    const x = tf.tensor([1, 2, 3], { requiresGrad: true });
    expect(() => x.mul(2).backward(tf.ones([2]))).toThrow(/shape/);
  });
  it('backward(gradient) on a 2-D output, and on a one-element non-0-d output without gradient', () => {
    const x = tf.tensor([[1, 2], [3, 4]], { requiresGrad: true });
    x.square().backward(tf.tensor([[1, 0], [0, 1]]));
    expect(arr(x.grad)).toEqual([[2, 0], [0, 8]]);
    const y = tf.tensor([[3]], { requiresGrad: true });
    y.mul(5).backward();
    expect(arr(y.grad)).toEqual([[5]]);
  });
  it('grads accumulate across backward calls (retainGraph)', () => {
    const x = tf.tensor([1, 2], { requiresGrad: true });
    const y = x.mul(x).sum();
    y.backward(null, { retainGraph: true });
    expect(arr(x.grad)).toEqual([2, 4]);
    y.backward();
    expect(arr(x.grad)).toEqual([4, 8]);
    // a second graph accumulates into the same .grad
    x.mul(3).sum().backward();
    expect(arr(x.grad)).toEqual([7, 11]);
  });
  it('backward twice without retainGraph throws', () => {
    const x = tf.tensor([1, 2], { requiresGrad: true });
    const y = x.exp().sum();
    y.backward();
    expect(() => y.backward()).toThrow(/second time/);
    // an intermediate of the freed graph cannot be backpropagated through either
    const h = x.mul(2);
    const z = h.sum();
    z.backward();
    expect(() => h.backward(tf.ones([2]))).toThrow(/second time/);
  });
  it('backward works inside noGrad and through the tf.backward function', () => {
    const x = tf.tensor([1, 2], { requiresGrad: true });
    const y = x.mul(x).sum();
    tf.noGrad(() => y.backward());
    expect(arr(x.grad)).toEqual([2, 4]);
    expect(tf.isGradEnabled()).toBe(true);
    const z = tf.tensor([3], { requiresGrad: true });
    tf.backward(z.mul(4));
    expect(arr(z.grad)).toEqual([4]);
  });
  it('leaves can be backpropagated into directly', () => {
    const x = tf.tensor([1, 2], { requiresGrad: true });
    const g = tf.tensor([3, 4]);
    x.backward(g);
    expect(arr(x.grad)).toEqual([3, 4]);
    // .grad does not alias the gradient argument
    tf.noGrad(() => g.mul_(10));
    expect(arr(x.grad)).toEqual([3, 4]);
  });
});

describe('cutting the graph', () => {
  it('detach() stops gradients and shares memory', () => {
    const x = tf.tensor([1, 2, 3], { requiresGrad: true });
    const d = x.detach();
    expect(d.requiresGrad).toBe(false);
    expect(d.gradFn).toBeNull();
    const y = x.mul(d).sum(); // d is a constant: dy/dx = d
    y.backward();
    expect(arr(x.grad)).toEqual([1, 2, 3]);
    tf.noGrad(() => d.mul_(2));
    expect(arr(x)).toEqual([2, 4, 6]);
  });
  it('noGrad() records nothing', () => {
    const x = tf.tensor([1, 2], { requiresGrad: true });
    expect(tf.isGradEnabled()).toBe(true);
    const y = tf.noGrad(() => {
      expect(tf.isGradEnabled()).toBe(false);
      return x.mul(2).exp().sum();
    });
    expect(tf.isGradEnabled()).toBe(true);
    expect(y.requiresGrad).toBe(false);
    expect(y.gradFn).toBeNull();
    expect(() => y.backward()).toThrow(/does not require grad/);
  });
  it('noGrad restores the mode when fn throws', () => {
    expect(() =>
      tf.noGrad(() => {
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(tf.isGradEnabled()).toBe(true);
  });
  it('enableGrad inside noGrad records again', () => {
    const x = tf.tensor([1, 2], { requiresGrad: true });
    const [a, b] = tf.noGrad(() => {
      const inner = tf.enableGrad(() => {
        expect(tf.isGradEnabled()).toBe(true);
        return x.mul(3);
      });
      expect(tf.isGradEnabled()).toBe(false);
      return [inner, x.mul(3)];
    });
    expect(a.requiresGrad).toBe(true);
    expect(b.requiresGrad).toBe(false);
    a.sum().backward();
    expect(arr(x.grad)).toEqual([3, 3]);
  });
});

describe('gradient routing', () => {
  it('gradients through views reach the base', () => {
    const x = tf.tensor([[1, 2, 3], [4, 5, 6]], { requiresGrad: true });
    const y = x.t().slice(0, 0, null, 2).reshape(-1); // x[0,0], x[1,0], x[0,2], x[1,2]
    y.mul(tf.tensor([1, 2, 3, 4])).sum().backward();
    expect(arr(x.grad)).toEqual([[1, 0, 3], [2, 0, 4]]);
    const z = tf.tensor([1, 2, 3], { requiresGrad: true });
    z.select(0, 1).mul(5).backward();
    expect(arr(z.grad)).toEqual([0, 5, 0]);
  });
  it("broadcast gradients are reduced to the input's shape", () => {
    const a = tf.tensor([[1], [2], [3]], { requiresGrad: true }); // [3, 1]
    const b = tf.tensor([10, 20, 30, 40], { requiresGrad: true }); // [4]
    const s = tf.tensor(2, { requiresGrad: true }); // 0-d
    a.add(b).mul(s).sum().backward();
    expect(a.grad!.shape).toEqual([3, 1]);
    expect(arr(a.grad)).toEqual([[8], [8], [8]]);
    expect(b.grad!.shape).toEqual([4]);
    expect(arr(b.grad)).toEqual([6, 6, 6, 6]);
    expect(s.grad!.shape).toEqual([]);
    expect(s.grad!.item()).toBe(3 * 100 + 4 * 6);
    const e = tf.tensor([1, 2], { requiresGrad: true });
    e.expand(3, 2).sum().backward();
    expect(arr(e.grad)).toEqual([3, 3]);
  });
  it('a tensor used twice gets the summed gradient', () => {
    const x = tf.tensor([1, 2, 3], { requiresGrad: true });
    x.mul(x).sum().backward();
    expect(arr(x.grad)).toEqual([2, 4, 6]);
    const y = tf.tensor([2], { requiresGrad: true });
    const h = y.mul(3);
    h.mul(h).add(h).add(y).sum().backward(); // 9y^2 + 3y + y -> 18y + 4
    expect(arr(y.grad)).toEqual([40]);
  });
  it('retainGrad keeps the gradient of a non-leaf', () => {
    const x = tf.tensor([1, 2], { requiresGrad: true });
    const h = x.mul(3).retainGrad();
    const k = x.mul(2); // no retainGrad
    h.mul(k).sum().backward();
    expect(arr(h.grad)).toEqual([2, 4]);
    expect(k.grad).toBeNull();
    expect(arr(x.grad)).toEqual([12, 24]);
    // retained grads own their memory
    tf.noGrad(() => h.grad!.mul_(0));
    expect(arr(x.grad)).toEqual([12, 24]);
  });
  it('unused inputs get no gradient; inputs that do not require grad get none', () => {
    const x = tf.tensor([1, 2], { requiresGrad: true });
    const unused = tf.tensor([1, 2], { requiresGrad: true });
    const c = tf.tensor([5, 6]);
    x.mul(c).sum().backward();
    expect(unused.grad).toBeNull();
    expect(c.grad).toBeNull();
  });
  it('leaf grads never share storage', () => {
    const a = tf.tensor([[1, 2, 3], [4, 5, 6]], { requiresGrad: true });
    const b = tf.tensor([[1, 1, 1], [1, 1, 1]], { requiresGrad: true });
    const y = a.reshape(6).add(b.reshape(6));
    y.backward(tf.ones([6]));
    tf.noGrad(() => a.grad!.mul_(5));
    expect(arr(a.grad)).toEqual([[5, 5, 5], [5, 5, 5]]);
    expect(arr(b.grad)).toEqual([[1, 1, 1], [1, 1, 1]]);
    // the same through a scalar loss and through an intermediate product
    const p = tf.tensor([1, 2], { requiresGrad: true });
    const q = tf.tensor([3, 4], { requiresGrad: true });
    p.add(q).mul(2).sum().backward();
    tf.noGrad(() => p.grad!.zero_());
    expect(arr(q.grad)).toEqual([2, 2]);
    // a leaf used twice through views of one gradient
    const r = tf.tensor([1, 2], { requiresGrad: true });
    const s = tf.tensor([1, 2], { requiresGrad: true });
    const g = tf.tensor([1, 1]);
    r.add(s).backward(g);
    tf.noGrad(() => s.grad!.add_(1));
    expect(arr(r.grad)).toEqual([1, 1]);
    expect(arr(g)).toEqual([1, 1]);
  });
});

describe('in-place modification of saved tensors', () => {
  it('modifying an input saved by mul makes backward throw', () => {
    const x = tf.tensor([1, 2], { requiresGrad: true });
    const w = tf.tensor([3, 4]);
    const y = x.mul(w).sum();
    tf.noGrad(() => w.mul_(2));
    expect(() => y.backward()).toThrow(/modified by an in-place operation/);
  });
  it('modifying a leaf with copy_ inside noGrad makes backward throw', () => {
    const x = tf.tensor([1, 2], { requiresGrad: true });
    const y = x.mul(x).sum();
    tf.noGrad(() => x.copy_(tf.tensor([5, 6])));
    expect(() => y.backward()).toThrow(/in-place/);
  });
  it('modifying a saved output (exp) through a view makes backward throw', () => {
    const x = tf.tensor([1, 2], { requiresGrad: true });
    const e = x.exp();
    const y = e.sum();
    tf.noGrad(() => e.reshape(2, 1).mul_(2));
    expect(() => y.backward()).toThrow(/in-place/);
  });
  it('modifying tensors that backward does not read is fine', () => {
    // add saves nothing; div does not read its output
    const a = tf.tensor([1, 2], { requiresGrad: true });
    const b = tf.tensor([3, 4]);
    const y = a.add(b);
    tf.noGrad(() => b.mul_(2));
    y.sum().backward();
    expect(arr(a.grad)).toEqual([1, 1]);
    const p = tf.tensor([2, 4], { dtype: 'float64', requiresGrad: true });
    const q = tf.tensor([4, 8], { dtype: 'float64', requiresGrad: true });
    const r = p.div(q);
    tf.noGrad(() => r.mul_(100));
    r.sum().backward();
    expect(arr(p.grad)).toEqual([0.25, 0.125]);
    expect(arr(q.grad)).toEqual([-2 / 16, -4 / 64]);
  });
  it('in-place ops on a tensor that requires grad are refused outside noGrad', () => {
    const x = tf.tensor([1, 2], { requiresGrad: true });
    expect(() => x.mul_(2)).toThrow(/requires grad/);
    expect(() => x.mul(2).add_(1)).toThrow(/requires grad/);
  });
});

describe('graph edge cases', () => {
  it('a deep chain (5000 adds) does not overflow the stack', () => {
    const x = tf.tensor([1, 2], { requiresGrad: true });
    const out = tf.tidy(() => {
      let y = x;
      for (let i = 0; i < 5000; i++) y = y.add(1);
      y.sum().backward();
      return y;
    });
    expect(arr(out)).toEqual([5001, 5002]);
    expect(arr(x.grad)).toEqual([1, 1]);
  });
  it('a deep chain of muls gives the right product', () => {
    const x = tf.tensor([1.0], { dtype: 'float64', requiresGrad: true });
    tf.tidy(() => {
      let y = x;
      for (let i = 0; i < 3000; i++) y = y.mul(1.0001);
      y.sum().backward();
    });
    expect(x.grad!.item()).toBeCloseTo(Math.pow(1.0001, 3000), 8);
  });
  it('a wide graph (diamond) sums every path', () => {
    const x = tf.tensor([1], { requiresGrad: true });
    const parts: Tensor[] = [];
    for (let i = 1; i <= 50; i++) parts.push(x.mul(i));
    tf.stack(parts).sum().backward();
    expect(x.grad!.item()).toBe((50 * 51) / 2);
  });
  it('backward through a disposed intermediate throws instead of giving wrong gradients', () => {
    const x = tf.tensor([1, 2], { requiresGrad: true });
    const h = x.exp();
    const y = h.sum();
    h.dispose();
    expect(() => y.backward()).toThrow(/disposed/);
    expect(x.grad).toBeNull();
    // the usual mistake: the loss escapes a tidy that freed the forward intermediates
    const loss = tf.tidy(() => x.mul(2).exp().sum());
    expect(() => loss.backward()).toThrow(/disposed/);
  });
  it('backward inside tidy keeps .grad and frees the rest', () => {
    const x = tf.tensor([1, 2], { requiresGrad: true });
    const before = tf.memory().tensors;
    tf.tidy(() => {
      x.mul(x).exp().sum().backward();
    });
    expect(x.grad).not.toBeNull();
    expect(x.grad!.isDisposed).toBe(false);
    close(x.grad, [2 * Math.exp(1), 4 * Math.exp(4)], 1e-3);
    expect(tf.memory().tensors).toBe(before + 1);
  });
  it('gradFn names follow PyTorch', () => {
    const x = tf.tensor([[1, 2], [3, 4]], { requiresGrad: true });
    expect(x.mul(2).gradFn!.name).toBe('MulBackward');
    expect(x.matmul(x).gradFn!.name).toBe('MmBackward');
    expect(x.sum().gradFn!.name).toBe('SumBackward');
    expect(x.t().gradFn!.name).toBe('TransposeBackward');
    expect(x.exp().gradFn!.name).toBe('ExpBackward');
    expect(x.gradFn).toBeNull();
  });
});
