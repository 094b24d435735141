// nn.Module and the layers: registration, state dicts, modes, PyTorch's defaults, forward values
// (PyTorch 1.13 numbers for fixed inputs), gradchecks, and a small model that learns.
import { describe, expect, it } from 'vitest';
import * as tf from '../lib';
import { expectClose, expectThrows } from './helpers';

const { nn } = tf;
const F = nn.functional;
const f64 = { dtype: 'float64' as const };

class TwoLayer extends nn.Module {
  fc1 = new nn.Linear(3, 5);
  act = new nn.ReLU();
  fc2 = new nn.Linear(5, 2, { bias: false });
  forward(x: tf.Tensor): tf.Tensor {
    return this.fc2.forward(this.act.forward(this.fc1.forward(x)));
  }
}

describe('nn.Module', () => {
  it('registers parameters and children by assignment, in order, with dotted names', () => {
    const m = new TwoLayer();
    expect([...m.namedParameters()].map(([k, p]) => [k, p.shape])).toEqual([
      ['fc1.weight', [5, 3]],
      ['fc1.bias', [5]],
      ['fc2.weight', [2, 5]],
    ]);
    expect([...m.namedChildren()].map(([k]) => k)).toEqual(['fc1', 'act', 'fc2']);
    expect(m.parameters().every((p) => p.requiresGrad && p.isLeaf)).toBe(true);
    expect(m.numParameters()).toBe(15 + 5 + 10);
    const seq = new nn.Sequential(new nn.Linear(2, 4), new nn.Tanh(), new nn.Linear(4, 1));
    expect(Object.keys(seq.stateDict())).toEqual(['0.weight', '0.bias', '2.weight', '2.bias']);
    expect(seq.toString()).toContain('(0): Linear(inFeatures=2, outFeatures=4, bias=true)');
  });

  it('stateDict round-trips and loadStateDict reports every problem at once', () => {
    tf.manualSeed(1);
    const a = new TwoLayer(), b = new TwoLayer();
    b.loadStateDict(a.stateDict());
    const x = tf.randn([4, 3]);
    expectClose(b.forward(x), a.forward(x), 0);
    const sd = { ...a.stateDict() } as Record<string, tf.Tensor>;
    delete sd['fc1.bias'];
    sd['extra.weight'] = tf.zeros([1]);
    sd['fc2.weight'] = tf.zeros([3, 5]);
    expectThrows(() => b.loadStateDict(sd), 'loadStateDict', 'fc2.weight: checkpoint [3, 5] vs model [2, 5]', 'missing keys: fc1.bias', 'unexpected keys: extra.weight');
    delete sd['fc2.weight'];
    const r = b.loadStateDict({ ...sd, 'fc2.weight': a.fc2.weight }, { strict: false });
    expect(r).toEqual({ missingKeys: ['fc1.bias'], unexpectedKeys: ['extra.weight'] });
  });

  it('train/eval propagate; zeroGrad drops gradients; to("cuda") explains', () => {
    const m = new nn.Sequential(new nn.Linear(2, 2), new nn.Dropout(0.5));
    m.eval();
    expect([...m.modules()].every((x) => !x.training)).toBe(true);
    m.train();
    expect([...m.modules()].every((x) => x.training)).toBe(true);
    (m.forward(tf.ones([3, 2])) as tf.Tensor).sum().backward();
    expect(m.parameters().every((p) => p.grad !== null)).toBe(true);
    m.zeroGrad();
    expect(m.parameters().every((p) => p.grad === null)).toBe(true);
    expectThrows(() => m.to('cuda'), 'CUDA');
  });
});

