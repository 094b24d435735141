// The GEMM entry point's paths, against a float64 reference: packed blocks crossing the MC/KC/NC
// boundaries, the unpacked matrix-vector paths (M == 1 or N == 1, with both memory orders of the
// matrix), batched products, and every CPU kernel level this build has.
import { afterAll, describe, expect, it } from 'vitest';
import * as tf from '../lib';
import { meta, metaNum, native } from '../lib/native';
import { put } from '../lib/ops/spatial';
import { arr, expectClose, matmulRef } from './helpers';

const levels = tf.cpuKernelLevels();
const original = tf.cpuKernelLevel();
afterAll(() => tf.setCpuKernelLevel(original));

// The register-tile shapes the current level has (pins 1, 2; pinning a missing one throws).
function tileShapes(): (1 | 2)[] {
  try {
    tf._setGemmTile(2);
    return [1, 2];
  } catch {
    return [1];
  } finally {
    tf._setGemmTile(0);
  }
}

// A [rows, cols] operand, optionally stored transposed (so its strides are (1, rows)).
function operand(rows: number, cols: number, transposed: boolean, dtype: tf.DType = 'float32'): tf.Tensor {
  return transposed ? tf.randn([cols, rows], { dtype }).t() : tf.randn([rows, cols], { dtype });
}

