// Timing and reporting helpers for the benchmark suites: medians after warm-up, peers run in the
// same process tree (PyTorch / NumPy through /usr/bin/python3 when installed), Markdown tables.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
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

/**
 * The notes' line on rounds; `figure` says which of a round's results a figure keeps; `perCase`:
 * the peers are timed case by case, right after ours (PeerServer), not after all of ours.
 */
export function roundsNote(rounds: number, figure = "the best of its rounds' medians", perCase = false): string {
  if (perCase) {
    return `${rounds} round${rounds > 1 ? 's' : ''}; in each, every case is timed on tensorforge and at once on the peers (kept running), so both sides see the same spell of this machine's drifting speed; every figure is ${figure}.`;
  }
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
  /** The section's marker in RESULTS.md. */
  suite: string;
  /** The suite that writes it (`npm run bench -- <command>`), when not `suite`. */
  command?: string;
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

/** The benchmark notes' line on how peers were run. */
export function peerSettingsNote(): string {
  const core = process.env.TENSORFORGE_PEER_OPENBLAS_CORETYPE ?? openblasCoreType();
  return `peers: OMP_WAIT_POLICY=passive, OPENBLAS_CORETYPE=${core ?? '(OpenBLAS chooses)'} (OpenBLAS 0.3.21 does not recognise every recent CPU and otherwise falls back to slow SSE3 kernels).`;
}

/** A peer's environment: PyTorch's best settings here (OMP_WAIT_POLICY=passive) at `threads`. */
function peerEnv(threads: number): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    OMP_WAIT_POLICY: 'passive',
    OMP_NUM_THREADS: String(threads),
    OPENBLAS_NUM_THREADS: String(threads),
  };
  // OpenBLAS (behind NumPy and Debian's PyTorch) picks its kernels from the CPU model; 0.3.21 does
  // not know recent ones and falls back to SSE3 'Prescott' kernels, 5x slower here (37 vs 210
  // GFLOP/s at 1024). Peers run at their best: the widest core type the CPU's flags allow, unless
  // the caller set one. (A machine-wide override with an L2 size is dropped: it slows them.)
  delete env.OPENBLAS_L2_SIZE;
  if (!process.env.TENSORFORGE_PEER_OPENBLAS_CORETYPE) delete env.OPENBLAS_CORETYPE;
  const core = process.env.TENSORFORGE_PEER_OPENBLAS_CORETYPE ?? openblasCoreType();
  if (core) env.OPENBLAS_CORETYPE = core;
  return env;
}

/**
 * Runs benchmarks/peers/<script> once under /usr/bin/python3, passing `args` as JSON; returns its
 * JSON output, or a reason string when the peer is missing.
 */
export function runPeer<T>(script: string, args: unknown): { ok: true; value: T } | { ok: false; reason: string } {
  const threads = (args as { threads?: number }).threads ?? 2;
  const r = spawnSync(PYTHON, [path.join(__dirname, 'peers', script), JSON.stringify(args)], {
    env: peerEnv(threads),
    encoding: 'utf8',
    timeout: 900_000,
  });
  if (r.error) return { ok: false, reason: `${PYTHON} not runnable (${r.error.message})` };
  if (r.status !== 0) return { ok: false, reason: peerFailure(r.stderr || '') };
  return { ok: true, value: JSON.parse(r.stdout) as T };
}

function peerFailure(stderr: string): string {
  const last = stderr.trim().split('\n').pop() ?? '';
  return last.includes('No module named') ? last : `peer failed: ${last || 'no message'}`;
}

const sleepCell = new Int32Array(new SharedArrayBuffer(4));
function sleepMs(ms: number): void {
  Atomics.wait(sleepCell, 0, 0, ms);
}

/**
 * A peer kept running across a suite (benchmarks/peers/<script> with --serve, at a fixed thread
 * count), asked to time one case at a time, so that each of its figures is taken seconds from ours
 * for the same case: this machine's speed drifts by tens of percent over minutes, and a peer timed
 * a minute apart from us measures the spell as much as the code. Requests and answers are JSON
 * lines over two named pipes; the suites are synchronous, so the answer is polled for.
 */
export class PeerServer {
  private constructor(
    private readonly child: ChildProcess,
    private readonly dir: string,
    private readonly reqFd: number,
    private readonly respFd: number,
    private readonly errFile: string,
  ) {}
  private pending = '';

