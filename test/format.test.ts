// toString() follows PyTorch's print format (with tensorforge's dtype names and camelCase suffixes).
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import * as tf from '../lib';

const f64 = { dtype: 'float64' } as const;
const i32 = { dtype: 'int32' } as const;

describe('toString: floats', () => {
  it('float16 and bfloat16 print as floats, like PyTorch', () => {
    expect(tf.tensor([[1.5, -2.25], [0.1, 65504]], { dtype: 'bfloat16', requiresGrad: true }).toString()).toBe(
      'tensor([[ 1.5000e+00, -2.2500e+00],\n        [ 1.0010e-01,  6.5536e+04]], dtype=bfloat16, requiresGrad=true)',
    );
    expect(tf.tensor([0.1, 3], { dtype: 'float16' }).toString()).toBe('tensor([0.1000, 3.0000], dtype=float16)');
  });
  it('integer-valued floats print as `1.`', () => {
    expect(tf.tensor([1, 2, 3]).toString()).toBe('tensor([1., 2., 3.])');
    expect(tf.tensor([0, 10, -3]).toString()).toBe('tensor([ 0., 10., -3.])');
    expect(tf.zeros([3]).toString()).toBe('tensor([0., 0., 0.])');
  });
  it('other floats print with 4 decimals, right-aligned', () => {
    expect(tf.tensor([[1, 2.5], [3, 4]]).toString()).toBe('tensor([[1.0000, 2.5000],\n        [3.0000, 4.0000]])');
    expect(tf.tensor([-1.5, 2]).toString()).toBe('tensor([-1.5000,  2.0000])');
    expect(tf.tensor([0.123456789, 12.5], f64).toString()).toBe('tensor([ 0.1235, 12.5000], dtype=float64)');
  });
  it('0-d tensors', () => {
    expect(tf.tensor(3).toString()).toBe('tensor(3.)');
    expect(tf.tensor(2.5).toString()).toBe('tensor(2.5000)');
    expect(tf.tensor(-7, i32).toString()).toBe('tensor(-7, dtype=int32)');
    expect(tf.tensor(true).toString()).toBe('tensor(True)');
    expect(tf.tensor(1e-7).toString()).toBe('tensor(1.0000e-07)');
  });
  it('3-D tensors separate blocks with a blank line', () => {
    const t = tf.arange(0, 8, 1, { dtype: 'float32' }).reshape(2, 2, 2);
    expect(t.toString()).toBe(
      'tensor([[[0., 1.],\n' + '         [2., 3.]],\n' + '\n' + '        [[4., 5.],\n' + '         [6., 7.]]])',
    );
  });
  it('non-contiguous tensors print their logical layout', () => {
    const t = tf.tensor([[1, 2, 3], [4, 5, 6]]).t();
    expect(t.toString()).toBe('tensor([[1., 4.],\n        [2., 5.],\n        [3., 6.]])');
    const e = tf.tensor([1.5, 2]).expand(2, 2);
    expect(e.toString()).toBe('tensor([[1.5000, 2.0000],\n        [1.5000, 2.0000]])');
  });
});

describe('toString: scientific notation', () => {
  it('is used when magnitudes span more than 1000x, or are tiny or huge', () => {
    expect(tf.tensor([1e-5, 1, 1e5]).toString()).toBe('tensor([1.0000e-05, 1.0000e+00, 1.0000e+05])');
    expect(tf.tensor([0.00001, 0.5]).toString()).toBe('tensor([1.0000e-05, 5.0000e-01])');
    expect(tf.tensor([1.5, 1e9], f64).toString()).toBe('tensor([1.5000e+00, 1.0000e+09], dtype=float64)');
    expect(tf.tensor([-1e-5, 1]).toString()).toBe('tensor([-1.0000e-05,  1.0000e+00])');
  });
  it('applies to integer-valued floats too', () => {
    expect(tf.tensor([1, 10000]).toString()).toBe('tensor([1.0000e+00, 1.0000e+04])');
    expect(tf.tensor([3e9, 1], f64).toString()).toBe('tensor([3.0000e+09, 1.0000e+00], dtype=float64)');
    // exactly 1000x is not "more than"
    expect(tf.tensor([1, 1000]).toString()).toBe('tensor([   1., 1000.])');
  });
  it('zeros do not count toward the range', () => {
    expect(tf.tensor([0, 0.5, 2]).toString()).toBe('tensor([0.0000, 0.5000, 2.0000])');
    expect(tf.tensor([0, 1e-5]).toString()).toBe('tensor([0.0000e+00, 1.0000e-05])');
  });
});

describe('toString: nan and inf', () => {
  it('prints nan, inf and -inf', () => {
    expect(tf.tensor([NaN, Infinity, -Infinity]).toString()).toBe('tensor([nan, inf, -inf])');
    expect(tf.tensor([1.5, NaN]).toString()).toBe('tensor([1.5000,    nan])');
    expect(tf.tensor([100, NaN]).toString()).toBe('tensor([100.,  nan])');
    // the column width comes from the finite values only, as in PyTorch
    expect(tf.tensor([1, -Infinity]).toString()).toBe('tensor([1., -inf])');
    expect(tf.tensor(NaN).toString()).toBe('tensor(nan)');
    expect(tf.tensor([1e-5, Infinity]).toString()).toBe('tensor([1.0000e-05,        inf])');
  });
});

