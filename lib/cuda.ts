// The `cuda` namespace: whether CUDA is usable (and why not), the device's memory, synchronisation,
// and the emulator's controls for tests. See lib/backend.ts for how the CUDA addon is found.
import { cudaBinding, cudaStatus, parseDevice, type CudaStatus } from './backend';
import type { Device } from './dtype';

/** True when tensors can be placed on 'cuda' (a real GPU, or the emulator under TENSORFORGE_CUDA=emulate). */
export function isAvailable(): boolean {
  return cudaStatus().available;
}

/** Why CUDA is not usable (undefined when it is): no CUDA addon in this build, cudaErrorInsufficientDriver, no device... */
export function unavailableReason(): string | undefined {
  return cudaStatus().reason;
}

/** Number of CUDA devices (0 when CUDA is not usable). */
export function deviceCount(): number {
  return cudaStatus().deviceCount;
}

/** What the CUDA addon reports: availability and reason, device name, memory, compute capability, emulation. */
export function status(): CudaStatus {
  return cudaStatus();
}

/** Waits for every queued kernel; a kernel's failure surfaces here (or at the next read) as an Error. */
export function synchronize(): void {
  cudaBinding('cuda.synchronize').synchronize();
}

/**
 * Device memory: `allocated` bytes held by live tensors, `reserved` bytes held from the device
 * (allocated + the caching allocator's free blocks, which emptyCache() returns).
 */
export function memory(): { allocated: number; reserved: number; tensors: number } {
  const s = cudaBinding('cuda.memory').stats();
  return { allocated: s.bytes, reserved: s.bytes + s.cachedBytes, tensors: s.storages };
}

/** Returns the caching allocator's free blocks to the device. */
export function emptyCache(): void {
  cudaBinding('cuda.emptyCache').emptyCache();
}

/**
 * Lets float32 matmuls on CUDA use tensor cores with TF32 inputs (a 10-bit mantissa, fp32
 * accumulation: about 1e-3 relative error, several times the throughput). Off by default, as
 * PyTorch's torch.backends.cuda.matmul.allow_tf32.
 */
export function setAllowTF32(allow: boolean): void {
  cudaBinding('cuda.setAllowTF32').setAllowTF32(allow);
}
export function allowTF32(): boolean {
  return cudaBinding('cuda.allowTF32').allowTF32();
}

/** 'cuda' when CUDA is usable, else 'cpu'. */
export function defaultDevice(): Device {
  return parseDevice('defaultDevice', 'auto');
}

/**
 * Emulator only (TENSORFORGE_CUDA=emulate): the order in which a block's threads run. A kernel whose
 * results change with the schedule has a race. in-order | reversed | random | warp-ahead.
 */
export function _emuSetSchedule(name: 'in-order' | 'reversed' | 'random' | 'warp-ahead', seed = 1): void {
  const b = cudaBinding('cuda._emuSetSchedule');
  if (!b.emuSetSchedule) throw new Error('cuda._emuSetSchedule: only the emulated CUDA addon has schedules');
  b.emuSetSchedule(name, seed);
}

/** Emulator only: runs one of the emulator's self-test kernels (cuda/emu/selftest.cu). */
export function _emuSelfTest(name: string): number {
  const b = cudaBinding('cuda._emuSelfTest');
  if (!b.emuSelfTest) throw new Error('cuda._emuSelfTest: only the emulated CUDA addon has self-tests');
  return b.emuSelfTest(name);
}