describe('layers', () => {
  it('Linear: PyTorch default init bounds and y = x W^T + b', () => {
    tf.manualSeed(2);
    const lin = new nn.Linear(400, 30);
    const bound = 1 / Math.sqrt(400);
    const wv = lin.weight.dataSync();
    expect(Math.max(...wv)).toBeLessThanOrEqual(bound);
    expect(Math.min(...wv)).toBeGreaterThanOrEqual(-bound);
    expect(Math.max(...wv)).toBeGreaterThan(0.9 * bound);
    const x = tf.randn([7, 400]);
    expectClose(lin.forward(x), x.matmul(lin.weight.t()).add(lin.bias!), 1e-5);
    expectThrows(() => lin.forward(tf.zeros([2, 3])), 'linear', '[2, 3]', '400');
  });

  it('LayerNorm, BatchNorm (training and running stats), GroupNorm match PyTorch', () => {
    const x = tf.tensor([[0.2, -1.3, 0.7, 2.1], [1.5, 0.3, -0.4, -2.2], [-0.6, 0.9, 1.1, 0.05]], f64);
    expectClose(new nn.LayerNorm(4, f64).forward(x), [
      [-0.18514380217969043, -1.4194358167109604, 0.2262868693307328, 1.3782927495599182],
      [1.2688651960270085, 0.3731956458902967, -0.1492782583561186, -1.4927825835611865],
      [-1.4126504808148244, 0.7888827360394475, 1.0824204982866839, -0.45865275351130663],
    ], 1e-9);
    const xb = tf.arange(24, undefined, 1, f64).reshape([2, 3, 2, 2]).sin();
    const bn = new nn.BatchNorm2d(3, f64);
    const out = bn.forward(xb);
    expectClose(out.flatten(), [-0.8617630145540495, 0.836289434932931, 0.9731602933316672, -0.5769888753573355, -0.6645297065030336, -1.0394712146574638, 0.22103641724853818, 1.9580882855693706, 1.177742892200957, 0.4184495979515091, -0.8392433613329991, -1.4390188790346397, -1.9445442086638158, -0.013883908847220558, 1.1372402513773487, 0.45049002778047453, 0.2052912785168901, -1.0440591012082137, -0.6537422591362487, 1.0173863001701615, 1.0772302815687893, 0.9768799681750884, -0.1352883173036339, -1.236752182225071], 1e-9);
    expectClose(bn.runningMean!, [0.04270472167964548, -0.03985708143880687, 0.009399932377789681], 1e-12);
    expectClose(bn.runningVar!, [0.9280640503681654, 0.9332105588606533, 0.9660507541686216], 1e-12);
    expect(bn.numBatchesTracked!.item()).toBe(1);
    expect(Object.keys(bn.stateDict())).toEqual(['weight', 'bias', 'runningMean', 'runningVar', 'numBatchesTracked']);
    bn.eval();
    const rm = bn.runningMean!.reshape([1, 3, 1, 1]), rv = bn.runningVar!.reshape([1, 3, 1, 1]);
    expectClose(bn.forward(xb), xb.sub(rm).div(rv.add(1e-5).sqrt()), 1e-12);
    const xg = tf.arange(24, undefined, 1, f64).reshape([2, 4, 3]).cos();
    expectClose(new nn.GroupNorm(2, 4, f64).forward(xg).flatten(), [1.4837863738847905, 0.8274877544737463, -0.5380101797490257, -1.3572749253754715, -0.8770782535095868, 0.4610892302755469, 1.3902974787396691, 1.1005402763785834, -0.16290461082576888, -1.2384317802523295, -1.1372065123779858, 0.04770514833783145, 1.1938945308504068, 1.28204745402063, 0.21368316365636744, -1.0289491386958354, -1.3033790449458338, -0.35729696488573454, 0.914695556521191, 1.3669176582926017, 0.5673439077701873, -0.7489012762390176, -1.371668141732618, -0.7283877046123446], 1e-9);
  });

  it('Dropout zeroes about p of the inputs and rescales in training, and is the identity in eval', () => {
    tf.manualSeed(3);
    const d = new nn.Dropout(0.3);
    const y = d.forward(tf.ones([100000]));
    const v = y.dataSync();
    const zeros = v.filter((e) => e === 0).length / v.length;
    expect(Math.abs(zeros - 0.3)).toBeLessThan(0.01);
    expect(v.filter((e) => e !== 0).every((e) => Math.abs(e - 1 / 0.7) < 1e-6)).toBe(true);
    d.eval();
    const x = tf.randn([5]);
    expect(d.forward(x)).toBe(x);
  });

  it('Embedding looks rows up; the padding row starts at zero and gets no gradient', () => {
    tf.manualSeed(4);
    const e = new nn.Embedding(10, 3, { paddingIdx: 0 });
    expectClose(e.weight.select(0, 0), [0, 0, 0], 0);
    const idx = tf.tensor([[1, 0], [1, 9]], { dtype: 'int32' });
    const out = e.forward(idx);
    expect(out.shape).toEqual([2, 2, 3]);
    expectClose(out.select(0, 1).select(0, 1), e.weight.select(0, 9), 0);
    out.sum().backward();
    const g = e.weight.grad!;
    expectClose(g.select(0, 0), [0, 0, 0], 0);
    expectClose(g.select(0, 1), [2, 2, 2], 0);
    expectClose(g.select(0, 9), [1, 1, 1], 0);
  });

  it('activation modules and Flatten/Identity', () => {
    const x = tf.tensor([[-1, 0.5], [2, -3]]);
    expectClose(new nn.ReLU().forward(x), x.relu(), 0);
    expectClose(new nn.GELU({ approximate: 'tanh' }).forward(x), x.gelu({ approximate: 'tanh' }), 0);
    expectClose(new nn.LeakyReLU(0.2).forward(x), [[-0.2, 0.5], [2, -0.6]], 1e-6);
    expectClose(new nn.Softmax(1).forward(x), x.softmax(1), 0);
    expect(new nn.Flatten().forward(tf.zeros([2, 3, 4])).shape).toEqual([2, 12]);
    expect(new nn.Flatten(0).forward(tf.zeros([2, 3, 4])).shape).toEqual([24]);
  });

  it('gradcheck the functional layers', () => {
    const gc = (fn: (...a: tf.Tensor[]) => tf.Tensor, ...inputs: tf.Tensor[]) =>
      expect(tf.gradcheck(fn, inputs.map((i) => i.requiresGrad_()))).toBe(true);
    tf.manualSeed(5);
    const x = () => tf.randn([3, 4], f64);
    gc((a, w, b) => F.linear(a, w, b), x(), tf.randn([2, 4], f64), tf.randn([2], f64));
    gc((a, w, b) => F.layerNorm(a, [4], { weight: w, bias: b }), x(), tf.randn([4], f64), tf.randn([4], f64));
    gc((a, w, b) => F.batchNorm(a, null, null, { weight: w, bias: b, training: true }), tf.randn([5, 3, 2], f64), tf.randn([3], f64), tf.randn([3], f64));
    gc((a, w, b) => F.groupNorm(a, 2, { weight: w, bias: b }), tf.randn([2, 4, 3], f64), tf.randn([4], f64), tf.randn([4], f64));
    gc((w) => F.embedding(tf.tensor([[2, 0], [2, 1]], { dtype: 'int32' }), w), tf.randn([3, 2], f64));
  });
});

