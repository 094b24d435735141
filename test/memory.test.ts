// Native memory ownership: dispose, views, tidy scopes, keep, `using`, and flat memory in a training loop.
import { describe, expect, it } from 'vitest';
import * as tf from '../lib';
import type { Tensor } from '../lib';

const mem = (): { tensors: number; bytes: number; storages: number } => tf.memory();

describe('dispose', () => {
  it('frees the tensor and its bytes', () => {
    const m0 = mem();
    const t = tf.zeros([1000]);
    const m1 = mem();
    expect(m1.tensors).toBe(m0.tensors + 1);
    expect(m1.bytes).toBe(m0.bytes + 4000);
    expect(m1.storages).toBe(m0.storages + 1);
    t.dispose();
    expect(t.isDisposed).toBe(true);
    expect(mem()).toEqual(m0);
    const d = tf.ones([10], { dtype: 'float64' });
    expect(mem().bytes).toBe(m0.bytes + 80);
    d.dispose();
    expect(mem()).toEqual(m0);
  });
  it('double dispose is a no-op', () => {
    const m0 = mem();
    const t = tf.ones([3]);
    t.dispose();
    t.dispose();
    tf.dispose(t);
    expect(mem()).toEqual(m0);
  });
  it('using a disposed tensor throws a clear error', () => {
    const t = tf.tensor([1, 2, 3]);
    const other = tf.tensor([1, 1, 1]);
    t.dispose();
    expect(() => t.add(1)).toThrow(/disposed/);
    expect(() => other.add(t)).toThrow(/disposed/);
    expect(() => t.exp()).toThrow(/disposed/);
    expect(() => t.sum()).toThrow(/disposed/);
    expect(() => t.reshape(3, 1)).toThrow(/disposed/);
    expect(() => t.dataSync()).toThrow(/disposed/);
    expect(() => t.toArray()).toThrow(/disposed/);
    expect(() => t.matmul(other)).toThrow(/disposed/);
    expect(() => tf.cat([other, t])).toThrow(/disposed/);
    expect(() => tf.noGrad(() => other.add_(t))).toThrow(/disposed/);
    expect(() => tf.noGrad(() => t.fill_(1))).toThrow(/disposed/);
    const s = tf.tensor(5);
    s.dispose();
    expect(() => s.item()).toThrow(/disposed/);
    expect(t.toString()).toMatch(/disposed/);
    // metadata stays readable
    expect(t.shape).toEqual([3]);
    other.dispose();
  });
  it('tf.dispose takes arrays and objects of tensors', () => {
    const m0 = mem();
    const a = tf.ones([2]), b = tf.ones([3]), c = tf.ones([4]);
    tf.dispose({ a, list: [b, { c }], n: 3 });
    expect(a.isDisposed && b.isDisposed && c.isDisposed).toBe(true);
    expect(mem()).toEqual(m0);
  });
});

