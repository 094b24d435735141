// Bad input: every case must throw a JS Error (never crash the process) whose message names the op
// and the offending shapes / dtypes / values.
import { describe, expect, it } from 'vitest';
import * as tf from '../lib';
import { expectThrows } from './helpers';

const int = (data: number[], shape?: number[]): tf.Tensor => tf.tensor(data, { dtype: 'int32', shape });
const ones = (n: number): number[] => new Array(n).fill(1);

describe('matmul', () => {
  it('[2, 3] @ [4, 5] names both shapes and the mismatch, exactly', () => {
    const e = expectThrows(() => tf.matmul(tf.zeros([2, 3]), tf.zeros([4, 5])));
    expect(e.message).toBe('matmul: shapes [2, 3] and [4, 5] are incompatible (3 != 4)');
    expect(() => tf.zeros([2, 3]).matmul(tf.zeros([4, 5]))).toThrow('matmul: shapes [2, 3] and [4, 5] are incompatible (3 != 4)');
  });

  it('vector and batched mismatches, 0-d operands, mm/bmm ranks', () => {
    expectThrows(() => tf.matmul(tf.zeros([3]), tf.zeros([4])), 'matmul', '[3]', '[4]', '3 != 4');
    expectThrows(() => tf.matmul(tf.zeros([2, 3]), tf.zeros([2])), 'matmul', '[2, 3]', '[2]', '3 != 2');
    expectThrows(() => tf.matmul(tf.zeros([2, 3, 4]), tf.zeros([3, 4, 5])), 'matmul', '[2]', '[3]', 'broadcast');
    expectThrows(() => tf.matmul(tf.tensor(1), tf.zeros([3])), 'matmul', '[]', '[3]');
    expectThrows(() => tf.matmul(tf.zeros([3]), tf.tensor(1)), 'matmul', 'at least 1 dimension');
    expectThrows(() => tf.mm(tf.zeros([2, 3, 4]), tf.zeros([4, 5])), 'mm', '[2, 3, 4]', '2-D');
    expectThrows(() => tf.bmm(tf.zeros([2, 3, 4]), tf.zeros([3, 4, 5])), 'bmm', '[2, 3, 4]', '[3, 4, 5]');
    expectThrows(() => tf.bmm(tf.zeros([3, 4]), tf.zeros([4, 5])), 'bmm', '3-D');
    expectThrows(() => tf.zeros([3]).mT(), 'mT', '[3]');
    expectThrows(() => tf.matmul(tf.zeros([2]), [1, 2] as unknown as tf.Tensor), 'matmul', 'Tensor');
  });

  it('requires floating-point operands', () => {
    expectThrows(() => tf.matmul(tf.zeros([2, 3], { dtype: 'int32' }), tf.zeros([3, 5])), 'matmul', 'int32', 'float32');
    expectThrows(() => tf.matmul(tf.zeros([2, 3]), tf.zeros([3, 5], { dtype: 'bool' })), 'matmul', 'bool');
  });
});

