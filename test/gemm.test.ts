// The GEMM entry point's paths, against a float64 reference: packed blocks crossing the MC/KC/NC
// boundaries, the unpacked matrix-vector paths (M == 1 or N == 1, with both memory orders of the
// matrix), batched products, and every CPU kernel level this build has.
import { afterAll, describe, it } from 'vitest';
import * as tf from '../lib';
import { arr, expectClose, matmulRef } from './helpers';

const levels = tf.cpuKernelLevels();
const original = tf.cpuKernelLevel();
afterAll(() => tf.setCpuKernelLevel(original));

// A [rows, cols] operand, optionally stored transposed (so its strides are (1, rows)).
function operand(rows: number, cols: number, transposed: boolean, dtype: tf.DType = 'float32'): tf.Tensor {
  return transposed ? tf.randn([cols, rows], { dtype }).t() : tf.randn([rows, cols], { dtype });
}

for (const level of levels) {
  describe(`gemm on ${level}`, () => {
    it('matrix-vector paths: M == 1 and N == 1 with either memory order, long K and N', () => {
      tf.setCpuKernelLevel(level);
      tf.manualSeed(11);
      for (const [m, k, n] of [[1, 1500, 2100], [1, 7, 3], [2100, 1500, 1], [5, 3, 1]]) {
        for (const ta of [false, true]) {
          for (const tb of [false, true]) {
            const a = operand(m, k, ta), b = operand(k, n, tb);
            const rtol = 1e-4 * Math.sqrt(k);
            expectClose(a.matmul(b), matmulRef(arr(a), arr(b)), { rtol, atol: rtol });
          }
        }
      }
    });

    it('packed path across block edges (K > 256, M > 96, odd N), transposes, float64', () => {
      tf.setCpuKernelLevel(level);
      tf.manualSeed(12);
      for (const [m, k, n] of [[97, 257, 33], [13, 513, 129], [2, 3, 4]]) {
        for (const ta of [false, true]) {
          for (const tb of [false, true]) {
            const a = operand(m, k, ta), b = operand(k, n, tb);
            expectClose(a.matmul(b), matmulRef(arr(a), arr(b)), { rtol: 2e-4, atol: 2e-4 });
          }
        }
      }
      const a = operand(37, 300, true, 'float64'), b = operand(300, 41, false, 'float64');
      expectClose(a.matmul(b), matmulRef(arr(a), arr(b)), { rtol: 1e-12, atol: 1e-12 });
    });

    it('batched, with a broadcast batch dim and many small matrices', () => {
      tf.setCpuKernelLevel(level);
      tf.manualSeed(13);
      const a = tf.randn([3, 1, 5, 7]), b = tf.randn([4, 7, 1]);
      expectClose(a.matmul(b), matmulRef(arr(a), arr(b)), { rtol: 1e-4, atol: 1e-5 });
      const c = tf.randn([64, 3, 9]), d = tf.randn([64, 9, 2]);
      expectClose(c.matmul(d), matmulRef(arr(c), arr(d)), { rtol: 1e-4, atol: 1e-5 });
    });
  });
}
