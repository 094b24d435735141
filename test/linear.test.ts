// F.linear with the GEMM epilogue (bias, then ReLU / GELU / SiLU in the kernel that writes the
// output): every GEMM path (matrix-vector, the dot-product kernel, the packed kernel across block
// edges, batched inputs, non-contiguous inputs) at every CPU level, against float64 references built
// from separate ops; gradients by gradcheck; bad arguments rejected.
import { afterAll, describe, expect, it } from 'vitest';
import * as tf from '../lib';
import { expectThrows } from './helpers';

const levels = tf.cpuKernelLevels();
const original = tf.cpuKernelLevel();
afterAll(() => tf.setCpuKernelLevel(original));

const ACTS = [null, 'relu', 'gelu', 'gelu-tanh', 'silu'] as const;
function reference(x: tf.Tensor, w: tf.Tensor, b: tf.Tensor | null, act: (typeof ACTS)[number]): tf.Tensor {
  let y = x.double().matmul(w.double().t());
  if (b) y = y.add(b.double());
  if (act === 'relu') y = y.relu();
  if (act === 'gelu') y = y.gelu();
  if (act === 'gelu-tanh') y = y.gelu({ approximate: 'tanh' });
  if (act === 'silu') y = y.silu();
  return y;
}

for (const level of levels) {
  describe(`linear epilogue on ${level}`, () => {
    it('bias and activation on every GEMM path, float32 and float64', () => {
      tf.setCpuKernelLevel(level);
      const g = new tf.Generator(3);
      // [input shape, out features, transposed input]
      const cases: [number[], number, boolean][] = [
        [[1, 37], 29, false],          // M == 1: matrix-vector
        [[23, 41], 1, false],          // N == 1
        [[19, 70], 33, false],         // small: the dot-product kernel
        [[3, 5, 48], 17, false],       // batched input
        [[700, 900], 341, false],      // the packed kernel, several K, M and N blocks
        [[40, 400], 700, false],       // few rows: threads split the columns (the bias is offset)
        [[130, 257], 97, true],        // a transposed (non-contiguous) input
        [[4, 0], 6, false],            // K == 0: bias and activation of zeros
      ];
      for (const dtype of ['float32', 'float64'] as const) {
        for (const [shape, outF, transposed] of cases) {
          const inF = shape[shape.length - 1];
          const x = transposed ? tf.randn([inF, shape[0]], { dtype, generator: g }).t() : tf.randn(shape, { dtype, generator: g });
          const w = tf.randn([outF, inF], { dtype, generator: g }).mul(1 / Math.sqrt(Math.max(inF, 1)));
          const b = tf.randn([outF], { dtype, generator: g });
          for (const act of ACTS) {
            for (const bias of [b, null]) {
              const got = tf.nn.functional.linear(x, w, bias, { activation: act });
              const want = reference(x, w, bias, act);
              expect(got.shape).toEqual([...shape.slice(0, -1), outF]);
              const tol = dtype === 'float32' ? 2e-5 * Math.sqrt(inF + 1) : 1e-12;
              const err = got.double().sub(want).abs().sub(want.abs().mul(tol)).amax().item();
              expect(err, `${level} ${dtype} ${shape} -> ${outF} ${act} bias=${!!bias}`).toBeLessThanOrEqual(tol);
            }
          }
        }
      }
    });

    it('a fused ReLU passes NaN, as the unfused op does, on every GEMM path', () => {
      tf.setCpuKernelLevel(level);
      for (const [rows, inF, outF] of [[1, 9, 7], [19, 70, 33], [700, 600, 341], [40, 400, 700]]) {
        const xs = tf.randn([rows, inF]).dataSync().slice();
        xs[inF * (rows >> 1) + 1] = NaN;  // one row of the output is all NaN
        const x = tf.tensor(xs).reshape([rows, inF]), w = tf.randn([outF, inF]), b = tf.randn([outF]);
        const got = tf.nn.functional.linear(x, w, b, { activation: 'relu' }).dataSync();
        const want = tf.nn.functional.linear(x, w, b).relu().dataSync();
        for (let i = 0; i < got.length; i++) {
          if (Number.isNaN(want[i])) expect(got[i], `${rows}x${inF}->${outF} at ${i}`).toBeNaN();
          else expect(got[i]).toBeCloseTo(want[i], 4);
        }
        expect(Number.isNaN(got[outF * (rows >> 1)])).toBe(true);
      }
    });
  });
}

describe('linear gradients', () => {
  it('gradcheck with bias, without, with the ReLU epilogue and with GELU (then unfused)', () => {
    const g = new tf.Generator(5);
    const leaf = (t: tf.Tensor): tf.Tensor => t.detach().requiresGrad_();
    const x = leaf(tf.randn([3, 4, 5], { dtype: 'float64', generator: g }));
    const w = leaf(tf.randn([6, 5], { dtype: 'float64', generator: g }));
    const b = leaf(tf.randn([6], { dtype: 'float64', generator: g }));
    expect(tf.gradcheck((x, w, b) => tf.nn.functional.linear(x, w, b), [x, w, b])).toBe(true);
    expect(tf.gradcheck((x, w) => tf.nn.functional.linear(x, w), [x, w])).toBe(true);
    // ReLU's kink: keep pre-activations away from 0 so finite differences stay on one side.
    const xs = leaf(x.add(x.sign().mul(0.5))), ws = leaf(w.mul(0.01)), bs = leaf(b.abs().add(1).mul(b.sign()));
    expect(tf.gradcheck((x, w, b) => tf.nn.functional.linear(x, w, b, { activation: 'relu' }), [xs, ws, bs])).toBe(true);
    expect(tf.gradcheck((x, w, b) => tf.nn.functional.linear(x, w, b, { activation: 'gelu' }), [x, w, b])).toBe(true);
    expect(tf.gradcheck((x, w, b) => tf.nn.functional.linear(x, w, b, { activation: 'silu' }), [x, w, b])).toBe(true);
  });

  it('names the problem with bad arguments', () => {
    const x = tf.zeros([2, 3]), w = tf.zeros([4, 3]);
    expectThrows(() => tf.nn.functional.linear(x, w, tf.zeros([3])), 'linear', 'bias must be [4]');
    expectThrows(() => tf.nn.functional.linear(x, tf.zeros([4, 2])), 'linear', '3 features', 'expects 2');
    expectThrows(() => tf.nn.functional.linear(x, w, null, { activation: 'tanh' as 'relu' }), 'linear', "unknown activation 'tanh'");
    expectThrows(() => tf.nn.functional.linear(x, w.double()), 'linear', 'share a dtype');
  });
});
