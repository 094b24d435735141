// cuda suite: the CUDA kernels on paper, and on a GPU when there is one.
//
// On paper (always, where nvcc is installed): each kernel's launch shape, its registers and static
// shared memory as ptxas reports them for sm_90, the occupancy that gives on an H100, what bounds
// it, and the fraction of the H100's peak we expect it to reach, with the reasoning. The fractions
// are estimates from the kernels' structure, not measurements.
//
// On a GPU (a real device, not the emulator): TFLOP/s of matmul (square 1024..8192 in fp32 SIMT,
// TF32, bf16 and fp16 on tensor cores), a ResNet 3x3 convolution and causal attention, forward and
// forward + backward, beside the device's peak when we know it.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from 'tensorforge';
import { median, type Section } from '../harness';

const ROOT = path.join(__dirname, '..', '..');

// H100 SXM (sm_90): per SM 65536 registers, 228 KiB shared memory, 2048 threads, 32 blocks.
const SM = { regs: 65536, smem: 228 * 1024, threads: 2048, blocks: 32 };
// Dense peaks of the H100 SXM the issue quotes, TFLOP/s, and its memory bandwidth, TB/s.
const H100 = { fp32: 67, tf32: 494.7, bf16: 989.4, hbm: 3.35 };

interface Resources {
  regs: number;
  smem: number;
}

function findNvcc(): string | null {
  for (const p of [process.env.CUDACXX, '/usr/local/cuda/bin/nvcc']) if (p && fs.existsSync(p)) return p;
  const r = spawnSync('nvcc', ['--version'], { encoding: 'utf8' });
  return r.status === 0 ? 'nvcc' : null;
}

/** ptxas's registers and static shared memory of every kernel (demangled name) for sm_90. */
function ptxasResources(nvcc: string): Map<string, Resources> {
  const out = new Map<string, Resources>();
  const dir = path.join(ROOT, 'cuda', 'kernels');
  for (const f of fs.readdirSync(dir).filter((x) => x.endsWith('.cu'))) {
    const r = spawnSync(nvcc, ['-std=c++17', '--expt-relaxed-constexpr', '-arch=sm_90', '-Xptxas', '-v', '-c', '-o', '/dev/null',
      '-I', path.join(ROOT, 'native'), path.join(dir, f)], { encoding: 'utf8' });
    const text = `${r.stdout}${r.stderr}`;
    let current: string | null = null;
    for (const line of text.split('\n')) {
      const entry = line.match(/Compiling entry function '([^']+)' for 'sm_90'/);
      if (entry) current = entry[1];
      const used = line.match(/Used (\d+) registers(?:.*?, (\d+) bytes smem)?/);
      if (used && current) {
        out.set(demangle(current), { regs: Number(used[1]), smem: Number(used[2] ?? 0) });
        current = null;
      }
    }
  }
  return out;
}

function demangle(name: string): string {
  const r = spawnSync('c++filt', [name], { encoding: 'utf8' });
  const d = r.status === 0 ? r.stdout.trim() : name;
  return d.replace(/tf::cuda::|tf::|\(anonymous namespace\)::|^void /g, '');
}

/** Resident warps per SM for a block of `threads` with these resources. */
function warpsPerSm(res: Resources, threads: number, dynamicSmem = 0): number {
  const regsPerBlock = Math.ceil((res.regs * threads) / 256) * 256;  // allocated per warp in 256-register units
  const byRegs = Math.floor(SM.regs / regsPerBlock);
  const smem = res.smem + dynamicSmem;
  const bySmem = smem > 0 ? Math.floor(SM.smem / (smem + 1024)) : SM.blocks;  // 1 KiB reserved per block
  const blocks = Math.min(byRegs, bySmem, Math.floor(SM.threads / threads), SM.blocks);
  return (blocks * threads) / 32;
}

interface Paper {
  kernel: string;        // demangled name prefix, as in ptxasResources
  launch: string;
  threads: number;
  dynamicSmem?: number;
  bound: string;
  expect: string;
  why: string;
}

