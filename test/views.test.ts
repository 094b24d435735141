// View ops: shapes, strides and offsets as PyTorch gives them, memory sharing with the base tensor
// (writes through either side are seen by the other), and reshape vs view on non-contiguous input.
import { describe, expect, it } from 'vitest';
import * as tf from '../lib';
import { arr, expectClose, expectExact, permuteRef, pickRef, range, type Arr } from './helpers';

/** arange(n) as float32 of a shape: element values are their flat index. */
const iota = (...shape: number[]): tf.Tensor => tf.arange(shape.reduce((p, c) => p * c, 1)).float().reshape(shape);

function layout(t: tf.Tensor): { shape: number[]; strides: number[]; offset: number } {
  return { shape: t.shape, strides: t.strides, offset: t.storageOffset };
}

/** Writes `value` everywhere in `base` (no grad) and checks `view` reads it back. */
function expectSharesMemory(base: tf.Tensor, view: tf.Tensor): void {
  tf.noGrad(() => base.fill_(-7));
  expect(Array.from(view.dataSync()).every((v) => v === -7)).toBe(true);
  // and the other direction: a write through the view shows in the base
  if (view.numel() > 0 && !view.strides.some((s, i) => s === 0 && view.shape[i] > 1)) {
    tf.noGrad(() => view.fill_(3));
    const b = Array.from(base.dataSync());
    expect(b.filter((v) => v === 3).length).toBe(view.numel());
  }
}