describe('tensor() data', () => {
  it('ragged nested arrays', () => {
    expectThrows(() => tf.tensor([[1, 2], [3]]), 'tensor', 'ragged', 'expected 2', '[1]');
    expectThrows(() => tf.tensor([[1], [2, 3]]), 'tensor', 'ragged', 'expected 1', 'got 2');
    expectThrows(() => tf.tensor([[1, 2], 3] as unknown as number[][]), 'tensor', 'ragged');
    expectThrows(() => tf.tensor([1, [2]] as unknown as number[]), 'tensor', '[1]', 'array');
    expectThrows(() => tf.tensor([[[1, 2]], [[3]]]), 'tensor', 'ragged', '[1, 0]');
  });

  it('non-number elements', () => {
    expectThrows(() => tf.tensor(['a'] as unknown as number[]), 'tensor', '[0]', 'string');
    expectThrows(() => tf.tensor([1, undefined] as unknown as number[]), 'tensor', '[1]', 'undefined');
    expectThrows(() => tf.tensor([[1, null]] as unknown as number[][]), 'tensor', '[0, 1]');
    expectThrows(() => tf.tensor([1n] as unknown as number[]), 'tensor', 'bigint');
    expectThrows(() => tf.tensor({} as unknown as number[]), 'tensor', 'object');
    expectThrows(() => tf.tensor('abc' as unknown as number[]), 'tensor', 'string');
    expectThrows(() => tf.tensor([[1], [true]]), 'tensor', 'mixes numbers and booleans');
    expectThrows(() => tf.tensor(new Int16Array(2) as unknown as Int32Array), 'tensor', 'Int16Array');
  });

  it('shape option that does not match the data', () => {
    expectThrows(() => tf.tensor(new Float32Array(3), { shape: [2, 2] }), 'tensor', '[2, 2]', '4', '3');
    expectThrows(() => tf.tensor([1, 2, 3], { shape: [2, 2] }), 'tensor', '[2, 2]', '3');
    expectThrows(() => tf.tensor([1], { shape: [-1] }), 'tensor', '[-1]');
  });

  it('unknown dtypes and devices', () => {
    expectThrows(() => tf.tensor([1], { dtype: 'int64' as tf.DType }), 'tensor', 'int64');
    expectThrows(() => tf.zeros([2], { dtype: 'float8' as tf.DType }), 'zeros', 'float8');
    expectThrows(() => tf.zeros([2]).to('complex64' as tf.DType), 'to', 'complex64');
    expectThrows(() => tf.zeros([2]).to('cuda' as tf.DType), 'to', 'cuda');
    expectThrows(() => tf.zeros([2], { device: 'cuda' as 'cpu' }), 'zeros', 'cuda');
  });
});

describe('dims', () => {
  const x = tf.zeros([2, 3]);

  it('an options object (or anything else) where a dim belongs names the op', () => {
    type Dims = number;
    const opts = { keepdim: true } as unknown as Dims;
    expectThrows(() => x.sum(opts), 'sum', 'dim must be an integer or a list of integers', 'options go after the dim');
    expectThrows(() => x.max(opts), 'max', 'dim must be');
    expectThrows(() => x.var(opts), 'var', 'dim must be');
    expectThrows(() => x.mean('1' as unknown as Dims), 'mean', 'got string');
  });

  it('out of range dims name the op, the dim and the rank', () => {
    const cases: [string, () => unknown][] = [
      ['sum', () => x.sum(2)],
      ['mean', () => x.mean(-3)],
      ['argmax', () => x.argmax(2)],
      ['softmax', () => x.softmax(5)],
      ['logSoftmax', () => x.logSoftmax(-3)],
      ['transpose', () => x.transpose(0, 3)],
      ['squeeze', () => x.squeeze(3)],
      ['unsqueeze', () => x.unsqueeze(4)],
      ['select', () => x.select(2, 0)],
      ['narrow', () => x.narrow(-3, 0, 1)],
      ['slice', () => x.slice(2, 0, 1)],
      ['cat', () => tf.cat([x, x], 2)],
      ['stack', () => tf.stack([x, x], 4)],
      ['gather', () => x.gather(2, int([0], [1, 1]))],
      ['indexSelect', () => x.indexSelect(-3, int([0]))],
      ['split', () => x.split(1, 2)],
      ['unbind', () => x.unbind(2)],
      ['flatten', () => x.flatten(0, 2)],
      ['permute', () => x.permute(0, 2)],
      ['logsumexp', () => x.logsumexp(7)],
      ['var', () => x.var(2)],
    ];
    for (const [op, f] of cases) {
      const e = expectThrows(f, `${op}:`, 'out of range');
      expect(e.message).toMatch(/dim -?\d+/);
    }
    expectThrows(() => tf.tensor(1).transpose(3, 5), 'transpose', 'dim 3', 'out of range');
    expectThrows(() => x.size(2), 'size', 'dim 2');
  });

  it('repeated dims', () => {
    expectThrows(() => x.sum([0, 0]), 'sum', 'dim 0', 'more than once');
    expectThrows(() => x.mean([0, -2]), 'mean', 'dim -2', 'more than once');
    expectThrows(() => tf.amax(x, [1, -1]), 'max', 'more than once');
    expectThrows(() => x.permute(0, 0), 'permute', 'repeated', '[0, 0]');
    expectThrows(() => x.permute(1, -1), 'permute', 'repeated');
  });

  it('non-integer dims, a dim list where one dim is required, wrong permutation length', () => {
    expectThrows(() => x.sum(0.5), 'sum', 'integer', '0.5');
    expectThrows(() => x.argmax([0] as unknown as number), 'argmax', 'single integer');
    expectThrows(() => x.permute(0), 'permute', '1', '2', '[2, 3]');
    expectThrows(() => (x as unknown as { softmax: () => tf.Tensor }).softmax(), 'softmax', 'dim');
    expectThrows(() => x.flatten(1, 0), 'flatten', 'startDim 1', 'endDim 0');
  });

  it('0-d tensors have no dim to split, narrow, select or concatenate', () => {
    const s = tf.tensor(1);
    expectThrows(() => s.unbind(), 'unbind', '0-d');
    expectThrows(() => s.split(1), 'split', '0-d');
    expectThrows(() => s.chunk(1), 'chunk', '0-d');
    expectThrows(() => s.narrow(0, 0, 1), 'narrow', '0-d');
    expectThrows(() => s.select(0, 0), 'select', '0-d');
    expectThrows(() => s.slice(0, 0, 1), 'slice', '0-d');
    expectThrows(() => tf.cat([s, s]), 'cat', 'zero-dimensional');
  });
});