const PAPER: Paper[] = [
  {
    kernel: 'gemm_tc_kernel<bfloat16_t>', launch: '64x64 C tile, 4 warps (32x32 each, 2x2 m16n16k16 fragments), K slices of 16', threads: 128,
    bound: 'issue: scalar 2-byte global loads and 64-bit index math per element',
    expect: `~12% of ${H100.bf16} bf16 (~120 TFLOP/s)`,
    why: 'A slice is 131k flops (32 cycles of an SM at peak) but each thread issues 16 scalar loads, 16 shared stores and their 64-bit address arithmetic: ~150 warp instructions per warp per slice, 4 warps on 4 schedulers, ~150 cycles. WMMA compiles to mma.sync, which on Hopper reaches about 60% of the wgmma peak at best. Fixes, in order: 16-byte vector loads, cp.async double buffering, 128x128 tiles, then wgmma/TMA.',
  },
  {
    kernel: 'gemm_tc_kernel<float16_t>', launch: 'as bf16', threads: 128,
    bound: 'as bf16', expect: `~12% of ${H100.bf16} fp16 (~120 TFLOP/s)`, why: 'The same kernel and instruction mix as bf16.',
  },
  {
    kernel: 'gemm_tc_kernel<float>', launch: '64x64 C tile, 4 warps, m16n16k8 TF32 fragments, K slices of 16', threads: 128,
    bound: 'issue, and occupancy (220 registers)',
    expect: `~12% of ${H100.tf32} TF32 (~60 TFLOP/s)`,
    why: 'As the 16-bit kernel, with 4-byte elements (twice the shared-memory traffic per flop) and half the tensor-core rate; 220 registers leave 8 warps per SM to hide the global loads.',
  },
  {
    kernel: 'gemm_kernel<float>', launch: '64x64 C tile, 256 threads, 4x4 outputs per thread, K slices of 16', threads: 256,
    bound: 'shared-memory loads: 8 per 16 FMAs',
    expect: `~30% of ${H100.fp32} fp32 (~20 TFLOP/s)`,
    why: 'Each k step a thread loads 4 A values (warp-broadcast) and 4 B values for 16 FMAs: 24 instructions for 16 FMAs caps issue at 2/3 of peak, and the unpipelined slice loads (no double buffering) with two barriers per slice cost about half of what is left.',
  },
  {
    kernel: 'conv_implicit_kernel<float>', launch: 'the SIMT GEMM tiling; columns computed from the image in the tile loader', threads: 256,
    bound: 'as gemm_kernel, plus the im2col index arithmetic per loaded element',
    expect: `~20% of ${H100.fp32} fp32 (~13 TFLOP/s)`,
    why: 'The GEMM kernel\'s inner loop, with each column element\'s (c, kh, kw, oh, ow) decoded by division in the loader; ResNet 3x3 layers have K = 9C, large enough to amortise it.',
  },
  {
    kernel: 'attention_forward_kernel<float>', launch: '64 query rows per block, one thread each; key tiles of 32 in shared memory', threads: 64,
    dynamicSmem: 2 * 32 * 64 * 4,
    bound: 'each thread updates its output row in global memory per key tile',
    expect: `~2% of ${H100.fp32} fp32 (~1.5 TFLOP/s)`,
    why: 'One thread per query row keeps the row\'s output in global memory (read and rescaled every tile of 32 keys: 2D loads and stores per 64D flops), and 64-thread blocks give few warps per SM. A tensor-core flash kernel (a warp per 16 rows, the output tile in registers) is the rewrite it needs.',
  },
  {
    kernel: 'attention_dkdv_kernel<float>', launch: '64 key rows per block, query tiles staged', threads: 64, dynamicSmem: 2 * 32 * 64 * 4,
    bound: 'as the forward', expect: '~2% of fp32 peak', why: 'Same structure as the forward (one thread per key row, dk and dv rows in global memory).',
  },
  {
    kernel: 'unary_kernel<float, float>', launch: 'grid-stride, 256 threads, strided ElemIter', threads: 256,
    bound: 'memory, and a 64-bit div/mod per coalesced dim per element',
    expect: `~60% of ${H100.hbm} TB/s`,
    why: 'Contiguous operands coalesce to one dim (one division per element, cheap next to 8 bytes of traffic); scalar 4-byte accesses rather than 16-byte vectors leave some bandwidth unused.',
  },
  {
    kernel: 'binary_kernel<float, float>', launch: 'as unary', threads: 256, bound: 'memory', expect: `~60% of ${H100.hbm} TB/s`, why: 'As unary, 12 bytes per element.',
  },
  {
    kernel: 'reduce_kernel<float>', launch: 'one block per output, warp shuffles', threads: 256,
    bound: 'memory for long rows; launch-bound for many short rows', expect: `~50% of ${H100.hbm} TB/s on long rows`,
    why: 'A block per output element: a sum over the last dim of a [rows, 4096] tensor streams at near bandwidth, a reduction over short rows leaves most of each block idle.',
  },
  {
    kernel: 'softmax_kernel<float>', launch: 'one warp-strided line per block', threads: 256, bound: 'memory (three passes over a row)',
    expect: `~35% of ${H100.hbm} TB/s`, why: 'Max, sum and write passes read the row three times (from L2 when it fits).',
  },
  {
    kernel: 'layer_norm_kernel<float>', launch: 'a block per row', threads: 256, bound: 'memory (two passes)', expect: `~45% of ${H100.hbm} TB/s`,
    why: 'Mean/variance then normalise: two reads and one write per element.',
  },
  {
    kernel: 'adam_kernel<float, false>', launch: 'grid-stride, 256 threads', threads: 256, bound: 'memory (4 arrays read, 3 written)', expect: `~70% of ${H100.hbm} TB/s`,
    why: 'A streaming update with contiguous arrays: 28 bytes per parameter, no reuse.',
  },
];