describe('reshape / view', () => {
  it('view of a contiguous tensor: strides are contiguous, memory is shared, -1 is inferred', () => {
    const x = iota(2, 3, 4);
    expect(layout(x)).toEqual({ shape: [2, 3, 4], strides: [12, 4, 1], offset: 0 });
    const v = x.view(4, -1);
    expect(layout(v)).toEqual({ shape: [4, 6], strides: [6, 1], offset: 0 });
    expectExact(v, [[0, 1, 2, 3, 4, 5], [6, 7, 8, 9, 10, 11], [12, 13, 14, 15, 16, 17], [18, 19, 20, 21, 22, 23]]);
    expect(tf.view(x, [-1]).shape).toEqual([24]);
    expect(x.view([3, -1, 2]).shape).toEqual([3, 4, 2]);
    expect(x.reshape(-1, 1, 12).shape).toEqual([2, 1, 12]);
    expect(x.view(24).strides).toEqual([1]);
    expectSharesMemory(x, v);
  });

  it('0-d and one-element tensors, empty tensors', () => {
    const s = tf.tensor(5);
    expect(s.view([1]).shape).toEqual([1]);
    expect(s.view(-1).shape).toEqual([1]);
    expect(s.reshape([1, 1, 1]).shape).toEqual([1, 1, 1]);
    expect(tf.tensor([5]).view([]).shape).toEqual([]);
    expect(tf.tensor([[5]]).reshape([]).item()).toBe(5);
    expect(tf.zeros([0, 3]).reshape(-1).shape).toEqual([0]);
    expect(tf.zeros([0, 3]).view(3, 0, 5).shape).toEqual([3, 0, 5]);
    expect(tf.zeros([2, 0]).reshape([0, 7]).shape).toEqual([0, 7]);
  });

  it('view of a non-contiguous tensor works when strides allow it (and shares memory)', () => {
    const base = iota(4, 6);
    const rows = base.slice(0, 0, null, 2); // [2, 6], strides [12, 1]
    expect(layout(rows)).toEqual({ shape: [2, 6], strides: [12, 1], offset: 0 });
    const v = rows.view(2, 2, 3);
    expect(layout(v)).toEqual({ shape: [2, 2, 3], strides: [12, 3, 1], offset: 0 });
    expectExact(v, [[[0, 1, 2], [3, 4, 5]], [[12, 13, 14], [15, 16, 17]]]);
    expectSharesMemory(base, v);

    const tr = iota(3, 4).t(); // [4, 3], strides [1, 4]
    const split = tr.view(2, 2, 3); // splitting the stride-1 dim is fine
    expect(layout(split)).toEqual({ shape: [2, 2, 3], strides: [2, 1, 4], offset: 0 });
    expectExact(split, [[[0, 4, 8], [1, 5, 9]], [[2, 6, 10], [3, 7, 11]]]);
    const withOnes = tr.view(1, 4, 1, 3);
    expect(withOnes.shape).toEqual([1, 4, 1, 3]);
    expect([withOnes.strides[1], withOnes.strides[3]]).toEqual([1, 4]);
    expectExact(withOnes.squeeze(), tr.toArray() as number[][]);

    // transposed 3-D: the non-permuted leading dim can still be split
    const t3 = iota(4, 3, 2).transpose(1, 2); // [4, 2, 3], strides [6, 1, 2]
    const t3v = t3.view(2, 2, 2, 3);
    expect(layout(t3v)).toEqual({ shape: [2, 2, 2, 3], strides: [12, 6, 1, 2], offset: 0 });
    expectClose(t3v, { shape: [2, 2, 2, 3], data: arr(t3).data }, 0);
  });

  it('view refuses strides it cannot express; reshape copies instead', () => {
    const x = iota(3, 4).t(); // [4, 3] strides [1, 4]
    expect(() => x.view(12)).toThrow(/view.*stride/);
    expect(() => x.view(2, 6)).toThrow(/view/);
    const r = x.reshape(12);
    expect(r.isContiguous()).toBe(true);
    expectExact(r, [0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11]);
    // a copy: writing the base does not change it
    tf.noGrad(() => x.fill_(0));
    expectExact(r, [0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11]);

    const sliced = iota(4, 6).slice(1, 0, null, 2); // [4, 3] strides [6, 2]: uniformly strided, so viewable
    expect(layout(sliced.view(12))).toEqual({ shape: [12], strides: [2], offset: 0 });
    expectExact(sliced.reshape(2, 6), [[0, 2, 4, 6, 8, 10], [12, 14, 16, 18, 20, 22]]);
    const cols = iota(4, 6).narrow(1, 1, 4); // [4, 4] strides [6, 1]: rows have gaps
    expect(() => cols.view(16)).toThrow(/view/);
    expect(() => cols.view(2, 8)).toThrow(/view/);
    expect(layout(cols.view(2, 2, 2, 2))).toEqual({ shape: [2, 2, 2, 2], strides: [12, 6, 2, 1], offset: 1 });
    const r2 = cols.reshape(16);
    expect(r2.isContiguous()).toBe(true);
    expectExact(r2, [1, 2, 3, 4, 7, 8, 9, 10, 13, 14, 15, 16, 19, 20, 21, 22]);
    const ex = tf.tensor([1, 2, 3]).expand(2, 3);
    expect(() => ex.view(6)).toThrow(/view/);
    expectExact(ex.reshape(6), [1, 2, 3, 1, 2, 3]);
  });

  it('reshape of a view-compatible non-contiguous tensor does not copy', () => {
    const base = iota(4, 6);
    const r = base.slice(0, 1, null, 2).reshape(2, 3, 2); // rows 1, 3
    expect(layout(r)).toEqual({ shape: [2, 3, 2], strides: [12, 2, 1], offset: 6 });
    expectSharesMemory(base, r);
  });
});