describe('shapes', () => {
  const x = tf.zeros([2, 3]);

  it('impossible reshape / view', () => {
    expectThrows(() => x.reshape(4), 'reshape', '[4]', 'size 6', '[2, 3]');
    expectThrows(() => x.view(5, -1), 'view', '[5, -1]', '6');
    expectThrows(() => x.reshape(-1, -1), 'reshape', 'only one dimension can be inferred');
    expectThrows(() => x.reshape(-1, 0), 'reshape', '[-1, 0]');
    expectThrows(() => x.reshape(1.5, 4), 'reshape', '1.5');
    expectThrows(() => x.t().view(6), 'view', 'stride', '[3, 2]', 'reshape');
    expectThrows(() => tf.zeros([0, 3]).reshape(-1, 0), 'reshape', '[-1, 0]');
    expectThrows(() => x.unflatten(1, [2, 2]), 'unflatten', '[2, 2]');
  });

  it('broadcasting failures name the op and both shapes', () => {
    expectThrows(() => tf.add(x, tf.zeros([4])), 'add:', '[2, 3]', '[4]', 'broadcast');
    expectThrows(() => tf.mul(tf.zeros([3, 1, 2]), tf.zeros([4, 3])), 'mul:', '[3, 1, 2]', '[4, 3]');
    expectThrows(() => tf.lt(x, tf.zeros([3, 2])), 'lt:', '[2, 3]', '[3, 2]');
    expectThrows(() => tf.logicalAnd(x, tf.zeros([2])), 'logicalAnd:');
    expectThrows(() => tf.where(tf.zeros([5]).eq(0), x, 1), 'where:', '[5]', '[2, 3]');
    expectThrows(() => tf.zeros([3]).expand(4), 'expand', '4', '3', '[3]');
    expectThrows(() => x.expand(3), 'expand', '(1)', '(2)');
    expectThrows(() => x.expand(-2, 3), 'expand', '-2');
    expectThrows(() => tf.noGrad(() => tf.zeros([2, 3]).copy_(tf.zeros([4]))), 'copy_', '[4]', '[2, 3]');
    expectThrows(() => tf.zeros([2, 3]).add_(tf.zeros([2, 3, 1])), 'add_', '[2, 3, 1]', '[2, 3]');
    expectThrows(() => tf.zeros([2, 3]).sub_(tf.zeros([4])), 'sub_', '[4]');
  });

  it('split sizes that do not sum to the dim; bad split sizes and chunk counts', () => {
    expectThrows(() => x.split([1, 1], 1), 'split', '[1, 1]', 'sum to 3');
    expectThrows(() => x.split([1, 3], 1), 'split', 'sum to 3');
    expectThrows(() => x.split([-1, 4], 1), 'split', '[-1, 4]');
    expectThrows(() => x.split(0, 1), 'split', '0');
    expectThrows(() => x.split(-1, 1), 'split', '-1');
    expectThrows(() => x.chunk(0), 'chunk', '0');
    expectThrows(() => x.chunk(1.5), 'chunk', '1.5');
  });

  it('cat / stack with mismatched shapes', () => {
    expectThrows(() => tf.cat([x, tf.zeros([2, 4])], 0), 'cat', '[2, 3]', '[2, 4]', 'dim 1');
    expectThrows(() => tf.cat([x, tf.zeros([2, 3, 1])]), 'cat', '[2, 3]', '[2, 3, 1]');
    expectThrows(() => tf.cat([]), 'cat', 'non-empty');
    expectThrows(() => tf.cat([x, 1 as unknown as tf.Tensor]), 'cat', 'element 1');
    expectThrows(() => tf.stack([x, tf.zeros([3, 2])]), 'stack', '[2, 3]', '[3, 2]', 'entry 1');
    expectThrows(() => tf.stack([]), 'stack', 'non-empty');
  });

  it('index-shape mismatches in gather / scatterAdd / indexAdd / indexSelect', () => {
    expectThrows(() => x.gather(1, int([0])), 'gather', '[1]', '[2, 3]', 'number of dims');
    expectThrows(() => x.gather(1, int(new Array(9).fill(0), [3, 3])), 'gather', '[3, 3]', '[2, 3]');
    expectThrows(() => x.indexSelect(0, int([0, 0], [1, 2])), 'indexSelect', '[1, 2]');
    expectThrows(() => x.scatterAdd(0, int([0, 0], [1, 2]), tf.zeros([1, 1])), 'scatterAdd', '[1, 2]', '[1, 1]');
    expectThrows(() => x.indexAdd(0, int([0]), tf.zeros([1, 4])), 'indexAdd', '[1, 4]', '[2, 3]');
    expectThrows(() => x.indexAdd(0, int([0, 1]), tf.zeros([1, 3])), 'indexAdd', '[1, 3]');
  });
});