function paperSection(): Section {
  const nvcc = findNvcc();
  const notes = [
    'Registers and static shared memory: ptxas for sm_90 (this suite compiles each cuda/kernels/*.cu with `-Xptxas -v`). Occupancy: resident warps per SM of an H100 (64 at most) from registers, shared memory and threads.',
    `H100 SXM peaks used: fp32 ${H100.fp32}, TF32 ${H100.tf32}, bf16/fp16 ${H100.bf16} TFLOP/s dense; ${H100.hbm} TB/s HBM3.`,
    'The expected fractions are estimates from each kernel\'s instruction mix and occupancy, written before any GPU run; the suite replaces them with measurements (the table below it) where a GPU exists.',
  ];
  if (!nvcc) {
    return { suite: 'cuda', title: 'CUDA kernels on paper (H100 estimates)', header: ['kernel'], rows: [], notes: ['nvcc not found: no ptxas figures.', ...notes] };
  }
  const res = ptxasResources(nvcc);
  const rows = PAPER.map((p) => {
    const r = res.get([...res.keys()].find((k) => k.startsWith(p.kernel)) ?? '');
    const regs = r ? String(r.regs) : '?';
    const smem = r ? `${r.smem}${p.dynamicSmem ? ` + ${p.dynamicSmem} dynamic` : ''}` : '?';
    const occ = r ? `${warpsPerSm(r, p.threads, p.dynamicSmem)} warps` : '?';
    return [p.kernel, p.launch, regs, smem, occ, p.bound, p.expect, p.why];
  });
  return {
    suite: 'cuda',
    title: 'CUDA kernels on paper (H100 estimates)',
    header: ['kernel', 'launch', 'registers', 'static smem (B)', 'occupancy / SM', 'bound by', 'expected on H100', 'reasoning'],
    rows,
    notes,
  };
}

// ---- measured, on a real GPU -----------------------------------------------------------------------

/** Dense peaks of known devices, TFLOP/s: [fp32, tf32, bf16/fp16]. */
function peaksOf(name: string): [number, number, number] | null {
  if (/H100|H200|GH200/.test(name)) return [H100.fp32, H100.tf32, H100.bf16];
  if (/A100/.test(name)) return [19.5, 156, 312];
  if (/L40S/.test(name)) return [91.6, 183, 366];
  if (/A10\b/.test(name)) return [31.2, 62.5, 125];
  return null;
}

function timeDevice(fn: () => void, reps: number): number {
  fn();
  tf.cuda.synchronize();
  const samples: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    fn();
    tf.cuda.synchronize();
    samples.push((performance.now() - t0) / 1000);
  }
  return median(samples);
}

