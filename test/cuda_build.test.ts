// The real CUDA build, checked on machines without a GPU: where nvcc exists, the CUDA addon was built
// by `npm install` (CMakeLists.txt), loads without a driver and says why CUDA is unusable; and no
// CUDA kernel spills registers on Ampere or Hopper (ptxas -v, the same flags as the build).
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';

const root = path.join(__dirname, '..');
const nvcc = process.env.CUDACXX ?? '/usr/local/cuda/bin/nvcc';
const haveNvcc = existsSync(nvcc) && !process.env.TENSORFORGE_NO_CUDA;

function run(cmd: string, args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { cwd: root });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (out += d));
    p.on('close', (code) => resolve({ code: code ?? -1, out }));
  });
}

// ptxas -v output -> kernels (with their arch) that spill.
function spills(out: string): string[] {
  const found: string[] = [];
  let current = '';
  for (const line of out.split('\n')) {
    const entry = /Compiling entry function '([^']+)' for '(\w+)'/.exec(line);
    if (entry) current = `${entry[1]} (${entry[2]})`;
    const s = /(\d+) bytes spill stores, (\d+) bytes spill loads/.exec(line);
    if (s && (Number(s[1]) > 0 || Number(s[2]) > 0)) found.push(`${current}: ${line.trim()}`);
  }
  return found;
}

describe.skipIf(!haveNvcc)('CUDA build (nvcc, no GPU needed)', () => {
  it('built the CUDA addon, which loads without a driver and says why CUDA is unusable', () => {
    const file = path.join(root, 'build', 'cuda', 'tensorforge_cuda.node');
    expect(existsSync(file), `${file} (built by npm run build:native when nvcc exists)`).toBe(true);
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const b = require(file) as { status(): { available: boolean; reason?: string; emulated: boolean } };
    const s = b.status();
    expect(s.emulated).toBe(false);
    if (!s.available) expect(s.reason).toMatch(/^cuda\w+: /);
  });

  it('the tensor-core GEMM compiles to mma instructions (TF32, FP16, BF16) and the reductions to warp shuffles (PTX)', async () => {
    const ptx = async (file: string): Promise<string> => {
      const out = path.join(require('node:os').tmpdir(), `tensorforge-${file}.ptx`);
      const r = await run(nvcc, ['-std=c++17', '--expt-relaxed-constexpr', '-arch=sm_80', '-ptx', '-o', out, '-I',
        path.join(root, 'native'), path.join(root, 'cuda', 'kernels', file)]);
      expect(r.code, r.out).toBe(0);
      return require('node:fs').readFileSync(out, 'utf8') as string;
    };
    // TF32 at m16n16k8; float16 (implied inputs) and bfloat16 at m16n16k16; fp32 accumulators throughout.
    const tc = await ptx('gemm_tensor_core.cu');
    expect(tc).toMatch(/wmma\.mma\.sync\.aligned\.row\.row\.m16n16k8\.f32\.tf32\.tf32\.f32/);
    expect(tc).toMatch(/wmma\.mma\.sync\.aligned\.row\.row\.m16n16k16\.f32\.f32/);
    expect(tc).toMatch(/wmma\.mma\.sync\.aligned\.row\.row\.m16n16k16\.f32\.bf16\.bf16\.f32/);
    expect(await ptx('reduce.cu')).toMatch(/shfl\.sync\.bfly/);
  }, 120_000);

  it('kernels declare shared memory through TF_SHARED, which the emulator allocates per block and checks', () => {
    const dir = path.join(root, 'cuda', 'kernels');
    for (const f of readdirSync(dir).filter((x) => x.endsWith('.cu') || x.endsWith('.cuh'))) {
      const code = require('node:fs').readFileSync(path.join(dir, f), 'utf8').replace(/\/\/.*$/gm, '') as string;
      expect(code, f).not.toMatch(/(^|[^\w])__shared__/);
    }
  });

  it('no kernel spills registers on sm_80 or sm_90', async () => {
    const sources = readdirSync(path.join(root, 'cuda', 'kernels')).filter((f) => f.endsWith('.cu'));
    const jobs: [string, string][] = [];
    for (const f of sources) for (const arch of ['sm_80', 'sm_90']) jobs.push([f, arch]);
    const problems: string[] = [];
    // Two compilers at a time (the CI machine has two cores).
    const next = async (): Promise<void> => {
      for (let job = jobs.shift(); job; job = jobs.shift()) {
        const [f, arch] = job;
        const r = await run(nvcc, ['-std=c++17', '--expt-relaxed-constexpr', `-arch=${arch}`, '-Xptxas', '-v', '-c',
          '-o', '/dev/null', '-I', path.join(root, 'native'), path.join(root, 'cuda', 'kernels', f)]);
        if (r.code !== 0) problems.push(`${f} (${arch}) does not compile:\n${r.out.slice(0, 2000)}`);
        problems.push(...spills(r.out).map((s) => `${f}: ${s}`));
      }
    };
    await Promise.all([next(), next()]);
    expect(problems).toEqual([]);
  }, 300_000);
});