describe('dtypes', () => {
  const x = tf.zeros([2, 3]);
  it('index tensors must be int32', () => {
    expectThrows(() => x.gather(0, tf.zeros([1, 1])), 'gather', 'int32', 'float32');
    expectThrows(() => x.indexSelect(0, tf.zeros([1], { dtype: 'float64' })), 'indexSelect', 'int32', 'float64');
    expectThrows(() => x.scatterAdd(0, tf.zeros([1, 1], { dtype: 'bool' }), x), 'scatterAdd', 'int32', 'bool');
    expectThrows(() => x.indexAdd(0, tf.zeros([1]), x.narrow(0, 0, 1)), 'indexAdd', 'int32', 'float32');
  });

  it('floating-point required: mean, var, std, logsumexp, rand', () => {
    expectThrows(() => tf.arange(3).mean(), 'mean', 'int32');
    expectThrows(() => tf.tensor([true]).mean(), 'mean', 'bool');
    expectThrows(() => tf.arange(3).var(), 'var', 'int32');
    expectThrows(() => tf.arange(3).std(), 'var', 'int32');
    expectThrows(() => tf.arange(3).logsumexp(0), 'logsumexp', 'int32');
    expectThrows(() => tf.rand([2], { dtype: 'int32' }), 'rand', 'int32');
    expectThrows(() => tf.randn([2], { dtype: 'bool' }), 'randn', 'bool');
    expectThrows(() => tf.randint(0, 2, [2], { dtype: 'bool' }), 'randint', 'bool');
  });

  it('where needs a bool condition', () => {
    expectThrows(() => tf.where(tf.zeros([2, 3]), x, x), 'where', 'bool', 'float32');
    expectThrows(() => tf.where(tf.arange(2), 1, 0), 'where', 'bool', 'int32');
    expectThrows(() => tf.where(true as unknown as tf.Tensor, x, x), 'where', 'Tensor');
  });

  it('in-place ops cannot store floats into an integer tensor', () => {
    expectThrows(() => tf.arange(3).add_(1.5), 'add_', 'int32');
    expectThrows(() => tf.arange(3).mul_(tf.ones([3])), 'mul_', 'float32', 'int32');
    expectThrows(() => tf.arange(3).div_(2), 'div_', 'int32');
    expectThrows(() => tf.arange(3).sub_(0.5), 'sub_', 'int32');
    // integer updates of integer tensors are fine
    expect(tf.arange(3).add_(2).toArray()).toEqual([2, 3, 4]);
    expect(tf.arange(3).sub_(tf.arange(3), { alpha: 2 }).toArray()).toEqual([0, -1, -2]);
  });

  it('non-tensor arguments', () => {
    expectThrows(() => tf.add(x, 'a' as unknown as number), 'add', 'string');
    expectThrows(() => tf.add(1, 2), 'add', 'Tensor');
    expectThrows(() => tf.exp(3 as unknown as tf.Tensor), 'exp', 'Tensor', 'number');
    expectThrows(() => tf.sum([1, 2] as unknown as tf.Tensor), 'sum', 'Tensor');
    expectThrows(() => tf.argmax(null as unknown as tf.Tensor), 'argmax', 'Tensor');
    expectThrows(() => tf.softmax([1, 2] as unknown as tf.Tensor, 0), 'softmax', 'Tensor');
    expectThrows(() => tf.reshape([1, 2] as unknown as tf.Tensor, [2]), 'reshape', 'Tensor');
    expectThrows(() => tf.split([1] as unknown as tf.Tensor, 1), 'split', 'Tensor');
    expectThrows(() => x.leakyRelu('a' as unknown as number), 'leakyRelu', 'number');
    expectThrows(() => x.gelu({ approximate: 'foo' as 'tanh' }), 'gelu', 'foo');
    expectThrows(() => x.clamp(), 'clamp', 'min');
  });
});

