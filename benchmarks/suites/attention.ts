// attention suite: nn.functional.scaledDotProductAttention on float32 [B, H, T, D], causal and not,
// forward alone and forward + backward, at 1 thread and at all threads, in effective GFLOP/s;
// beside PyTorch 1.13's composite attention (it has no fused one) in the same run, best of 1 and 2
// threads. Then the peak memory of one causal forward + backward as T grows (B 1, H 4, D 64):
// linear in T for the fused kernel, quadratic for the composite that materialises the scores.
// TENSORFORGE_BENCH_QUICK=1 shrinks every size and repeat count (a smoke test, not a result).
import * as fs from 'node:fs';
import * as tf from 'tensorforge';
import { fmt, peerSettingsNote, runPeer, timeIt, type Section } from '../harness';

type Shape = [number, number, number, number]; // B, H, T, D
type Pass = 'fwd' | 'fwdbwd';

const QUICK = process.env.TENSORFORGE_BENCH_QUICK === '1';
const SHAPES: Shape[] = QUICK
  ? [[2, 4, 128, 64], [1, 4, 512, 64]]
  : [[8, 8, 256, 64], [4, 8, 1024, 64], [1, 16, 2048, 64]];
const TIMING = QUICK ? { minSeconds: 0, warmup: 1 } : { minSeconds: 0.4, warmup: 1 };
const MEMORY_SHAPE: [number, number, number] = [1, 4, 64]; // B, H, D; causal
const MEMORY_T = QUICK ? [256, 1024, 4096] : [1024, 4096, 16384];
/** PyTorch's composite runs the memory case only up to this T (its scores grow as T^2). */
const PEER_MEMORY_MAX_T = QUICK ? 1024 : 4096;
const PASSES: Pass[] = ['fwd', 'fwdbwd'];
const MB = 1024 * 1024;

/** The standard count: 2 matmuls of 2*T*T*D each per (batch, head); causal skips half. */
function forwardFlops([B, H, T, D]: Shape, causal: boolean): number {
  return (4 * B * H * T * T * D) / (causal ? 2 : 1);
}
function flops(shape: Shape, causal: boolean, pass: Pass): number {
  return forwardFlops(shape, causal) * (pass === 'fwdbwd' ? 3.5 : 1);
}

const key = ([B, H, T, D]: Shape, causal: boolean, pass: Pass): string => `${B},${H},${T},${D},${causal ? 1 : 0},${pass}`;

/** Median seconds of every (shape, causal, pass) at the current thread count. */
function timeOurs(): Map<string, number> {
  const sdpa = tf.nn.functional.scaledDotProductAttention;
  const res = new Map<string, number>();
  for (const shape of SHAPES) {
    for (const isCausal of [false, true]) {
      tf.manualSeed(0);
      const [q, k, v, g] = [0, 1, 2, 3].map(() => tf.randn(shape));
      res.set(key(shape, isCausal, 'fwd'), timeIt(() => tf.tidy(() => void tf.noGrad(() => sdpa(q, k, v, { isCausal }))), TIMING));
      for (const t of [q, k, v]) t.requiresGrad_(true);
      const step = (): void =>
        tf.tidy(() => {
          sdpa(q, k, v, { isCausal }).backward(g);
          for (const t of [q, k, v]) {
            t.grad?.dispose();
            t.grad = null;
          }
        });
      res.set(key(shape, isCausal, 'fwdbwd'), timeIt(step, TIMING));
      tf.dispose([q, k, v, g]);
    }
  }
  return res;
}