describe('toString: int32 and bool', () => {
  it('int32 has a dtype suffix and no decimal point', () => {
    expect(tf.tensor([1, 2, 3], i32).toString()).toBe('tensor([1, 2, 3], dtype=int32)');
    expect(tf.tensor([1, -10, 100], i32).toString()).toBe('tensor([  1, -10, 100], dtype=int32)');
    expect(tf.tensor([[1, 2], [30, 4]], i32).toString()).toBe('tensor([[ 1,  2],\n        [30,  4]], dtype=int32)');
  });
  it('bool prints True / False with no suffix', () => {
    expect(tf.tensor([true, false, true]).toString()).toBe('tensor([ True, False,  True])');
    expect(tf.tensor([[true, false], [false, true]]).toString()).toBe('tensor([[ True, False],\n        [False,  True]])');
    expect(tf.tensor([1, 2, 3]).gt(1.5).toString()).toBe('tensor([False,  True,  True])');
  });
});

describe('toString: autograd suffixes', () => {
  it('requiresGrad and gradFn', () => {
    const x = tf.tensor([1, 2], { requiresGrad: true });
    expect(x.toString()).toBe('tensor([1., 2.], requiresGrad=true)');
    expect(x.mul(2).toString()).toBe('tensor([2., 4.], gradFn=<MulBackward>)');
    expect(x.sum().toString()).toBe('tensor(3., gradFn=<SumBackward>)');
    expect(x.add(x).toString()).toBe('tensor([2., 4.], gradFn=<AddBackward>)');
    const d = tf.tensor([1.5, 2], { dtype: 'float64', requiresGrad: true });
    expect(d.toString()).toBe('tensor([1.5000, 2.0000], dtype=float64, requiresGrad=true)');
    expect(d.exp().log().toString()).toBe('tensor([1.5000, 2.0000], dtype=float64, gradFn=<LogBackward>)');
    expect(x.detach().toString()).toBe('tensor([1., 2.])');
    expect(tf.noGrad(() => x.mul(2)).toString()).toBe('tensor([2., 4.])');
  });
});

describe('toString: long rows and summaries', () => {
  it('wraps long rows at 80 columns', () => {
    expect(tf.arange(0, 30, 1, { dtype: 'float32' }).toString()).toBe(
      'tensor([ 0.,  1.,  2.,  3.,  4.,  5.,  6.,  7.,  8.,  9., 10., 11., 12., 13.,\n' +
        '        14., 15., 16., 17., 18., 19., 20., 21., 22., 23., 24., 25., 26., 27.,\n' +
        '        28., 29.])',
    );
  });
  it('1000 elements print in full; more are summarized with `...`', () => {
    const full = tf.ones([1000]).toString();
    expect(full).not.toContain('...');
    expect(full.match(/1\./g)!.length).toBe(1000);
    expect(tf.arange(0, 1001, 1, { dtype: 'float32' }).toString()).toBe(
      'tensor([   0.,    1.,    2.,  ...,  998.,  999., 1000.])',
    );
    expect(tf.arange(0, 2000, 1, i32).toString()).toBe('tensor([   0,    1,    2,  ..., 1997, 1998, 1999], dtype=int32)');
  });
  it('summarizes every long dim of a large 2-D and 3-D tensor', () => {
    const row = '[0., 0., 0.,  ..., 0., 0., 0.]';
    const rows = (indent: number): string[] => [row, row, row, '...', row, row, row].map((r, i) => (i === 0 ? r : ' '.repeat(indent) + r));
    expect(tf.zeros([100, 100]).toString()).toBe(`tensor([${rows(8).join(',\n')}])`);
    const block = `[${rows(9).join(',\n')}]`;
    const blocks = [block, block, block, '...', block, block, block].map((b, i) => (i === 0 ? b : ' '.repeat(8) + b));
    expect(tf.zeros([20, 10, 10]).toString()).toBe(`tensor([${blocks.join(',\n\n')}])`);
    // short dims are not summarized even when the tensor is large
    const s = tf.zeros([2, 600]).toString();
    expect(s.split('\n')[0]).toBe('tensor([[0., 0., 0.,  ..., 0., 0., 0.],');
    expect(s.split('\n').length).toBe(2);
  });
  it('the summary sizes columns from the printed values only', () => {
    const t = tf.cat([tf.tensor([1.5]), tf.full([2000], 2), tf.tensor([123456])]);
    expect(t.toString()).toBe('tensor([1.5000e+00, 2.0000e+00, 2.0000e+00,  ..., 2.0000e+00, 2.0000e+00,\n        1.2346e+05])');
    const u = tf.cat([tf.tensor([1.5]), tf.full([2000], 2), tf.tensor([12])]);
    expect(u.toString()).toBe('tensor([ 1.5000,  2.0000,  2.0000,  ...,  2.0000,  2.0000, 12.0000])');
  });
});

describe('toString: empty tensors', () => {
  it('prints [] and the size when it is not 1-D', () => {
    expect(tf.tensor([]).toString()).toBe('tensor([])');
    expect(tf.zeros([0]).toString()).toBe('tensor([])');
    expect(tf.zeros([0, 3]).toString()).toBe('tensor([], size=[0, 3])');
    expect(tf.zeros([2, 0, 1], i32).toString()).toBe('tensor([], size=[2, 0, 1], dtype=int32)');
    expect(tf.zeros([0], f64).toString()).toBe('tensor([], dtype=float64)');
  });
});

describe('toString: other', () => {
  it('console.log / util.inspect use the same text', () => {
    const t = tf.tensor([[1, 2.5], [3, 4]]);
    expect(inspect(t)).toBe(t.toString());
    expect(`${tf.tensor([1, 2])}`).toBe('tensor([1., 2.])');
  });
  it('a disposed tensor says so instead of throwing', () => {
    const t = tf.tensor([1, 2]);
    t.dispose();
    expect(t.toString()).toBe('tensor(<disposed>, shape=[2], dtype=float32)');
  });
  it('printing creates no lasting tensors', () => {
    const t = tf.tensor([[1, 2], [3, 4]]).t();
    const before = tf.memory();
    t.toString();
    expect(tf.memory()).toEqual(before);
  });
});