describe('indices out of bounds (including negative)', () => {
  const x = tf.zeros([2, 3]);
  it('gather', () => {
    expectThrows(() => x.gather(1, int([3], [1, 1])), 'gather', 'index 3', 'size 3');
    expectThrows(() => x.gather(1, int([-1], [1, 1])), 'gather', 'index -1', 'size 3');
    expectThrows(() => x.gather(0, int([0, 2], [1, 2])), 'gather', 'index 2', 'size 2');
  });
  it('indexSelect', () => {
    expectThrows(() => x.indexSelect(1, int([0, 3])), 'indexSelect', 'index 3', 'size 3');
    expectThrows(() => x.indexSelect(1, int([-1])), 'indexSelect', 'index -1');
    expectThrows(() => x.indexSelect(0, tf.tensor(5, { dtype: 'int32' })), 'indexSelect', 'index 5');
  });
  it('scatterAdd', () => {
    expectThrows(() => x.scatterAdd(1, int([5], [1, 1]), x), 'scatterAdd', 'index 5', 'size 3');
    expectThrows(() => x.scatterAdd(1, int([-2], [1, 1]), x), 'scatterAdd', 'index -2');
    expectThrows(() => x.scatterAdd(0, int([1, 2], [1, 2]), x), 'scatterAdd', 'index 2', 'size 2');
  });
  it('indexAdd', () => {
    expectThrows(() => x.indexAdd(1, int([3]), tf.zeros([2, 1])), 'indexAdd', 'index 3', 'size 3');
    expectThrows(() => x.indexAdd(1, int([-1]), tf.zeros([2, 1])), 'indexAdd', 'index -1');
    expectThrows(() => x.indexAdd(0, int([0, 7]), tf.zeros([2, 3]), { alpha: 2 }), 'indexAdd', 'index 7');
  });
  it('the input is untouched after a failed scatterAdd / indexAdd', () => {
    const y = tf.ones([3]);
    expect(() => y.indexAdd(0, int([0, 9]), tf.ones([2]))).toThrow();
    expect(() => y.scatterAdd(0, int([1, -5]), tf.ones([2]))).toThrow();
    expect(y.toArray()).toEqual([1, 1, 1]);
  });
  it('select / narrow out of bounds', () => {
    expectThrows(() => x.select(0, 2), 'select', 'index 2', 'size 2');
    expectThrows(() => x.select(1, -4), 'select', 'index -4', 'size 3');
    expectThrows(() => x.narrow(1, 2, 2), 'narrow', 'start 2', 'length 2', 'size 3');
    expectThrows(() => x.narrow(1, 0, -1), 'narrow', 'length -1');
    expectThrows(() => x.slice(0, 0, 2, 0), 'slice', 'step', '0');
    expectThrows(() => x.slice(0, 0, 2, -1), 'slice', 'step', '-1');
  });
});

