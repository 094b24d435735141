// The CUDA kernels under AddressSanitizer: the emulated addon built with -fsanitize=address
// (build/cuda/tensorforge_cuda_emu_asan.node) runs test/workloads/cuda_kernels.ts in a child process with
// libasan preloaded. It must finish clean, and three planted off-by-one kernels (one past a block's
// dynamic shared memory, one past a static shared array, one past a cudaMalloc'd buffer) must be
// caught, naming file and line.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';

const root = path.join(__dirname, '..');
const addon = path.join(root, 'build', 'cuda', 'tensorforge_cuda_emu_asan.node');
const gcc = spawnSync('gcc', ['-print-file-name=libasan.so'], { encoding: 'utf8' });
const libasan = gcc.status === 0 ? gcc.stdout.trim() : '';
const ready = process.platform === 'linux' && existsSync(addon) && libasan.startsWith('/') && existsSync(libasan);

function runUnderAsan(args: string[]): { status: number | null; out: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', ...args], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, LD_PRELOAD: libasan, ASAN_OPTIONS: 'detect_leaks=0', TENSORFORGE_CUDA: 'emulate-asan' },
  });
  return { status: r.status, out: `${r.stdout}\n${r.stderr}` };
}

describe.skipIf(!ready)('CUDA kernels under AddressSanitizer (emulated)', () => {
  it('every kernel family, in every schedule, runs clean and matches the CPU', () => {
    const r = runUnderAsan([path.join('test', 'workloads', 'cuda_kernels.ts')]);
    expect(r.out).not.toMatch(/AddressSanitizer/);
    expect(r.status, r.out.slice(-3000)).toBe(0);
    expect(r.out).toMatch(/^ok$/m);
  });

  it('catches a kernel writing one past its dynamic or static shared memory, or reading one past a device buffer', () => {
    for (const [test, line] of [
      ['smem-overrun', /selftest_smem_overrun.*selftest\.cu:\d+/],
      ['static-smem-overrun', /selftest_static_smem_overrun.*selftest\.cu:\d+/],
      ['global-overrun', /selftest_global_overrun.*selftest\.cu:\d+/],
    ] as const) {
      const script = `const tf = require('./lib'); tf.cuda._emuSelfTest('${test}'); console.log('not caught');`;
      const r = runUnderAsan(['-e', script]);
      expect(r.status).not.toBe(0);
      expect(r.out).toMatch(/AddressSanitizer: heap-buffer-overflow/);
      expect(r.out).toMatch(line);
      expect(r.out).not.toMatch(/not caught/);
    }
  });
});