describe('ops free their temporaries', () => {
  it('disposing the result of an op returns memory to where it was', () => {
    const a = tf.tensor([[1, 2, 3], [4, 5, 6]]);
    const at = a.t();
    const b = tf.tensor([1, 2, 3]);
    const ai = tf.tensor([[1, 2, 3], [4, 5, 6]], { dtype: 'int32' });
    const mask = a.gt(2);
    const idx = tf.tensor([0, 1, 1], { dtype: 'int32' });
    const idx2 = tf.tensor([[0], [2]], { dtype: 'int32' });
    const s0 = tf.tensor(3);
    const i0 = tf.tensor(0, { dtype: 'int32' });
    const ops: [string, () => unknown][] = [
      ['add', () => a.add(b)], ['add alpha', () => a.add(b, { alpha: 2 })], ['sub alpha', () => tf.sub(a, b, { alpha: -1 })],
      ['add number', () => a.add(2)], ['int * float', () => ai.mul(1.5)], ['int / int', () => ai.div(ai)], ['pow', () => a.pow(b)],
      ['pow number', () => a.pow(2.5)], ['int pow', () => ai.pow(2)], ['int pow -1', () => ai.pow(-1)], ['exp int', () => ai.exp()],
      ['clamp int float bounds', () => ai.clamp(0.5, 2.5)], ['where', () => tf.where(mask, a, 0)], ['sum', () => a.sum()],
      ['sum bool', () => mask.sum()], ['mean keepdim', () => a.mean(1, { keepdim: true })], ['prod', () => a.prod(0)],
      ['max', () => a.max(1)], ['argmax', () => a.argmax()], ['argmax keepdim', () => a.argmax(null, { keepdim: true })],
      ['var', () => a.var(1)], ['std', () => a.std()], ['logsumexp', () => a.logsumexp(1)], ['any', () => mask.any()],
      ['softmax', () => at.softmax(1)], ['matmul', () => a.matmul(b)], ['matmul 1-D', () => b.matmul(b)], ['matmul T', () => b.matmul(at)],
      ['reshape copy', () => at.reshape(6)], ['contiguous', () => at.contiguous()], ['cat', () => tf.cat([a, a])],
      ['stack', () => tf.stack([a, a], 1)], ['split', () => a.split(1)], ['chunk', () => a.chunk(2, 1)], ['unbind', () => a.unbind()],
      ['gather', () => a.gather(1, idx2)], ['indexSelect', () => a.indexSelect(1, idx)], ['indexSelect 0-d', () => s0.indexSelect(0, i0)],
      ['scatterAdd', () => a.scatterAdd(1, idx2, a)], ['indexAdd', () => a.indexAdd(1, idx, a)], ['to', () => a.to('float64')],
      ['toString', () => at.toString()], ['dataSync', () => at.dataSync()], ['gelu', () => a.gelu()], ['atan2', () => a.atan2(b)],
      ['maximum', () => a.maximum(b)], ['remainder', () => a.remainder(2)], ['expand', () => b.expand(2, 3)],
      ['in-place add_ alpha', () => tf.noGrad(() => a.clone().add_(b, { alpha: 2 }))], ['sub_', () => a.clone().sub_(1)],
      ['copy_ broadcast', () => a.clone().copy_(b)], ['mul_ int', () => a.clone().mul_(ai)],
    ];
    for (const [name, f] of ops) {
      const m0 = mem();
      tf.dispose(f() as Tensor | Tensor[]);
      expect({ name, ...mem() }).toEqual({ name, ...m0 });
    }
    tf.dispose([a, at, b, ai, mask, idx, idx2, s0, i0]);
  });
});

describe('views share storage', () => {
  it('a view keeps the storage alive until the last one is disposed', () => {
    const m0 = mem();
    const x = tf.arange(0, 12, 1, { dtype: 'float32' });
    const v = x.reshape(3, 4);
    const vt = v.t();
    const w = vt.slice(0, 1, 3);
    vt.dispose();
    const m1 = mem();
    expect(m1.tensors).toBe(m0.tensors + 3);
    expect(m1.storages).toBe(m0.storages + 1);
    expect(m1.bytes).toBe(m0.bytes + 48);
    x.dispose();
    expect(mem().bytes).toBe(m1.bytes); // still referenced by v and w
    expect(v.toArray()).toEqual([[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]]);
    v.dispose();
    expect(mem().bytes).toBe(m1.bytes);
    expect(w.toArray()).toEqual([[1, 5, 9], [2, 6, 10]]);
    expect(() => v.add(1)).toThrow(/disposed/);
    w.dispose();
    expect(mem()).toEqual(m0);
  });
  it('detach shares storage too', () => {
    const m0 = mem();
    const x = tf.ones([5]);
    const d = x.detach();
    expect(mem().storages).toBe(m0.storages + 1);
    x.dispose();
    expect(d.toArray()).toEqual([1, 1, 1, 1, 1]);
    d.dispose();
    expect(mem()).toEqual(m0);
  });
});