describe('disposed tensors', () => {
  const dead = (): tf.Tensor => {
    const d = tf.randn([2, 2]);
    d.dispose();
    return d;
  };
  const live = tf.zeros([2, 2]);
  const cases: [string, (d: tf.Tensor) => unknown][] = [
    ['add', (d) => d.add(1)],
    ['add', (d) => tf.add(live, d)],
    ['eq', (d) => tf.eq(1, d)],
    ['exp', (d) => d.exp()],
    ['gelu', (d) => d.gelu()],
    ['clamp', (d) => d.clamp(0)],
    ['pow', (d) => d.pow(2)],
    ['sum', (d) => d.sum()],
    ['max', (d) => d.max()],
    ['argmax', (d) => d.argmax()],
    ['softmax', (d) => d.softmax(0)],
    ['matmul', (d) => d.matmul(live)],
    ['matmul', (d) => live.matmul(d)],
    ['reshape', (d) => d.reshape(4)],
    ['t', (d) => d.t()],
    ['expand', (d) => d.expand(3, 2, 2)],
    ['select', (d) => d.select(0, 0)],
    ['cat', (d) => tf.cat([live, d])],
    ['stack', (d) => tf.stack([live, d])],
    ['split', (d) => d.split(1)],
    ['unbind', (d) => d.unbind()],
    ['gather', (d) => d.gather(0, int([0], [1, 1]))],
    ['indexSelect', (d) => d.indexSelect(0, int([0]))],
    ['indexSelect', () => { const i = int([0]); i.dispose(); return live.indexSelect(0, i); }],
    ['where', (d) => tf.where(live.gt(0), d, 1)],
    ['to', (d) => d.double()],
    ['clone', (d) => d.clone()],
    ['fill_', (d) => d.fill_(1)],
    ['copy_', (d) => tf.zeros([2, 2]).copy_(d)],
    ['dataSync', (d) => d.dataSync()],
    ['dataSync', (d) => d.toArray()],
    ['backward', (d) => d.backward()],
    ['zerosLike', (d) => tf.zerosLike(d)],
    ['randnLike', (d) => tf.randnLike(d)],
  ];
  for (const [op, f] of cases) {
    it(`${op} refuses a disposed tensor`, () => {
      expectThrows(() => f(dead()), `${op}:`, 'disposed', '[');
    });
  }
  it('item on a disposed one-element tensor', () => {
    const d = tf.tensor([1]);
    d.dispose();
    expectThrows(() => d.item(), 'item', 'disposed');
  });
  it('await data() rejects', async () => {
    await expect(dead().data()).rejects.toThrow(/disposed/);
  });
  it('a view stays usable after its base is disposed (shared storage is reference-counted)', () => {
    const base = tf.arange(6).reshape(2, 3);
    const v = base.t();
    base.dispose();
    expect(v.toArray()).toEqual([[0, 3], [1, 4], [2, 5]]);
  });
});

describe('rank limit (16 dims)', () => {
  it('creation, views and nested arrays refuse more than 16 dims', () => {
    expectThrows(() => tf.zeros(ones(17)), 'zeros', '16', '17');
    expectThrows(() => tf.full(ones(17), 1), 'full', '16');
    expectThrows(() => tf.rand(ones(17)), 'rand', '16');
    expectThrows(() => tf.tensor([1], { shape: ones(17) }), 'tensor', '16');
    expectThrows(() => tf.zeros([1]).reshape(ones(17)), 'reshape', '16');
    expectThrows(() => tf.zeros([1]).view(ones(17)), 'view', '16');
    expectThrows(() => tf.zeros([1]).expand(ones(17)), 'expand', '16');
    expectThrows(() => tf.zeros(ones(16)).unsqueeze(0), 'unsqueeze', '16');
    expectThrows(() => tf.zeros(ones(16)).unflatten(0, [1, 1]), '16');
    expectThrows(() => tf.stack([tf.zeros(ones(16))]), '16');
    let nested: tf.NestedArray = 1;
    for (let k = 0; k < 17; k++) nested = [nested];
    expectThrows(() => tf.tensor(nested), 'tensor', '16');
  });
  it('16 dims are fine', () => {
    const t = tf.ones(ones(16));
    expect(t.add(t).sum().item()).toBe(2);
    expect(t.ndim).toBe(16);
  });
});