  /** Starts the peer; a reason string when it cannot run (no python, a missing module). */
  static open(script: string, threads: number): PeerServer | string {
    if (!fs.existsSync(PYTHON)) return `${PYTHON} not found`;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tf-peer-'));
    const req = path.join(dir, 'req'), resp = path.join(dir, 'resp'), errFile = path.join(dir, 'stderr');
    const mk = spawnSync('mkfifo', [req, resp]);
    if (mk.status !== 0) {
      fs.rmSync(dir, { recursive: true, force: true });
      return 'mkfifo failed';
    }
    const errFd = fs.openSync(errFile, 'w');
    const child = spawn(PYTHON, [path.join(__dirname, 'peers', script), '--serve', req, resp], {
      env: peerEnv(threads),
      stdio: ['ignore', 'ignore', errFd],
    });
    fs.closeSync(errFd);
    child.unref();
    // Ours first, without blocking: the read end at once, the write end once the peer reads.
    const respFd = fs.openSync(resp, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
    const deadline = Date.now() + 120_000;
    let reqFd = -1;
    while (reqFd < 0) {
      try {
        reqFd = fs.openSync(req, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENXIO') throw e;
        if (PeerServer.exited(child) || Date.now() > deadline) {
          fs.closeSync(respFd);
          const reason = peerFailure(fs.readFileSync(errFile, 'utf8'));
          child.kill('SIGKILL');
          fs.rmSync(dir, { recursive: true, force: true });
          return reason;
        }
        sleepMs(5);
      }
    }
    const server = new PeerServer(child, dir, reqFd, respFd, errFile);
    const ready = server.receive(120_000);
    if (!ready.ok) {
      server.close();
      return ready.reason;
    }
    return server;
  }

  // The child's state from /proc: the suites never yield to the event loop, so no 'exit' event arrives.
  private static exited(child: ChildProcess): boolean {
    try {
      return /^\d+ \(.*\) [ZX]/.test(fs.readFileSync(`/proc/${child.pid}/stat`, 'utf8'));
    } catch {
      return true;
    }
  }

  private receive(timeoutMs: number): { ok: true; value: unknown } | { ok: false; reason: string } {
    const deadline = Date.now() + timeoutMs;
    const buf = Buffer.alloc(1 << 16);
    for (;;) {
      const nl = this.pending.indexOf('\n');
      if (nl >= 0) {
        const line = this.pending.slice(0, nl);
        this.pending = this.pending.slice(nl + 1);
        const msg = JSON.parse(line) as { error?: string; value?: unknown };
        return msg.error !== undefined ? { ok: false, reason: `peer failed: ${msg.error}` } : { ok: true, value: msg.value };
      }
      let n = 0;
      try {
        n = fs.readSync(this.respFd, buf, 0, buf.length, null);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
      }
      if (n > 0) {
        this.pending += buf.toString('utf8', 0, n);
        continue;
      }
      if (PeerServer.exited(this.child)) return { ok: false, reason: peerFailure(fs.readFileSync(this.errFile, 'utf8')) };
      if (Date.now() > deadline) return { ok: false, reason: 'peer timed out' };
      sleepMs(2);
    }
  }

  /** Times one request's cases; a reason string when the peer failed. */
  call<T>(args: unknown): { ok: true; value: T } | { ok: false; reason: string } {
    fs.writeSync(this.reqFd, JSON.stringify(args) + '\n');
    const r = this.receive(900_000);
    // The peer's BLAS threads may spin for a while after its last call: let them settle before we time.
    sleepMs(200);
    return r.ok ? { ok: true, value: r.value as T } : r;
  }

  close(): void {
    fs.closeSync(this.reqFd);
    fs.closeSync(this.respFd);
    if (!PeerServer.exited(this.child)) this.child.kill('SIGKILL');
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

export function fmt(x: number, digits = 1): string {
  if (!Number.isFinite(x)) return '-';
  return x.toFixed(digits);
}

/** A PeerServer per thread count; `reason` when the peer cannot run (then `servers` is empty). */
export class PeerServers {
  readonly servers = new Map<number, PeerServer>();
  readonly reason: string | null = null;
  constructor(script: string, threadCounts: number[]) {
    for (const threads of threadCounts) {
      const srv = PeerServer.open(script, threads);
      if (typeof srv === 'string') {
        this.reason = srv;
        this.close();
        return;
      }
      this.servers.set(threads, srv);
    }
  }
  close(): void {
    for (const srv of this.servers.values()) srv.close();
    this.servers.clear();
  }
}
