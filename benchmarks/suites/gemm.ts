// gemm suite (alias matmul): SGEMM GFLOP/s (2*M*N*K / median time) at 1 thread and at all threads,
// beside the machine's FMA peak measured by the suite itself and NumPy (OpenBLAS) and PyTorch
// measured in the same run.
// 'tensorforge' is the compiled package (dist/) here: npm run bench builds it and maps the name.
import * as tf from 'tensorforge';
import { benchRounds, fmt, PeerServers, peerSettingsNote, roundsNote, timeIt, type Section } from '../harness';

const SHAPES: [number, number, number][] = [
  [128, 128, 128], [256, 256, 256], [512, 512, 512], [1024, 1024, 1024], [2048, 2048, 2048], [4096, 4096, 4096],
  [512, 768, 768], [512, 3072, 768], [512, 768, 3072], [4096, 1024, 1024], [1, 4096, 4096], [64, 4096, 4096],
];

// bfloat16 operands, float32 accumulation (gemm_bf16.cpp: AMX tiles or AVX512-BF16 where the CPU has them).
const BF16_SHAPES: [number, number, number][] = [
  [1024, 1024, 1024], [2048, 2048, 2048], [512, 768, 768], [512, 3072, 768], [4096, 1024, 1024],
];

export function run(): Section[] {
  const cores = tf.getNumThreads();
  const threadCounts = cores > 1 ? [1, cores] : [1];
  const ours = new Map<string, number>();
  const peak = new Map<number, number>();
  const peers = new Map<string, Record<string, number>>();
  const notes: string[] = [];
  const rounds = benchRounds();
  const keepMax = (m: Map<string, number>, k: string, v: number): void => void m.set(k, Math.max(m.get(k) ?? 0, v));
  // One peer process per thread count, kept up and asked for each shape right after ours.
  const peerProcs = new PeerServers('gemm.py', threadCounts);
  if (peerProcs.reason) notes.push(`peers skipped: ${peerProcs.reason}`);
  try {
    for (let round = 0; round < rounds; round++) {
      for (const threads of threadCounts) {
        tf.setNumThreads(threads);
        peak.set(threads, Math.max(peak.get(threads) ?? 0, tf.measureFmaPeak(0.5)));
        const cases: [number, number, number, 'float32' | 'bfloat16'][] = [
          ...SHAPES.map(([m, n, k]): [number, number, number, 'float32'] => [m, n, k, 'float32']),
          ...BF16_SHAPES.map(([m, n, k]): [number, number, number, 'bfloat16'] => [m, n, k, 'bfloat16']),
        ];
        for (const [m, n, k, dtype] of cases) {
          tf.manualSeed(0);
          const a = tf.randn([m, k]).to(dtype), b = tf.randn([k, n]).to(dtype);
          const t = timeIt(() => a.matmul(b).dispose(), { minSeconds: 0.4 });
          const key = `${dtype === 'bfloat16' ? 'bf16:' : ''}${m},${n},${k},${threads}`;
          keepMax(ours, key, (2 * m * n * k) / t / 1e9);
          a.dispose();
          b.dispose();
          const srv = peerProcs.servers.get(threads);
          if (!srv) continue;
          const r = srv.call<Record<string, Record<string, number>>>({ shapes: [[m, n, k]], threads, dtype });
          if (!r.ok) {
            notes.push(`peers skipped: ${r.reason}`);
            peerProcs.close();
            continue;
          }
          for (const [name, table] of Object.entries(r.value)) {
            const prev = peers.get(name) ?? {};
            for (const [shape, g] of Object.entries(table)) {
              const pk = `${dtype === 'bfloat16' ? 'bf16:' : ''}${shape},${threads}`;
              prev[pk] = Math.max(prev[pk] ?? 0, g);
            }
            peers.set(name, prev);
          }
        }
      }
    }
  } finally {
    peerProcs.close();
    tf.setNumThreads(cores);
  }
  notes.unshift(
    `tensorforge CPU kernels: ${tf.cpuKernelLevel()}; ${cores} threads at most.`,
    `FMA peak measured by this run (tf.measureFmaPeak: vector FMA chains on every thread, best of the rounds): ${threadCounts.map((t) => `${fmt(peak.get(t)!, 0)} GFLOP/s at ${t} thread${t > 1 ? 's' : ''}`).join(', ')}.`,
    peerSettingsNote(),
    roundsNote(rounds, "the best of its rounds' medians", true),
  );
  for (const p of ['numpy', 'torch']) if (peers.size > 0 && !peers.has(p)) notes.push(`${p} not installed: skipped`);
  const header = ['M, N, K', 'threads', 'tensorforge', '% of FMA peak', 'NumPy (OpenBLAS)', 'PyTorch', 'vs best peer'];
  const rows: (string | number)[][] = [];
  for (const threads of threadCounts) {
    for (const [m, n, k] of SHAPES) {
      const key = `${m},${n},${k},${threads}`;
      const us = ours.get(key)!;
      const np = peers.get('numpy')?.[key], pt = peers.get('torch')?.[key];
      const best = Math.max(np ?? 0, pt ?? 0);
      rows.push([`${m}, ${n}, ${k}`, threads, fmt(us), `${fmt((100 * us) / peak.get(threads)!, 0)}%`, np ? fmt(np) : '-', pt ? fmt(pt) : '-', best ? `${fmt(us / best, 2)}x` : '-']);
    }
  }
  const bfRows: (string | number)[][] = [];
  for (const threads of threadCounts) {
    for (const [m, n, k] of BF16_SHAPES) {
      const key = `bf16:${m},${n},${k},${threads}`;
      const us = ours.get(key)!, pt = peers.get('torch')?.[key];
      bfRows.push([`${m}, ${n}, ${k}`, threads, fmt(us), fmt(ours.get(`${m},${n},${k},${threads}`) ?? NaN), pt ? fmt(pt) : '-', pt ? `${fmt(us / pt, 2)}x` : '-']);
    }
  }
  const bfNotes = [
    `tensorforge's bfloat16 kernel here: ${tf.bf16MatmulKernel()} (of ${tf.bf16MatmulKernels().join(', ')}); float32 accumulation, C rounded once.`,
    'the float32 column repeats the SGEMM table\'s figure for the same shape (where it has one) for scale.',
    'PyTorch: torch.matmul on bfloat16 tensors (oneDNN), in the same peer processes, asked right after ours.',
    roundsNote(rounds, "the best of its rounds' medians", true),
  ];
  return [
    { suite: 'gemm', title: 'SGEMM (float32 matmul), GFLOP/s, median', header, rows, notes },
    {
      suite: 'gemm-bf16',
      command: 'gemm',
      title: 'bfloat16 matmul (float32 accumulation), GFLOP/s, median',
      header: ['M, N, K', 'threads', 'tensorforge bfloat16', 'tensorforge float32', 'PyTorch bfloat16', 'vs PyTorch'],
      rows: bfRows,
      notes: bfNotes,
    },
  ];
}