describe('transpose / permute / t / mT', () => {
  it('transpose swaps shape and strides (negative dims too) and shares memory', () => {
    const x = iota(2, 3, 4);
    const y = x.transpose(0, 2);
    expect(layout(y)).toEqual({ shape: [4, 3, 2], strides: [1, 4, 12], offset: 0 });
    expect(tf.transpose(x, -1, -3).strides).toEqual([1, 4, 12]);
    expect(x.transpose(1, 1).strides).toEqual([12, 4, 1]);
    expectClose(y, permuteRef(arr(x), [2, 1, 0]), 0);
    expect(y.isContiguous()).toBe(false);
    expectSharesMemory(x, y);
  });

  it('permute (with negative dims) matches the reference', () => {
    const x = iota(2, 3, 4, 5);
    for (const perm of [[0, 1, 2, 3], [3, 2, 1, 0], [1, 3, 0, 2], [2, 0, 3, 1]]) {
      const y = x.permute(perm);
      expect(y.strides).toEqual(perm.map((p) => [60, 20, 5, 1][p]));
      expectClose(y, permuteRef(arr(x), perm), 0);
    }
    expect(x.permute(-1, 0, -2, 1).shape).toEqual([5, 2, 4, 3]);
    expect(tf.permute(x, [3, 0, 2, 1]).shape).toEqual([5, 2, 4, 3]);
    expect(tf.tensor(3).permute([]).shape).toEqual([]);
  });

  it('t on 0-, 1- and 2-d tensors; mT on batches', () => {
    expect(tf.tensor(1).t().shape).toEqual([]);
    expect(tf.ones([3]).t().shape).toEqual([3]);
    const m = iota(2, 3);
    expect(layout(m.t())).toEqual({ shape: [3, 2], strides: [1, 3], offset: 0 });
    expectExact(tf.t(m), [[0, 3], [1, 4], [2, 5]]);
    const b = iota(2, 3, 4);
    expect(layout(b.mT())).toEqual({ shape: [2, 4, 3], strides: [12, 1, 4], offset: 0 });
    expectClose(b.mT(), permuteRef(arr(b), [0, 2, 1]), 0);
    expectSharesMemory(m, m.t());
  });
});

describe('slice / narrow / select', () => {
  it('slice with negative indices, steps and clamped bounds', () => {
    const x = iota(5, 7);
    const ax = arr(x);
    const cases: [number, number | null | undefined, number | null | undefined, number | undefined, number[]][] = [
      [1, 2, 5, 1, [2, 3, 4]],
      [1, -3, null, 1, [4, 5, 6]],
      [1, null, -2, 2, [0, 2, 4]],
      [1, 1, 100, 3, [1, 4]],
      [1, -100, 2, 1, [0, 1]],
      [1, 5, 2, 1, []],
      [1, 6, 7, 5, [6]],
      [-1, undefined, undefined, 4, [0, 4]],
    ];
    for (const [dim, s, e, step, cols] of cases) {
      const y = x.slice(dim, s, e, step);
      expectClose(y, pickRef(ax, [range(0, 5), cols]), 0);
    }
    const rows = tf.slice(x, 0, 1, null, 2);
    expect(layout(rows)).toEqual({ shape: [2, 7], strides: [14, 1], offset: 7 });
    expectClose(rows, pickRef(ax, [[1, 3], range(0, 7)]), 0);
    const both = x.slice(0, 1, null, 2).slice(1, 1, null, 3);
    expect(layout(both)).toEqual({ shape: [2, 2], strides: [14, 3], offset: 8 });
    expectExact(both, [[8, 11], [22, 25]]);
    expectSharesMemory(x, both);
  });

  it('narrow (negative start) and select (negative index)', () => {
    const x = iota(4, 5);
    const n = x.narrow(1, -3, 2);
    expect(layout(n)).toEqual({ shape: [4, 2], strides: [5, 1], offset: 2 });
    expectExact(n, [[2, 3], [7, 8], [12, 13], [17, 18]]);
    expect(tf.narrow(x, 0, 4, 0).shape).toEqual([0, 5]);
    const s = x.select(0, -1);
    expect(layout(s)).toEqual({ shape: [5], strides: [1], offset: 15 });
    expectExact(s, [15, 16, 17, 18, 19]);
    const c = tf.select(x, -1, 2);
    expect(layout(c)).toEqual({ shape: [4], strides: [5], offset: 2 });
    expectExact(c, [2, 7, 12, 17]);
    expectExact(tf.arange(3).select(0, 1), 1);
    expectSharesMemory(x, x.narrow(0, 1, 2).select(1, 3));
  });
});