function measuredSection(): Section {
  const s = tf.cuda.status();
  const name = s.name ?? 'unknown GPU';
  const peaks = peaksOf(name);
  const rows: (string | number)[][] = [];
  const pct = (tflops: number, peak: number | undefined): string => (peak ? `${((100 * tflops) / peak).toFixed(0)}%` : '?');
  const row = (what: string, kind: string, tflops: number, peak: number | undefined): void => {
    rows.push([what, kind, tflops.toFixed(1), peak ?? '?', pct(tflops, peak)]);
    console.log(`${what} ${kind}: ${tflops.toFixed(1)} TFLOP/s`);
  };
  for (const n of [1024, 2048, 4096, 8192]) {
    const kinds: [string, tf.DType, boolean, number | undefined][] = [
      ['fp32 (SIMT)', 'float32', false, peaks?.[0]], ['tf32', 'float32', true, peaks?.[1]],
      ['bf16', 'bfloat16', false, peaks?.[2]], ['fp16', 'float16', false, peaks?.[2]],
    ];
    for (const [kind, dtype, allowTf32, peak] of kinds) {
      if (kind === 'fp32 (SIMT)' && n > 4096) continue;  // minutes at SIMT rates; the smaller sizes tell
      tf.cuda.setAllowTF32(allowTf32);
      const t = tf.tidy(() => {
        const a = tf.randn([n, n], { device: 'cuda' }).to(dtype), b = tf.randn([n, n], { device: 'cuda' }).to(dtype);
        return timeDevice(() => tf.tidy(() => void a.matmul(b)), n >= 4096 ? 5 : 10);
      });
      row(`matmul ${n}`, kind, (2 * n ** 3) / t / 1e12, peak);
    }
  }
  tf.cuda.setAllowTF32(false);
  // ResNet-18's 256 -> 256 3x3 layer at 14x14, batch 32, fp32 SIMT implicit GEMM.
  {
    const [N, C, H] = [32, 256, 14];
    const flops = 2 * N * C * C * 9 * H * H;
    const x = tf.randn([N, C, H, H], { device: 'cuda' }), w = tf.randn([C, C, 3, 3], { device: 'cuda' });
    const t = timeDevice(() => tf.tidy(() => void tf.conv2d(x, w, null, { padding: 1 })), 10);
    row('conv2d 3x3 256ch 14x14 N=32 fwd', 'fp32', flops / t / 1e12, peaks?.[0]);
    const xl = x.detach().requiresGrad_(), wl = w.detach().requiresGrad_();
    const tb = timeDevice(() => tf.tidy(() => tf.conv2d(xl, wl, null, { padding: 1 }).sum().backward()), 5);
    row('conv2d 3x3 256ch 14x14 N=32 fwd+bwd', 'fp32', (3 * flops) / tb / 1e12, peaks?.[0]);
    tf.dispose([x, w, xl, wl]);
  }
  // Causal attention (B, H, T, D) = (4, 16, 1024, 64).
  {
    const [B, H, T, D] = [4, 16, 1024, 64];
    const flops = (4 * B * H * T * T * D) / 2;
    const q = tf.randn([B, H, T, D], { device: 'cuda' });
    const sdpa = tf.nn.functional.scaledDotProductAttention;
    const t = timeDevice(() => tf.tidy(() => void sdpa(q, q, q, { isCausal: true })), 5);
    row('attention causal (4,16,1024,64) fwd', 'fp32', flops / t / 1e12, peaks?.[0]);
    const ql = q.detach().requiresGrad_();
    const tb = timeDevice(() => tf.tidy(() => sdpa(ql, ql, ql, { isCausal: true }).sum().backward()), 3);
    row('attention causal (4,16,1024,64) fwd+bwd', 'fp32', (3.5 * flops) / tb / 1e12, peaks?.[0]);
    tf.dispose([q, ql]);
  }
  return {
    suite: 'cuda-measured',
    command: 'cuda',
    title: `CUDA kernels measured on ${name}`,
    header: ['op', 'precision', 'TFLOP/s', 'device peak', 'of peak'],
    rows,
    notes: [`${name}, compute capability ${s.computeCapability ?? '?'}, ${s.multiProcessorCount ?? '?'} SMs; medians after one warm-up call, synchronised.`],
  };
}

export function run(): Section[] {
  const sections = [paperSection()];
  const s = tf.cuda.status();
  if (s.available && !s.emulated) sections.push(measuredSection());
  else console.log(`no GPU: measured table skipped (${s.emulated ? 'the emulator is not a device' : s.reason ?? 'CUDA unavailable'})`);
  return sections;
}