describe('negative and invalid sizes', () => {
  it('creation functions', () => {
    expectThrows(() => tf.zeros([-1]), 'zeros', '[-1]');
    expectThrows(() => tf.ones(2, -2), 'ones', '[2, -2]');
    expectThrows(() => tf.full([-1], 1), 'full', '[-1]');
    expectThrows(() => tf.empty([3, -1]), 'empty', '[3, -1]');
    expectThrows(() => tf.rand([-1]), 'rand', '[-1]');
    expectThrows(() => tf.randn(-1), 'randn', '[-1]');
    expectThrows(() => tf.randint(0, 3, [-2]), 'randint', '[-2]');
    expectThrows(() => tf.eye(-1), 'eye', '-1');
    expectThrows(() => tf.eye(2.5), 'eye', '2.5');
    expectThrows(() => tf.linspace(0, 1, -1), 'linspace', '-1');
    expectThrows(() => tf.linspace(0, 1, 2.5), 'linspace', '2.5');
    expectThrows(() => tf.zeros([1.5]), 'zeros', '[1.5]');
    expectThrows(() => tf.zeros([NaN]), 'zeros', 'NaN');
    expectThrows(() => tf.zeros([Infinity]), 'zeros', 'Infinity');
    expectThrows(() => tf.full([2], 'a' as unknown as number), 'full', 'number');
  });
  it('arange / randint / manualSeed arguments', () => {
    expectThrows(() => tf.arange(0, 3, 0), 'arange', 'step');
    expectThrows(() => tf.arange(3, 0), 'arange', 'start 3', 'end 0');
    expectThrows(() => tf.arange(0, Infinity), 'arange', 'finite');
    expectThrows(() => tf.randint(3, 3, [2]), 'randint', 'low=3', 'high=3');
    expectThrows(() => tf.randint(0.5, 3, [2]), 'randint', 'integer');
    expectThrows(() => tf.manualSeed(-1), 'manualSeed', '-1');
    expectThrows(() => tf.manualSeed(1.5), 'manualSeed', '1.5');
    expectThrows(() => tf.setNumThreads(0), 'setNumThreads', '0');
  });
  it('a size too large to allocate throws instead of crashing', () => {
    expect(() => tf.zeros([1e6, 1e6, 1e6])).toThrow(Error);
  });
});

describe('requiresGrad and in-place rules', () => {
  it('requiresGrad on a non-floating tensor', () => {
    expectThrows(() => tf.tensor([1], { dtype: 'int32', requiresGrad: true }), 'tensor', 'floating-point', 'int32');
    expectThrows(() => tf.arange(3, undefined, 1, { requiresGrad: true }), 'arange', 'floating-point', 'int32');
    expectThrows(() => tf.zeros([2], { dtype: 'bool', requiresGrad: true }), 'zeros', 'bool');
    expectThrows(() => { tf.arange(3).requiresGrad = true; }, 'requiresGrad', 'int32');
    expectThrows(() => tf.tensor([true]).requiresGrad_(), 'requiresGrad_', 'bool');
  });

  it('in-place ops on a leaf that requires grad, outside noGrad', () => {
    const w = tf.randn([3], { requiresGrad: true });
    const cases: [string, () => unknown][] = [
      ['add_', () => w.add_(1)],
      ['sub_', () => w.sub_(1)],
      ['mul_', () => w.mul_(2)],
      ['div_', () => w.div_(2)],
      ['fill_', () => w.fill_(0)],
      ['zero_', () => w.zero_()],
      ['copy_', () => w.copy_(tf.zeros([3]))],
      ['clamp_', () => w.clamp_(0, 1)],
      ['add_', () => w.view(3).add_(1)],
      ['fill_', () => w.select(0, 0).fill_(1)],
    ];
    const before = Array.from(w.dataSync());
    for (const [op, f] of cases) expectThrows(f, `${op}:`, 'requires grad', 'noGrad');
    expect(Array.from(w.dataSync())).toEqual(before);
    // allowed inside noGrad
    tf.noGrad(() => w.add_(1));
    expect(Array.from(w.dataSync())).toEqual(before.map((v) => Math.fround(v + 1)));
  });

  it('in-place writes into an expanded tensor', () => {
    expectThrows(() => tf.zeros([1, 3]).expand(2, 3).fill_(1), 'fill_', 'expanded', '[2, 3]');
    expectThrows(() => tf.zeros([3]).expand(2, 3).add_(1), 'add_', 'expanded');
  });
});

describe('item', () => {
  it('only one-element tensors', () => {
    expectThrows(() => tf.zeros([2, 3]).item(), 'item', 'one-element', '[2, 3]');
    expectThrows(() => tf.zeros([0]).item(), 'item', '[0]');
  });
});
