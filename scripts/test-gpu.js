#!/usr/bin/env node
// `npm run test:gpu`, on a machine with an NVIDIA GPU: the CUDA test files against the real device
// (TENSORFORGE_TEST_GPU=1: the real addon, every kernel compared with the CPU), then, where
// compute-sanitizer is installed, the kernel workload (test/workloads/cuda_kernels.ts) under its
// memcheck tool, which reports out-of-bounds and misaligned device accesses with the kernel's name.
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const env = { ...process.env, TENSORFORGE_TEST_GPU: '1' };
delete env.TENSORFORGE_CUDA;

function run(cmd, args) {
  console.log(`$ ${[cmd, ...args].join(' ')}`);
  const r = spawnSync(cmd, args, { cwd: root, env, stdio: 'inherit' });
  if (r.error) throw r.error;
  return r.status ?? 1;
}

const vitest = path.join(root, 'node_modules', 'vitest', 'vitest.mjs');
let status = run(process.execPath, [vitest, 'run', 'test/cuda.test.ts', 'test/cuda_build.test.ts']);

const sanitizer = ['/usr/local/cuda/bin/compute-sanitizer', process.env.CUDA_HOME && path.join(process.env.CUDA_HOME, 'bin', 'compute-sanitizer')]
  .find((p) => p && fs.existsSync(p)) ?? (spawnSync('compute-sanitizer', ['--version']).status === 0 ? 'compute-sanitizer' : null);
if (sanitizer) {
  const workload = path.join('test', 'workloads', 'cuda_kernels.ts');
  status ||= run(sanitizer, ['--tool', 'memcheck', '--error-exitcode', '1', '--target-processes', 'all', process.execPath, '--import', 'tsx', workload]);
} else {
  console.log('compute-sanitizer not found: the memcheck run is skipped');
}
process.exit(status);
