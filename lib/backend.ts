// Devices and the addon behind each. 'cpu' is the CPU addon (lib/native.ts); 'cuda' is a second
// addon over device memory with the same entry points (native/binding.cpp compiled against
// cuda/), loaded on first use:
//   - build/cuda/tensorforge_cuda.node (nvcc, real GPUs), used when CUDA is usable: cudaGetDeviceCount
//     succeeds with a count above 0;
//   - build/cuda/tensorforge_cuda_emu.node when TENSORFORGE_CUDA=emulate: the same kernel sources run
//     on the CPU by our emulator (cuda/emu/), for tests on machines without a GPU;
//   - build/cuda/tensorforge_cuda_emu_asan.node when TENSORFORGE_CUDA=emulate-asan: that emulator
//     under AddressSanitizer (the process needs libasan preloaded; see test/cuda_asan.test.ts).
// Where neither is usable, loading never fails: cuda.isAvailable() is false and says why, and asking
// for 'cuda' throws that reason.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Device } from './dtype';
import { metaBuffer, native, type Binding } from './native';

/** What the CUDA addon adds to the shared entry points (cuda/device_entries.cpp). */
export interface CudaStatus {
  available: boolean;
  reason?: string;
  deviceCount: number;
  emulated: boolean;
  name?: string;
  totalMemory?: number;
  computeCapability?: string;
  multiProcessorCount?: number;
}
export interface CudaBinding extends Binding {
  status(): CudaStatus;
  synchronize(): void;
  setAllowTF32(allow: boolean): void;
  allowTF32(): boolean;
  emuSetSchedule?(name: string, seed: number): void;
  emuSelfTest?(name: string): number;
}

interface CudaState {
  binding: CudaBinding | null;
  /** The entry points the addon really has (the others throw; see fillGaps). */
  kernels: Set<string>;
  status: CudaStatus;
  file: string | null;
}
let cudaState: CudaState | null = null;

function candidates(kind: 'real' | 'emu' | 'asan'): string[] {
  const root = path.join(__dirname, '..');
  const file = { real: 'tensorforge_cuda.node', emu: 'tensorforge_cuda_emu.node', asan: 'tensorforge_cuda_emu_asan.node' }[kind];
  return [
    path.join(root, 'build', 'cuda', file),
    path.join(root, 'prebuilds', `${process.platform}-${process.arch}`, 'cuda', file),
  ];
}

// Entry points the device has no kernel for become functions that throw, naming the op and device.
function fillGaps(b: CudaBinding): CudaBinding {
  for (const key of Object.keys(native) as (keyof Binding)[]) {
    if (typeof (b as unknown as Record<string, unknown>)[key] === 'function') continue;
    (b as unknown as Record<string, unknown>)[key] = () => {
      throw new Error(
        `${key}: this op has no kernel on device 'cuda' in this build yet; move its tensors with .to('cpu') ` +
          '(see the README for the ops CUDA runs)',
      );
    };
  }
  return b;
}

function loadCuda(): CudaState {
  if (cudaState) return cudaState;
  const mode = (process.env.TENSORFORGE_CUDA ?? '').toLowerCase();
  if (mode === 'off' || mode === '0') {
    cudaState = { binding: null, kernels: new Set(), file: null, status: { available: false, deviceCount: 0, emulated: false, reason: 'disabled by TENSORFORGE_CUDA' } };
    return cudaState;
  }
  const emulate = mode === 'emulate' || mode === 'emulate-asan';
  const file = candidates(emulate ? (mode === 'emulate-asan' ? 'asan' : 'emu') : 'real').find((f) => fs.existsSync(f)) ?? null;
  if (!file) {
    const reason = emulate
      ? 'TENSORFORGE_CUDA=emulate, but the emulated CUDA addon is not built (build/cuda/tensorforge_cuda_emu.node; run npm run build:native)'
      : 'this build has no CUDA addon (nvcc was not found when it was built; set TENSORFORGE_CUDA=emulate for the CPU emulation)';
    cudaState = { binding: null, kernels: new Set(), file: null, status: { available: false, deviceCount: 0, emulated: emulate, reason } };
    return cudaState;
  }
  let binding: CudaBinding;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    binding = require(file) as CudaBinding;
  } catch (e) {
    const reason = `the CUDA addon ${file} failed to load: ${e instanceof Error ? e.message : String(e)}`;
    cudaState = { binding: null, kernels: new Set(), file, status: { available: false, deviceCount: 0, emulated: emulate, reason } };
    return cudaState;
  }
  const status = binding.status();
  if (status.available) binding.setMeta(metaBuffer());
  const kernels = new Set(Object.keys(binding).filter((k) => typeof (binding as unknown as Record<string, unknown>)[k] === 'function'));
  cudaState = { binding: status.available ? fillGaps(binding) : null, kernels, file, status };
  return cudaState;
}

/** The CUDA addon's status (loads it on first call; never throws). */
export function cudaStatus(): CudaStatus {
  return { ...loadCuda().status };
}

/** The CUDA binding, or an Error that says why CUDA cannot be used. */
export function cudaBinding(op = 'cuda'): CudaBinding {
  const s = loadCuda();
  if (!s.binding) throw new Error(`${op}: device 'cuda' is not available: ${s.status.reason}`);
  return s.binding;
}

/**
 * Whether `device` has the native entry point `name`: ops with a choice of algorithm pick one the
 * device runs (convolution: the CPU's direct kernel, CUDA's implicit GEMM, im2col + GEMM on both).
 */
export function deviceHas(device: Device, name: keyof Binding): boolean {
  if (device === 'cpu') return typeof (native as unknown as Record<string, unknown>)[name] === 'function';
  return loadCuda().kernels.has(name);
}

/** The addon that owns tensors of `device`. */
export function backendFor(device: Device, op = 'device'): Binding {
  if (device === 'cpu') return native;
  if (device === 'cuda') return cudaBinding(op);
  throw new Error(`${op}: unknown device ${JSON.stringify(device)} (expected 'cpu', 'cuda' or 'auto')`);
}

/** Reads a device argument: 'cpu', 'cuda', 'cuda:0' (throws when CUDA is unusable), or 'auto' (CUDA when usable, else the CPU). */
export function parseDevice(op: string, d: unknown): Device {
  if (d === undefined || d === 'cpu') return 'cpu';
  if (d === 'cuda' || d === 'cuda:0') {
    cudaBinding(op);  // an Error naming the op, and why CUDA is unusable
    return 'cuda';
  }
  if (d === 'auto') return loadCuda().binding ? 'cuda' : 'cpu';
  throw new Error(`${op}: unknown device ${JSON.stringify(d)} (expected 'cpu', 'cuda' or 'auto')`);
}