for (const level of levels) {
  describe(`gemm on ${level}`, () => {
    it('matrix-vector paths: M == 1 and N == 1 with either memory order, long K and N, strided vectors, epilogue, threads', () => {
      tf.setCpuKernelLevel(level);
      tf.manualSeed(11);
      const threads = tf.getNumThreads();
      try {
        for (const t of [1, 2]) {
          tf.setNumThreads(t);
          const shapes = [[1, 1500, 2100], [1, 7, 3], [2100, 1500, 1], [5, 3, 1], [1, 100, 1000], [333, 257, 1], [1, 33, 17]];
          for (const [m, k, n] of shapes) {
            const rtol = 1e-4 * Math.sqrt(k);
            for (const ta of [false, true]) {
              for (const tb of [false, true]) {
                const a = operand(m, k, ta), b = operand(k, n, tb);
                expectClose(a.matmul(b), matmulRef(arr(a), arr(b)), { rtol, atol: rtol });
              }
            }
            // The vector with a stride of 2 along K (not the dot-product layout), beside a matrix with
            // rows or columns contiguous in k (gemv's row loop and its column loop).
            const av = tf.randn([m, 2 * k]).slice(1, 0, null, 2), bv = tf.randn([2 * k, n]).slice(0, 1, null, 2);
            for (const [x, y] of [[av, bv], [av, operand(k, n, true)], [operand(m, k, false), bv]]) {
              expectClose(x.matmul(y), matmulRef(arr(x), arr(y)), { rtol, atol: rtol });
            }
          }
          // x @ W^T + bias, ReLU (the epilogue after the dot-product kernel), and float64.
          const x = tf.randn([1, 300]), w = tf.randn([70, 300]), bias = tf.randn([70]);
          const z = matmulRef(arr(x), arr(w.t())), bz = arr(bias).data;
          const relu = { shape: z.shape, data: z.data.map((v, i) => Math.max(0, v + bz[i])) };
          expectClose(tf.nn.functional.linear(x, w, bias, { activation: 'relu' }), relu, { rtol: 2e-3, atol: 2e-3 });
          for (const [m, n] of [[1, 45], [45, 1]]) {
            const a64 = tf.randn([m, 301], { dtype: 'float64' }), b64 = tf.randn([n, 301], { dtype: 'float64' }).t();
            expectClose(a64.matmul(b64), matmulRef(arr(a64), arr(b64)), { rtol: 1e-12, atol: 1e-12 });
          }
        }
      } finally {
        tf.setNumThreads(threads);
      }
    });

    // The packed kernel's blocks (gemm.cpp): KC 768 / NC 160 / MC 672 for float32 and KC 384 /
    // NC 160 / MC 672 for float64 on AVX-512 (smaller MR elsewhere); B is read in place for M <= 8 MR
    // unless its row stride is a multiple of 128 bytes. Else a row-major B's full panels are read in
    // place by the first MR rows of A, which pack them for the rest (with no rest, nothing is packed).
    // Row-major A and transposed B are packed through register transposes (W rows or columns at a
    // time, K tails one by one); the other orders value by value. Each register-tile shape the level
    // has is pinned in turn (AVX-512 has two: 12 x 32 and 8 x 48 for float32).
    it('packed path across block edges (K, M and N blocks), transposes, B in place or packed, float64, every tile shape', () => {
      tf.setCpuKernelLevel(level);
      tf.manualSeed(12);
      const tiles = tileShapes();
      // Every product packed, small ones included (they would take the unpacked path below).
      const unpacked = tf._setGemmUnpacked(false);
      try {
        for (const tile of tiles) {
          tf._setGemmTile(tile);
          for (const [m, k, n] of [[97, 257, 33], [13, 1537, 129], [2, 3, 4], [677, 769, 45], [30, 800, 700], [50, 400, 352], [64, 37, 100], [5, 100, 64], [11, 300, 96]]) {
            for (const ta of [false, true]) {
              for (const tb of [false, true]) {
                const a = operand(m, k, ta), b = operand(k, n, tb);
                expectClose(a.matmul(b), matmulRef(arr(a), arr(b)), { rtol: 2e-4, atol: 2e-4 });
              }
            }
          }
          for (const [m, k, n] of [[37, 400, 41], [40, 777, 350]]) {
            for (const ta of [false, true]) {
              const a = operand(m, k, ta, 'float64'), b = operand(k, n, !ta, 'float64');
              expectClose(a.matmul(b), matmulRef(arr(a), arr(b)), { rtol: 1e-12, atol: 1e-12 });
            }
          }
        }
      } finally {
        tf._setGemmTile(0);
        tf._setGemmUnpacked(unpacked);
      }
      expect(tiles.length).toBe(level === 'avx512' ? 2 : 1);
      if (level !== 'avx512') expect(() => tf._setGemmTile(2)).toThrow(/gemmTile: tile shape 2 does not run at level/);
    });

    // Products whose B is at most 400 KiB, with A's and B's rows contiguous and K in one block, skip
    // packing (Gemm::run_small): the kernel reads A's rows and B's rows in place; a ragged last
    // panel of rows goes through the 8- and 4-row tiles in place, and only the 1-3 rows left over,
    // or a ragged last panel of columns, are copied. M covers every remainder of 12 and of 8 rows.
    // Each result must match the float64 reference; threads take ranges of row panels.
    it('unpacked path for a small B: ragged panels, every tile shape, epilogue, float64, threads', () => {
      tf.setCpuKernelLevel(level);
      tf.manualSeed(15);
      const threads = tf.getNumThreads();
      try {
        for (const tile of tileShapes()) {
          tf._setGemmTile(tile);
          for (const [m, k, n] of [[2, 1, 3], [12, 64, 32], [13, 7, 33], [29, 31, 97], [64, 64, 64], [61, 200, 47], [256, 256, 256], [300, 768, 100], [8, 5, 48], [97, 53, 320], [18, 9, 33], [19, 70, 64], [21, 17, 64], [22, 3, 31], [23, 30, 40], [47, 11, 32]]) {
            const a = tf.randn([m, k]), b = tf.randn([k, n]);
            const ref = matmulRef(arr(a), arr(b));
            const rtol = 1e-4 * Math.sqrt(k);
            expectClose(a.matmul(b), ref, { rtol, atol: rtol });
            // Strided rows (a column slice of a wider matrix) still count as contiguous rows.
            const wide = tf.randn([m, k + 5]).narrow(1, 2, k);
            expectClose(wide.matmul(b), matmulRef(arr(wide), arr(b)), { rtol, atol: rtol });
          }
          // Linear's fused bias + ReLU (B = weight^T, row-contiguous when weight is a transposed view),
          // on the rows of every tile of a ragged last panel.
          for (const rows of [29, 23]) {
            const x = tf.randn([rows, 40]), w = tf.randn([40, 50]), bias = tf.randn([50]);
            const z = matmulRef(arr(x), arr(w)), bv = arr(bias).data;
            const yRef = { shape: z.shape, data: z.data.map((v, i) => v + bv[i % 50]) };
            expectClose(tf.nn.functional.linear(x, w.t(), bias), yRef, { rtol: 1e-4, atol: 1e-4 });
            const relu = { shape: z.shape, data: yRef.data.map((v) => Math.max(0, v)) };
            expectClose(tf.nn.functional.linear(x, w.t(), bias, { activation: 'relu' }), relu, { rtol: 1e-4, atol: 1e-4 });
          }
          // A bias along C's rows (gemmEpilogue's biasDim 1) lands on the right rows of every tile.
          for (const [m, k, n] of [[23, 30, 40], [29, 7, 64], [64, 16, 33], [13, 5, 32]]) {
            const a = tf.randn([m, k]), b = tf.randn([k, n]), bias = tf.randn([m]), c = tf.empty([m, n]);
            meta();
            for (const t of [c, a, b]) put({ t, offset: t._offset, shape: t.shape, strides: t._strides });
            metaNum(1, 0, 1);
            put({ t: bias, offset: bias._offset, shape: bias.shape, strides: bias._strides });
            metaNum(1, 0);
            native.gemmEpilogue();
            const z = matmulRef(arr(a), arr(b)), bv = arr(bias).data;
            expectClose(c, { shape: z.shape, data: z.data.map((v, i) => v + bv[Math.floor(i / n)]) }, { rtol: 1e-4, atol: 1e-4 });
          }
          // C = alpha * A @ B + beta * C on ragged column panels (a masked last vector), in place and
          // packed, and with C's columns strided (C a transposed view).
          for (const [m, k, n] of [[29, 31, 97], [23, 30, 40], [7, 900, 45], [40, 20, 10]]) {
            for (const cT of [false, true]) {
              const a = tf.randn([m, k]), b = tf.randn([k, n]);
              const c = cT ? tf.randn([n, m]).t() : tf.randn([m, n]);
              const c0 = arr(c), z = matmulRef(arr(a), arr(b));
              meta();
              for (const t of [c, a, b]) put({ t, offset: t._offset, shape: t.shape, strides: t._strides });
              metaNum(0.75, 0.5);
              native.gemm();
              const want = { shape: z.shape, data: z.data.map((v, i) => 0.75 * v + 0.5 * c0.data[i]) };
              expectClose(c, want, { rtol: 1e-4 * Math.sqrt(k), atol: 1e-4 * Math.sqrt(k) });
            }
          }
          const a64 = tf.randn([37, 41], { dtype: 'float64' }), b64 = tf.randn([41, 43], { dtype: 'float64' });
          expectClose(a64.matmul(b64), matmulRef(arr(a64), arr(b64)), { rtol: 1e-12, atol: 1e-12 });
        }
        // Many row panels (each thread takes a range of them): the same bits on 1, 2 and 3 threads.
        for (const [m, k, n] of [[300, 100, 200], [1000, 64, 37]]) {
          const a = tf.randn([m, k]), b = tf.randn([k, n]);
          tf.setNumThreads(1);
          const one = a.matmul(b).dataSync();
          expectClose(a.matmul(b), matmulRef(arr(a), arr(b)), { rtol: 1e-3, atol: 1e-3 });
          for (const t of [2, 3]) {
            tf.setNumThreads(t);
            expect(Array.from(a.matmul(b).dataSync()), `${m}x${k}x${n} on ${t} threads`).toEqual(Array.from(one));
          }
        }
      } finally {
        tf._setGemmTile(0);
        tf.setNumThreads(threads);
      }
    });

    // Few columns (N <= 16, K >= 256 or N <= 4) with A's rows contiguous take the dot-product
    // kernel: B's columns in place when contiguous in k (x @ W^T), else copied; the epilogue after.
    it('few columns: dot products over K, B row-major, transposed or strided, epilogue, alpha/beta, threads', () => {
      tf.setCpuKernelLevel(level);
      tf.manualSeed(16);
      const threads = tf.getNumThreads();
      try {
        for (const t of [1, 2]) {
          tf.setNumThreads(t);
          for (const [m, k, n] of [[300, 784, 10], [37, 300, 16], [101, 100, 3], [13, 1000, 2], [64, 257, 7], [19, 1024, 16]]) {
            const a = tf.randn([m, k]);
            const rtol = 1e-4 * Math.sqrt(k);
            // 'gapped': neither of B's strides is 1 (every other column of a wider B).
            for (const layout of ['rows', 'wt', 'strided', 'gapped'] as const) {
              const b =
                layout === 'rows' ? tf.randn([k, n])
                : layout === 'wt' ? tf.randn([n, k]).t()
                : layout === 'strided' ? tf.randn([k, n + 3]).narrow(1, 1, n)
                : tf.randn([k, 2 * n]).slice(1, 1, null, 2);
              expectClose(a.matmul(b), matmulRef(arr(a), arr(b)), { rtol, atol: rtol });
            }
            const w = tf.randn([n, k]), bias = tf.randn([n]);
            const z = matmulRef(arr(a), arr(w.t())), bv = arr(bias).data;
            const relu = { shape: z.shape, data: z.data.map((v, i) => Math.max(0, v + bv[i % n])) };
            expectClose(tf.nn.functional.linear(a, w, bias, { activation: 'relu' }), relu, { rtol, atol: rtol });
            const b = tf.randn([k, n]), c = tf.randn([m, n]);
            const c0 = arr(c), zb = matmulRef(arr(a), arr(b));
            meta();
            for (const x of [c, a, b]) put({ t: x, offset: x._offset, shape: x.shape, strides: x._strides });
            metaNum(0.75, 0.5);
            native.gemm();
            expectClose(c, { shape: zb.shape, data: zb.data.map((v, i) => 0.75 * v + 0.5 * c0.data[i]) }, { rtol, atol: rtol });
          }
          const a64 = tf.randn([40, 300], { dtype: 'float64' }), b64 = tf.randn([300, 9], { dtype: 'float64' });
          expectClose(a64.matmul(b64), matmulRef(arr(a64), arr(b64)), { rtol: 1e-12, atol: 1e-12 });
        }
      } finally {
        tf.setNumThreads(threads);
      }
    });

    it('threads split C into blocks: the same bits with 1, 2 and 3 threads', () => {
      tf.setCpuKernelLevel(level);
      tf.manualSeed(14);
      const threads = tf.getNumThreads();
      try {
        // Rows split (B small: its copy is cheap), columns split (B in place; B over 4 MB, copied).
        for (const [m, k, n] of [[300, 400, 500], [700, 65, 40], [24, 100, 1000], [40, 1100, 1024]]) {
          const a = tf.randn([m, k]), b = tf.randn([k, n]);
          tf.setNumThreads(1);
          const one = a.matmul(b).dataSync();
          for (const t of [2, 3]) {
            tf.setNumThreads(t);
            expect(Array.from(a.matmul(b).dataSync()), `${m}x${k}x${n} on ${t} threads`).toEqual(Array.from(one));
          }
        }
      } finally {
        tf.setNumThreads(threads);
      }
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

// Batch-reduce GEMM through the native entry point: a stride-0 batch dim of C sums over that dim,
//   C[g] = alpha * sum_r A[r, g] @ B[r, g] + beta * C[g]
// (convolution's weight gradient). The k-contiguous layout takes the dot-product kernel (tails of K
// shorter than a vector included); any other layout the per-product fallback.
function batchReduce(a: tf.Tensor, b: tf.Tensor, c: tf.Tensor, alpha: number, beta: number): void {
  const [R, G, M, K] = a.shape, N = b.shape[3];
  meta();
  put({ t: c, offset: c._offset, shape: [R, G, M, N], strides: [0, M * N, N, 1] });
  put({ t: a, offset: a._offset, shape: a.shape, strides: a._strides });
  put({ t: b, offset: b._offset, shape: [R, G, K, N], strides: b._strides });
  metaNum(alpha, beta);
  native.gemm();
}

function batchReduceRef(a: tf.Tensor, b: tf.Tensor, c0: number[][][], alpha: number, beta: number): number[][][] {
  const A = a.toArray() as number[][][][], B = b.toArray() as number[][][][];
  return c0.map((cg, g) =>
    cg.map((row, i) =>
      row.map((c, j) => {
        let s = 0;
        for (let r = 0; r < A.length; r++) for (let k = 0; k < A[r][g][i].length; k++) s += A[r][g][i][k] * B[r][g][k][j];
        return alpha * s + beta * c;
      }),
    ),
  );
}

for (const level of levels) {
  describe(`batch-reduce gemm on ${level}`, () => {
    it('sums over the stride-0 dim: dot layout (K tails, tiny M/N), other layouts, beta, float64', () => {
      tf.setCpuKernelLevel(level);
      tf.manualSeed(14);
      const cases: [number, number, number, number, number][] = [
        // R, G, M, N, K
        [5, 1, 6, 25, 784], [3, 2, 16, 15, 100], [4, 1, 5, 7, 3], [2, 3, 1, 1, 1], [7, 1, 9, 6, 17], [1, 1, 4, 4, 16],
      ];
      for (const dtype of ['float32', 'float64'] as const) {
        for (const [R, G, M, N, K] of cases) {
          for (const layout of ['dot', 'plain'] as const) {
            const a = tf.randn([R, G, M, K], { dtype });
            // dot: B[k, j] at k + j * K (B stored as [R, G, N, K]); plain: B row-major [R, G, K, N].
            const b = layout === 'dot' ? tf.randn([R, G, N, K], { dtype }).transpose(2, 3) : tf.randn([R, G, K, N], { dtype });
            for (const [alpha, beta] of [[1, 0], [0.5, 1]]) {
              const c = tf.randn([G, M, N], { dtype });
              const want = batchReduceRef(a, b, c.toArray() as number[][][], alpha, beta);
              batchReduce(a, b, c, alpha, beta);
              const tol = dtype === 'float64' ? 1e-10 : 2e-5 * Math.sqrt(R * K);
              expectClose(c, want, { rtol: tol, atol: tol });
            }
          }
        }
      }
    });
  });
}

// beta == 0 must not read C: a NaN left in C (a recycled buffer) must not reach the result, on every
// path (gemv, the dot-product kernel, the packed kernel, K = 0) and for the 16-bit dtypes (which go
// through a float32 copy of C that is then never loaded).
describe('gemm with beta = 0 ignores what C held', () => {
  for (const dtype of ['float32', 'float64', 'float16', 'bfloat16'] as const) {
    it(dtype, () => {
      tf.manualSeed(3);
      const cases: [number, number, number, boolean][] = [[1, 7, 5, false], [8, 64, 8, true], [37, 53, 29, false], [3, 0, 4, false]];
      for (const [M, K, N, transposed] of cases) {
        const a = tf.randn([M, K]).to(dtype), b = transposed ? tf.randn([N, K]).to(dtype).t() : tf.randn([K, N]).to(dtype);
        const c = tf.full([M, N], NaN, { dtype });
        meta();
        for (const t of [c, a, b]) put({ t, offset: t._offset, shape: t.shape, strides: t._strides });
        metaNum(1, 0);
        native.gemm();
        const want = a.float().matmul(b.float()).to(dtype);
        expectClose(c.float(), arr(want.float()), { rtol: 1e-2, atol: 1e-3 });
      }
    });
  }
});

describe('measureFmaPeak', () => {
  it('measures a positive throughput at every CPU level and rejects bad durations', () => {
    const initial = tf.cpuKernelLevel();
    try {
      for (const level of tf.cpuKernelLevels()) {
        tf.setCpuKernelLevel(level);
        const g = tf.measureFmaPeak(0.02);
        expect(Number.isFinite(g) && g > 0, level).toBe(true);
      }
    } finally {
      tf.setCpuKernelLevel(initial);
    }
    expect(() => tf.measureFmaPeak(0)).toThrow(/measureFmaPeak/);
    expect(() => tf.measureFmaPeak(NaN)).toThrow(/measureFmaPeak/);
  });
});