describe('expand / broadcastTo', () => {
  it('expanded dims get stride 0 (new leading dims too); -1 keeps a size', () => {
    const x = tf.tensor([[1], [2], [3]]); // [3, 1]
    const e = x.expand(2, 3, 4);
    expect(layout(e)).toEqual({ shape: [2, 3, 4], strides: [0, 1, 0], offset: 0 });
    expectClose(e, { shape: [2, 3, 4], data: range(0, 24).map((i) => Math.floor(i / 4) % 3 + 1) }, 0);
    expect(x.expand(-1, 5).shape).toEqual([3, 5]);
    expect(x.expand([3, 1]).strides).toEqual([1, 1]);
    expect(tf.broadcastTo(x, [2, 3, 2]).strides).toEqual([0, 1, 0]);
    expect(x.broadcastTo([3, 0]).shape).toEqual([3, 0]);
    expect(x.expandAs(tf.zeros([4, 3, 6])).shape).toEqual([4, 3, 6]);
    expect(tf.tensor(7).expand(2, 2).toArray()).toEqual([[7, 7], [7, 7]]);
    tf.noGrad(() => x.fill_(9));
    expect(Array.from(e.dataSync()).every((v) => v === 9)).toBe(true);
  });
});

describe('squeeze / unsqueeze / flatten / unflatten', () => {
  it('squeeze all size-1 dims, one dim, a list, or a non-1 dim (no-op)', () => {
    const x = iota(1, 3, 1, 2);
    expect(layout(x.squeeze())).toEqual({ shape: [3, 2], strides: [2, 1], offset: 0 });
    expect(x.squeeze(0).shape).toEqual([3, 1, 2]);
    expect(x.squeeze(-2).shape).toEqual([1, 3, 2]);
    expect(x.squeeze(1).shape).toEqual([1, 3, 1, 2]);
    expect(x.squeeze([0, 2]).shape).toEqual([3, 2]);
    expect(tf.squeeze(tf.tensor([[5]])).shape).toEqual([]);
    expect(tf.tensor(5).squeeze().shape).toEqual([]);
    expect(tf.tensor(5).squeeze(0).shape).toEqual([]);
    expectSharesMemory(x, x.squeeze());
  });

  it('unsqueeze at every position (negative counts from the end of the result)', () => {
    const x = iota(2, 3);
    expect(layout(x.unsqueeze(0))).toEqual({ shape: [1, 2, 3], strides: [6, 3, 1], offset: 0 });
    expect(layout(x.unsqueeze(1))).toEqual({ shape: [2, 1, 3], strides: [3, 3, 1], offset: 0 });
    expect(layout(x.unsqueeze(2))).toEqual({ shape: [2, 3, 1], strides: [3, 1, 1], offset: 0 });
    expect(x.unsqueeze(-1).shape).toEqual([2, 3, 1]);
    expect(x.unsqueeze(-3).shape).toEqual([1, 2, 3]);
    expect(tf.unsqueeze(tf.tensor(4), 0).shape).toEqual([1]);
    expect(tf.tensor(4).unsqueeze(-1).shape).toEqual([1]);
    const t = x.t().unsqueeze(1); // [3, 1, 2] from strides [1, 3]
    expect(t.strides.filter((_, i) => i !== 1)).toEqual([1, 3]);
    expectExact(t, [[[0, 3]], [[1, 4]], [[2, 5]]]);
    expectSharesMemory(x, x.unsqueeze(1));
  });

  it('flatten ranges of dims and unflatten (with -1)', () => {
    const x = iota(2, 3, 4, 5);
    expect(x.flatten().shape).toEqual([120]);
    expect(x.flatten(1).shape).toEqual([2, 60]);
    expect(x.flatten(1, 2).shape).toEqual([2, 12, 5]);
    expect(tf.flatten(x, -2, -1).shape).toEqual([2, 3, 20]);
    expect(x.flatten(2, 2).shape).toEqual([2, 3, 4, 5]);
    expect(tf.tensor(3).flatten().shape).toEqual([1]);
    expectSharesMemory(x, x.flatten(1, 2));
    expectClose(x.flatten(0, 1), { shape: [6, 4, 5], data: arr(x).data }, 0);
    const u = x.flatten().unflatten(0, [2, -1, 5]);
    expect(layout(u)).toEqual({ shape: [2, 12, 5], strides: [60, 5, 1], offset: 0 });
    expect(tf.unflatten(x, -1, [5, 1]).shape).toEqual([2, 3, 4, 5, 1]);
    // flatten of a non-contiguous tensor copies (values in logical order)
    const f = x.transpose(0, 3).flatten();
    expectClose(f, { shape: [120], data: permuteRef(arr(x), [3, 1, 2, 0]).data }, 0);
  });
});

