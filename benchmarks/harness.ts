// Timing and reporting helpers for the benchmark suites: medians after warm-up, peers run in the
// same process tree (PyTorch / NumPy through /usr/bin/python3 when installed), Markdown tables.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

/** Median seconds per call of fn over repeats, after warm-up; adapts the repeat count to ~minSeconds. */
export function timeIt(fn: () => void, opts: { minSeconds?: number; warmup?: number; maxRepeats?: number } = {}): number {
  const { minSeconds = 0.3, warmup = 2, maxRepeats = 200 } = opts;
  for (let i = 0; i < warmup; i++) fn();
  const samples: number[] = [];
  const start = performance.now();
  while (samples.length < 3 || ((performance.now() - start) / 1000 < minSeconds && samples.length < maxRepeats)) {
    const t0 = performance.now();
    fn();
    samples.push((performance.now() - t0) / 1000);
  }
  return median(samples);
}

/** Median seconds per call for very fast fns: times batches of `inner` calls. */
export function timeFast(fn: () => void, inner = 1000, batches = 15): number {
  // Enough warm-up calls for V8 to optimise the whole call path.
  for (let i = 0; i < Math.max(inner, 20000); i++) fn();
  const samples: number[] = [];
  for (let b = 0; b < batches; b++) {
    const t0 = performance.now();
    for (let i = 0; i < inner; i++) fn();
    samples.push((performance.now() - t0) / 1000 / inner);
  }
  return median(samples);
}

/**
 * Rounds of a suite whose ratios against peers matter (gemm, conv): each round times ours, then the
 * peers, and each side keeps its best round. This machine's speed drifts by tens of percent over
 * minutes; alternating gives both sides the same fast and slow spells instead of one side all of one.
 * TENSORFORGE_BENCH_ROUNDS sets the count (default 3).
 */
export function benchRounds(): number {
  const n = Number(process.env.TENSORFORGE_BENCH_ROUNDS ?? 3);
  return Number.isInteger(n) && n >= 1 ? n : 3;
}

/** The notes' line on rounds; `figure` says which of a round's results a figure keeps. */
export function roundsNote(rounds: number, figure = "the best of its rounds' medians"): string {
  return rounds > 1
    ? `${rounds} rounds, each timing tensorforge and then the peers; every figure is ${figure} (the machine's speed drifts over minutes: alternating gives both sides the same spells).`
    : 'one round (TENSORFORGE_BENCH_ROUNDS=1).';
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export interface Section {
  suite: string;
  title: string;
  header: string[];
  rows: (string | number)[][];
  notes: string[];
}

export function markdownTable(header: string[], rows: (string | number)[][]): string {
  const lines = [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`];
  for (const r of rows) lines.push(`| ${r.join(' | ')} |`);
  return lines.join('\n');
}

const PYTHON = '/usr/bin/python3';

/** OpenBLAS's best core type for this CPU by its flags (x86-64 Linux), or null to let it choose. */
export function openblasCoreType(): string | null {
  let flags = '';
  try {
    flags = fs.readFileSync('/proc/cpuinfo', 'utf8').match(/^flags\s*:(.*)$/m)?.[1] ?? '';
  } catch {
    return null;
  }
  const has = (f: string): boolean => new RegExp(`\\b${f}\\b`).test(flags);
  if (has('avx512f') && has('avx512bw') && has('avx512vl') && has('avx512dq')) return 'SkylakeX';
  if (has('avx2') && has('fma')) return 'Haswell';
  return null;
}

/**
 * Runs benchmarks/peers/<script> under /usr/bin/python3 with PyTorch's best settings here
 * (OMP_WAIT_POLICY=passive), passing `args` as JSON; returns its JSON output, or a reason string when
 * the peer is missing.
 */
/** The benchmark notes' line on how peers were run. */
export function peerSettingsNote(): string {
  const core = process.env.TENSORFORGE_PEER_OPENBLAS_CORETYPE ?? openblasCoreType();
  return `peers: OMP_WAIT_POLICY=passive, OPENBLAS_CORETYPE=${core ?? '(OpenBLAS chooses)'} (OpenBLAS 0.3.21 does not recognise every recent CPU and otherwise falls back to slow SSE3 kernels).`;
}

export function runPeer<T>(script: string, args: unknown): { ok: true; value: T } | { ok: false; reason: string } {
  const threads = String((args as { threads?: number }).threads ?? 2);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    OMP_WAIT_POLICY: 'passive',
    OMP_NUM_THREADS: threads,
    OPENBLAS_NUM_THREADS: threads,
  };
  // OpenBLAS (behind NumPy and Debian's PyTorch) picks its kernels from the CPU model; 0.3.21 does
  // not know recent ones and falls back to SSE3 'Prescott' kernels, 5x slower here (37 vs 210
  // GFLOP/s at 1024). Peers run at their best: the widest core type the CPU's flags allow, unless
  // the caller set one. (A machine-wide override with an L2 size is dropped: it slows them.)
  delete env.OPENBLAS_L2_SIZE;
  if (!process.env.TENSORFORGE_PEER_OPENBLAS_CORETYPE) delete env.OPENBLAS_CORETYPE;
  const core = process.env.TENSORFORGE_PEER_OPENBLAS_CORETYPE ?? openblasCoreType();
  if (core) env.OPENBLAS_CORETYPE = core;
  const r = spawnSync(PYTHON, [path.join(__dirname, 'peers', script), JSON.stringify(args)], {
    env,
    encoding: 'utf8',
    timeout: 900_000,
  });
  if (r.error) return { ok: false, reason: `${PYTHON} not runnable (${r.error.message})` };
  if (r.status !== 0) {
    const last = (r.stderr || '').trim().split('\n').pop() ?? '';
    return { ok: false, reason: last.includes('No module named') ? last : `peer failed: ${last}` };
  }
  return { ok: true, value: JSON.parse(r.stdout) as T };
}

export function fmt(x: number, digits = 1): string {
  if (!Number.isFinite(x)) return '-';
  return x.toFixed(digits);
}