/** A field of /proc/self/status in bytes (VmRSS, VmHWM), or null off Linux. */
function procStatus(field: string): number | null {
  try {
    const m = fs.readFileSync('/proc/self/status', 'utf8').match(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/** Resets the peak RSS (VmHWM) to the current RSS; false where the kernel does not allow it. */
function resetPeakRss(): boolean {
  try {
    fs.writeFileSync('/proc/self/clear_refs', '5');
    return true;
  } catch {
    return false;
  }
}

interface MemoryResult {
  /** Live tensor bytes right after the forward (q, k, v, g, out, lse) and after backward (+ grads). */
  afterForward: number;
  afterBackward: number;
  /** Peak RSS growth over one forward + backward, inputs included; null where /proc cannot say. */
  rssGrowth: number | null;
}

/** One causal forward + backward at [B, T, H, D] = MEMORY_SHAPE with sequence length T. */
function memoryOurs(T: number): MemoryResult {
  const [B, H, D] = MEMORY_SHAPE;
  tf.emptyCache(); // cached blocks would be reused unseen by the RSS
  const base = tf.memory().bytes;
  const rss0 = procStatus('VmRSS');
  const canPeak = rss0 !== null && resetPeakRss();
  let afterForward = 0, afterBackward = 0;
  tf.tidy(() => {
    tf.manualSeed(0);
    const [q, k, v] = [0, 1, 2].map(() => tf.randn([B, H, T, D]).requiresGrad_(true));
    const g = tf.randn([B, H, T, D]);
    const out = tf.nn.functional.scaledDotProductAttention(q, k, v, { isCausal: true });
    afterForward = tf.memory().bytes - base;
    out.backward(g);
    afterBackward = tf.memory().bytes - base;
    for (const t of [q, k, v]) {
      t.grad?.dispose();
      t.grad = null;
    }
  });
  const peak = canPeak ? procStatus('VmHWM') : null;
  return { afterForward, afterBackward, rssGrowth: peak !== null && rss0 !== null ? peak - rss0 : null };
}

interface PeerResult {
  torch: string;
  has_sdpa: boolean;
  seconds: Record<string, number>;
  memory: Record<string, number | null>;
}

const threadsLabel = (n: number): string => `${n} thread${n > 1 ? 's' : ''}`;

export function run(): Section {
  const cores = tf.getNumThreads();
  const threadCounts = cores > 1 ? [1, cores] : [1];
  const notes: string[] = [];

  // Memory first, in ascending T: before the timing loops have freed blocks that the allocator would
  // reuse unseen by the RSS (and each size above the last keeps malloc's mmap threshold below it).
  const memory = new Map(MEMORY_T.map((T) => [T, memoryOurs(T)] as const));
  // Ours, at each thread count.
  const ours = new Map<number, Map<string, number>>();
  for (const threads of threadCounts) {
    tf.setNumThreads(threads);
    ours.set(threads, timeOurs());
  }
  tf.setNumThreads(cores);

  // PyTorch: each thread count in its own process (OMP settings are per process); best of them.
  const peerThreads = [1, 2];
  const peerBest = new Map<string, { seconds: number; threads: number }>();
  let peerMemory: Record<string, number | null> | null = null;
  let peerInfo: PeerResult | null = null;
  for (const threads of peerThreads) {
    const memoryRun = threads === peerThreads[peerThreads.length - 1];
    const r = runPeer<PeerResult>('attention.py', {
      threads, shapes: SHAPES, min_seconds: TIMING.minSeconds, warmup: TIMING.warmup,
      memory: memoryRun ? MEMORY_T.filter((T) => T <= PEER_MEMORY_MAX_T) : [], memory_shape: MEMORY_SHAPE,
    });
    if (!r.ok) {
      notes.push(`PyTorch skipped: ${r.reason}`);
      break;
    }
    peerInfo = r.value;
    for (const [k, s] of Object.entries(r.value.seconds)) {
      const prev = peerBest.get(k);
      if (!prev || s < prev.seconds) peerBest.set(k, { seconds: s, threads });
    }
    if (memoryRun) peerMemory = r.value.memory;
  }

  const top = threadCounts[threadCounts.length - 1];
  const header = [
    'B, H, T, D', 'causal', 'measure',
    ...threadCounts.map((n) => `tensorforge, ${threadsLabel(n)}`),
    'PyTorch composite, best of 1 and 2 threads', `tensorforge (${threadsLabel(top)}) vs PyTorch`,
  ];
  const rows: (string | number)[][] = [];
  const ratios: number[] = [];
  for (const shape of SHAPES) {
    for (const causal of [false, true]) {
      for (const pass of PASSES) {
        const k = key(shape, causal, pass);
        const gf = (s: number): number => flops(shape, causal, pass) / s / 1e9;
        const mine = threadCounts.map((n) => gf(ours.get(n)!.get(k)!));
        const peer = peerBest.get(k);
        const ratio = peer ? mine[mine.length - 1] / gf(peer.seconds) : NaN;
        if (pass === 'fwdbwd' && peer) ratios.push(ratio);
        rows.push([
          shape.join(', '), causal ? 'yes' : 'no', pass === 'fwd' ? 'forward, GFLOP/s' : 'forward + backward, GFLOP/s',
          ...mine.map((x) => fmt(x)),
          peer ? `${fmt(gf(peer.seconds))} (${threadsLabel(peer.threads)})` : '-',
          peer ? `${fmt(ratio, 2)}x` : '-',
        ]);
      }
    }
  }
  const [B, H, D] = MEMORY_SHAPE;
  // The composite's need beyond PEER_MEMORY_MAX_T: its measured peak at the largest T it ran,
  // scaled by (T / that T)^2, as the [B, H, T, T] score-sized tensors dominate it.
  const peerMeasured = MEMORY_T.filter((T) => T <= PEER_MEMORY_MAX_T && typeof peerMemory?.[String(T)] === 'number');
  const peerRef = peerMeasured.length > 0 ? peerMeasured[peerMeasured.length - 1] : null;
  for (const T of MEMORY_T) {
    const m = memory.get(T)!;
    const shape = `${B}, ${H}, ${T}, ${D}`;
    const blank = threadCounts.slice(0, -1).map(() => '-');
    const pm = peerMemory?.[String(T)];
    let peerCell = '-', ratioCell = '-';
    if (peerMemory && T > PEER_MEMORY_MAX_T) {
      const scores = (B * H * T * T * 4) / 1e9; // one [B, H, T, T] float32 tensor, GB
      const need = peerRef !== null ? ((peerMemory[String(peerRef)] as number) * (T / peerRef) ** 2) / 1e9 : 3 * scores;
      peerCell = `skipped (would materialise ≈ ${fmt(need)} GB)`;
    } else if (typeof pm === 'number') {
      peerCell = fmt(pm / MB);
      // Below a megabyte the RSS says more about the allocator than about attention.
      if (m.rssGrowth !== null && m.rssGrowth >= MB) ratioCell = `${fmt(pm / m.rssGrowth, 1)}x less`;
    }
    rows.push([shape, 'yes', 'live tensors after forward / after backward, MB', ...blank, `${fmt(m.afterForward / MB)} / ${fmt(m.afterBackward / MB)}`, '-', '-']);
    rows.push([shape, 'yes', 'forward + backward, peak RSS growth, MB', ...blank, m.rssGrowth === null ? '-' : fmt(m.rssGrowth / MB), peerCell, ratioCell]);
  }

  notes.push(
    `GFLOP/s = flops / median time (harness timeIt, each iteration in tf.tidy), with the standard count: forward = 4·B·H·T²·D ` +
      `(two matmuls of 2·T²·D per batch and head), half that when causal (the masked half is skipped); forward + backward = 3.5 × forward ` +
      `(2 matmuls forward, 5 backward). The same count is used for PyTorch, which computes the masked half anyway.`,
  );
  notes.push(
    `forward: q, k, v not requiring grad (inference). forward + backward: q, k, v requiring grad, out.backward(g) with a fixed random g ` +
      `of out's shape, gradients dropped after each iteration. scale 1/√D.`,
  );
  if (peerInfo) {
    const sdpa = peerInfo.has_sdpa
      ? 'this torch has F.scaled_dot_product_attention, but the peer measures the composite all the same: '
      : 'torch 1.13 has no F.scaled_dot_product_attention (it came in 2.0), so the peer is the composite ';
    notes.push(
      `PyTorch ${peerInfo.torch}: ${sdpa}` +
        `softmax((q @ kᵀ) · scale, masked_fill of a triu bool mask with -inf when causal) @ v, which materialises the [B, H, T, T] scores; ` +
        `the mask is built once outside the timing, as a model's buffer. Run at 1 and 2 threads, each in its own process; the table shows the faster.`,
    );
  }
  notes.push(peerSettingsNote());
  notes.push(
    `memory (B ${B}, H ${H}, D ${D}, causal, one forward + backward at all threads): 'live tensors' is tf.memory().bytes (live native ` +
      `tensor storage; there is no peak counter) over its value before the inputs were made, right after the forward (q, k, v, g, out and ` +
      `the saved log-sum-exp) and right after backward (plus dq, dk, dv; the graph, with out and the log-sum-exp, is still referenced), ` +
      `the latter being the peak of tensor memory; the kernels' own scratch buffers are not tensors and not counted there. 'peak RSS growth' ` +
      `is the process's peak RSS (VmHWM, reset through /proc/self/clear_refs before each case) minus its RSS before the inputs were made, ` +
      `for both, measured before any timing in each process, in ascending T (ours after tf.emptyCache(), PyTorch's after malloc_trim(0)). ` +
      `PyTorch's composite runs only up to T = ${PEER_MEMORY_MAX_T}; beyond, the figure is its measured peak at the largest T it ran scaled ` +
      `by the square of the T ratio (one [B, H, T, T] float32 scores tensor alone is ${fmt((B * H * MEMORY_T[MEMORY_T.length - 1] ** 2 * 4) / 1e9)} GB ` +
      `at T = ${MEMORY_T[MEMORY_T.length - 1]}, and its backward holds several at once).`,
  );
  if (ratios.length > 0) {
    notes.push(
      `target: tensorforge at least 2x PyTorch's best on every shape, forward + backward; here ${fmt(Math.min(...ratios), 2)}x at worst ` +
        `(${ratios.every((r) => r >= 2) ? 'met' : 'not met'}).`,
    );
  }
  if (QUICK) notes.push('TENSORFORGE_BENCH_QUICK=1: reduced sizes and repeats, a smoke test only.');
  return { suite: 'attention', title: 'Scaled dot-product attention (float32), GFLOP/s and peak memory, median', header, rows, notes };
}