describe('contiguous / clone / detach', () => {
  it('contiguous returns the tensor itself when already contiguous, a packed copy otherwise', () => {
    const x = iota(3, 4);
    expect(x.contiguous()).toBe(x);
    const t = x.t();
    const c = t.contiguous();
    expect(c).not.toBe(t);
    expect(layout(c)).toEqual({ shape: [4, 3], strides: [3, 1], offset: 0 });
    expectClose(c, permuteRef(arr(x), [1, 0]), 0);
    tf.noGrad(() => x.fill_(0));
    expect(Array.from(c.dataSync()).some((v) => v !== 0)).toBe(true);
    const off = iota(3, 4).narrow(0, 1, 2);
    expect(off.isContiguous()).toBe(true);
    expect(off.storageOffset).toBe(4);
  });

  it('clone copies (same dtype), even when contiguous', () => {
    const x = tf.arange(4);
    const c = x.clone();
    expect(c.dtype).toBe('int32');
    tf.noGrad(() => x.fill_(-1));
    expectExact(c, [0, 1, 2, 3]);
  });

  it('detach shares memory but is cut from the graph', () => {
    const x = tf.randn([3, 2], { requiresGrad: true });
    const y = x.mul(2);
    const d = y.detach();
    expect(d.requiresGrad).toBe(false);
    expect(d.gradFn).toBe(null);
    expect(d.isLeaf).toBe(true);
    expect(layout(d)).toEqual(layout(y));
    const xd = x.detach();
    expect(xd.requiresGrad).toBe(false);
    tf.noGrad(() => x.fill_(4));
    expect(Array.from(xd.dataSync())).toEqual([4, 4, 4, 4, 4, 4]);
    xd.fill_(1); // allowed: the detached view does not require grad
    expect(Array.from(x.dataSync())).toEqual([1, 1, 1, 1, 1, 1]);
    expect(x.t().detach().strides).toEqual([1, 2]);
  });
});

describe('views keep working after copy_ into the base', () => {
  it('copy_ with broadcasting into a base is seen through a transposed, sliced view', () => {
    const base = tf.zeros([3, 4]);
    const view = base.t().slice(0, 1, null, 2); // columns 1 and 3 as rows: [2, 3]
    tf.noGrad(() => base.copy_(tf.tensor([10, 20, 30, 40])));
    expectExact(view, [[20, 20, 20], [40, 40, 40]]);
    tf.noGrad(() => view.copy_(tf.tensor([[1], [2]])));
    expectExact(base, [[10, 1, 30, 2], [10, 1, 30, 2], [10, 1, 30, 2]]);
    tf.noGrad(() => base.select(1, 0).copy_(tf.arange(3)));
    expectExact(base.select(1, 0), [0, 1, 2]);
  });

  it('views of views compose offsets and strides', () => {
    const x = iota(4, 5, 6);
    const v = x.select(0, 2).t().slice(0, 1, 5, 2).narrow(1, 3, 2); // [2, 2]
    const ref: Arr = { shape: [2, 2], data: [] };
    for (const c of [1, 3]) for (const r of [3, 4]) ref.data.push(2 * 30 + r * 6 + c);
    expectClose(v, ref, 0);
    expect(v.storageOffset).toBe(60 + 3 * 6 + 1);
    expect(v.strides).toEqual([2, 6]);
  });
});