describe('tidy', () => {
  it('disposes intermediates and keeps a returned tensor', () => {
    const m0 = mem();
    const x = tf.ones([4]);
    let inner: Tensor | null = null;
    const y = tf.tidy(() => {
      inner = x.mul(2);
      return inner.add(1).exp();
    });
    expect(inner!.isDisposed).toBe(true);
    expect(x.isDisposed).toBe(false); // created outside
    expect(y.isDisposed).toBe(false);
    expect(mem().tensors).toBe(m0.tensors + 2);
    expect(Array.from(y.dataSync())).toEqual(Array(4).fill(Math.fround(Math.exp(3))));
    x.dispose();
    y.dispose();
    expect(mem()).toEqual(m0);
  });
  it('keeps tensors returned in arrays, objects and Maps', () => {
    const m0 = mem();
    const arr = tf.tidy(() => {
      const a = tf.ones([2]);
      a.mul(3); // garbage
      return [a, a.add(1), 7] as const;
    });
    expect(mem().tensors).toBe(m0.tensors + 2);
    const obj = tf.tidy(() => {
      const t = tf.zeros([3]);
      t.add(5); // garbage
      return { t, nested: { u: t.add(2), list: [t.sub(1)] }, label: 'x' };
    });
    expect(mem().tensors).toBe(m0.tensors + 5);
    expect(obj.nested.u.toArray()).toEqual([2, 2, 2]);
    expect(obj.nested.list[0].toArray()).toEqual([-1, -1, -1]);
    expect(obj.label).toBe('x');
    const map = tf.tidy(() => {
      const m = new Map<string, Tensor>();
      m.set('a', tf.ones([1]).mul(4));
      return m;
    });
    expect(map.get('a')!.item()).toBe(4);
    expect(mem().tensors).toBe(m0.tensors + 6);
    tf.dispose([...arr.slice(0, 2), obj]);
    map.get('a')!.dispose();
    expect(mem()).toEqual(m0);
  });
  it('returning a view keeps its storage; returning nothing frees everything', () => {
    const m0 = mem();
    const v = tf.tidy(() => tf.arange(0, 6, 1, { dtype: 'float32' }).reshape(2, 3).t());
    expect(v.toArray()).toEqual([[0, 3], [1, 4], [2, 5]]);
    expect(mem().tensors).toBe(m0.tensors + 1);
    v.dispose();
    expect(mem()).toEqual(m0);
    const r = tf.tidy(() => {
      tf.ones([100]).mul(2).sum();
    });
    expect(r).toBeUndefined();
    expect(mem()).toEqual(m0);
  });
  it('nests: an inner result moves to the outer scope and is freed there', () => {
    const m0 = mem();
    let innerResult: Tensor | null = null;
    let innerGarbage: Tensor | null = null;
    const out = tf.tidy(() => {
      const a = tf.ones([3]);
      innerResult = tf.tidy(() => {
        innerGarbage = a.mul(2);
        return innerGarbage.add(1);
      });
      expect(innerGarbage!.isDisposed).toBe(true);
      expect(innerResult!.isDisposed).toBe(false);
      return a.add(innerResult!);
    });
    expect(innerResult!.isDisposed).toBe(true); // not returned by the outer tidy
    expect(out.toArray()).toEqual([4, 4, 4]);
    expect(mem().tensors).toBe(m0.tensors + 1);
    out.dispose();
    expect(mem()).toEqual(m0);
  });
  it('cleans up when fn throws, and rethrows', () => {
    const m0 = mem();
    let made: Tensor | null = null;
    expect(() =>
      tf.tidy(() => {
        made = tf.ones([10]).mul(2);
        tf.tidy(() => {
          tf.ones([5]);
          throw new Error('inner boom');
        });
      }),
    ).toThrow('inner boom');
    expect(made!.isDisposed).toBe(true);
    expect(mem()).toEqual(m0);
    // scopes are balanced afterwards: a later tidy still works and nothing leaks into a dead scope
    const t = tf.tidy(() => tf.ones([2]).add(1));
    expect(t.toArray()).toEqual([2, 2]);
    t.dispose();
    expect(mem()).toEqual(m0);
  });
  it('rejects an async fn and frees what it created synchronously', async () => {
    const m0 = mem();
    expect(() =>
      tf.tidy((async () => {
        tf.ones([3]);
        return 1;
      }) as unknown as () => number),
    ).toThrow(/Promise/);
    // a rejecting async fn must not leave an unhandled rejection behind
    expect(() =>
      tf.tidy((async () => {
        throw new Error('async boom');
      }) as unknown as () => number),
    ).toThrow(/Promise/);
    await new Promise((r) => setTimeout(r, 10));
    expect(mem()).toEqual(m0);
    expect(() => tf.tidy(42 as unknown as () => number)).toThrow(/function/);
  });
  it('keep() takes a tensor out of every scope', () => {
    const m0 = mem();
    let kept: Tensor | null = null;
    tf.tidy(() => {
      tf.tidy(() => {
        kept = tf.keep(tf.ones([3]).mul(7));
      });
      expect(kept!.isDisposed).toBe(false);
    });
    expect(kept!.isDisposed).toBe(false);
    expect(kept!.toArray()).toEqual([7, 7, 7]);
    expect(mem().tensors).toBe(m0.tensors + 1);
    kept!.dispose();
    expect(mem()).toEqual(m0);
  });
  it('a tensor disposed inside tidy is not disposed twice, and tensors from outside are untouched', () => {
    const m0 = mem();
    const outside = tf.ones([2]);
    tf.tidy(() => {
      const a = tf.ones([2]);
      a.dispose();
      outside.add(1);
    });
    expect(outside.isDisposed).toBe(false);
    expect(mem().tensors).toBe(m0.tensors + 1);
    outside.dispose();
    expect(mem()).toEqual(m0);
  });
});