describe('nn.init', () => {
  it('uses PyTorch fans and gains', () => {
    tf.manualSeed(6);
    const w = tf.empty([256, 128, 3, 3]);
    tf.nn.init.kaimingNormal_(w, { nonlinearity: 'relu' });
    const std = Math.sqrt(w.var().item());
    expect(Math.abs(std - Math.sqrt(2 / (128 * 9)))).toBeLessThan(0.002);
    tf.nn.init.xavierUniform_(w);
    const bound = Math.sqrt(6 / (128 * 9 + 256 * 9));
    expect(w.max().item()).toBeLessThanOrEqual(bound);
    expect(w.min().item()).toBeGreaterThanOrEqual(-bound);
    expect(tf.nn.init.calculateGain('leaky_relu', 0.2)).toBeCloseTo(Math.sqrt(2 / 1.04), 12);
    tf.nn.init.zeros_(w);
    expect(w.abs().sum().item()).toBe(0);
    expectThrows(() => tf.nn.init.kaimingUniform_(tf.empty([3])), 'fewer than 2 dims');
  });
});

describe('training', () => {
  function trainXor(seed: number): number[] {
    tf.manualSeed(seed);
    const model = new nn.Sequential(new nn.Linear(2, 16), new nn.Tanh(), new nn.Linear(16, 2));
    const x = tf.tensor([[0, 0], [0, 1], [1, 0], [1, 1]]);
    const y = tf.tensor([0, 1, 1, 0], { dtype: 'int32' });
    const losses: number[] = [];
    for (let step = 0; step < 300; step++) {
      tf.tidy(() => {
        const loss = F.crossEntropy(model.forward(x) as tf.Tensor, y);
        model.zeroGrad();
        loss.backward();
        tf.noGrad(() => {
          for (const p of model.parameters()) p.sub_(p.grad!.mul(0.5));
        });
        losses.push(loss.item());
      });
    }
    return losses;
  }

  it('learns XOR, and the same seed gives the same losses bit for bit', () => {
    const a = trainXor(7);
    expect(a[a.length - 1]).toBeLessThan(0.05);
    expect(a[a.length - 1]).toBeLessThan(a[0] / 10);
    expect(trainXor(7)).toEqual(a);
    expect(trainXor(8)).not.toEqual(a);
  });
});
