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

export function run(): Section {
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
        for (const [m, n, k] of SHAPES) {
          tf.manualSeed(0);
          const a = tf.randn([m, k]), b = tf.randn([k, n]);
          const t = timeIt(() => a.matmul(b).dispose(), { minSeconds: 0.4 });
          keepMax(ours, `${m},${n},${k},${threads}`, (2 * m * n * k) / t / 1e9);
          a.dispose();
          b.dispose();
          const srv = peerProcs.servers.get(threads);
          if (!srv) continue;
          const r = srv.call<Record<string, Record<string, number>>>({ shapes: [[m, n, k]], threads });
          if (!r.ok) {
            notes.push(`peers skipped: ${r.reason}`);
            peerProcs.close();
            continue;
          }
          for (const [name, table] of Object.entries(r.value)) {
            const prev = peers.get(name) ?? {};
            for (const [shape, g] of Object.entries(table)) prev[`${shape},${threads}`] = Math.max(prev[`${shape},${threads}`] ?? 0, g);
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
  return { suite: 'gemm', title: 'SGEMM (float32 matmul), GFLOP/s, median', header, rows, notes };
}