describe('using declarations', () => {
  it('free at block end', () => {
    const m0 = mem();
    {
      using a = tf.ones([256]);
      using b = a.mul(2);
      expect(b.sum().item()).toBe(512); // the sum itself leaks to the GC, so dispose it below
      expect(mem().tensors).toBeGreaterThan(m0.tensors);
    }
    // only the un-disposed sum() result survives
    expect(mem().tensors).toBe(m0.tensors + 1);
    expect(mem().bytes).toBe(m0.bytes + 4);
  });
  it('free on early exit by throw', () => {
    const m0 = mem();
    const f = (): void => {
      using a = tf.ones([64]);
      using v = a.reshape(8, 8);
      void v;
      throw new Error('exit');
    };
    expect(f).toThrow('exit');
    expect(mem()).toEqual(m0);
  });
});

describe('memory stays flat in a training loop', () => {
  it('10,000 tidy iterations of forward + backward + SGD update leak nothing', () => {
    const w = tf.tensor([[0.1, -0.2], [0.3, 0.05], [-0.1, 0.2]], { requiresGrad: true });
    const b = tf.tensor([0.0, 0.1], { requiresGrad: true });
    const x = tf.tensor([[1, 2, 3], [0.5, -1, 2], [2, 0, -1], [-1, 1, 1]]);
    const yTrue = tf.tensor([[1, 0], [0, 1], [1, 1], [0, 0]]);
    const lr = 0.02;
    const step = (): number =>
      tf.tidy(() => {
        const pred = x.matmul(w).add(b).sigmoid();
        const loss = pred.sub(yTrue).square().mean();
        loss.backward();
        tf.noGrad(() => {
          w.sub_(w.grad!.mul(lr));
          b.sub_(b.grad!, { alpha: lr });
          w.grad!.zero_();
          b.grad!.zero_();
        });
        return loss.item();
      });
    const first = step(); // creates w.grad and b.grad
    const m0 = mem();
    let last = first;
    for (let i = 0; i < 10_000; i++) last = step();
    expect(mem()).toEqual(m0);
    expect(last).toBeLessThan(first);
    // grads are zeroed, parameters were updated
    expect(Array.from(w.grad!.dataSync())).toEqual([0, 0, 0, 0, 0, 0]);
  });
  it('setting .grad to null after disposing it keeps memory flat too', () => {
    const w = tf.randn([5, 3], { requiresGrad: true });
    const x = tf.randn([7, 5]);
    const m0 = mem();
    for (let i = 0; i < 2000; i++) {
      tf.tidy(() => {
        const loss = x.matmul(w).relu().sum(1).logsumexp(0);
        loss.backward();
        tf.noGrad(() => w.sub_(w.grad!.mul(0.01)));
        w.grad!.dispose();
        w.grad = null;
      });
    }
    expect(mem()).toEqual(m0);
  });
});
