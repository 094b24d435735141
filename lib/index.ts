// tensorforge: tensors, reverse-mode autograd and native kernels for Node.js.
import './tensor_methods';
import { native } from './native';

export { Tensor, isTensor, type GradNode, type NestedArray } from './tensor';
export type { DType, Device, TypedArray } from './dtype';
export { promoteTypes } from './dtype';
export { tidy, keep, dispose, memory, emptyCache } from './memory';
export { noGrad, enableGrad, isGradEnabled, backward, type BackwardOptions } from './autograd';
export { gradcheck, type GradcheckOptions } from './gradcheck';

export {
  tensor, zeros, ones, full, empty, arange, linspace, eye, zerosLike, onesLike, fullLike, emptyLike,
  type CreateOptions, type TensorOptions,
} from './ops/creation';
export { Generator, manualSeed, rand, randn, randint, randLike, randnLike, uniform, normal, randperm, type RandomOptions } from './ops/random';
export {
  neg, abs, exp, log, log1p, expm1, sqrt, rsqrt, square, reciprocal, sin, cos, tanh, sigmoid, relu, gelu, silu,
  leakyRelu, sign, floor, ceil, round, clamp, logicalNot,
} from './ops/unary';
export {
  add, sub, mul, div, pow, remainder, atan2, maximum, minimum, eq, ne, lt, le, gt, ge, logicalAnd, logicalOr, where,
  type Operand,
} from './ops/binary';
export {
  sum, mean, prod, max, min, amax, amin, argmax, argmin, variance as var, std, logsumexp, any, all,
  type ReduceOptions, type VarOptions,
} from './ops/reduce';
export { softmax, logSoftmax } from './ops/softmax';
export { matmul, mm, bmm } from './ops/matmul';
export {
  reshape, view, contiguous, clone, permute, transpose, t, narrow, slice, select, expand, squeeze, unsqueeze, flatten,
  unflatten,
} from './ops/views';
export { expand as broadcastTo } from './ops/views';
export { cat, stack, split, chunk, unbind } from './ops/join';
export { gather, indexSelect, scatterAdd, indexAdd } from './ops/indexing';
export { tril, triu, maskedFill } from './ops/masking';
export { conv1d, conv2d, type ConvOptions, type ConvPadding } from './ops/conv';
export { convTranspose1d, convTranspose2d, type ConvTransposeOptions } from './ops/conv_transpose';
export {
  maxPool2d, maxPool1d, avgPool2d, avgPool1d, adaptiveAvgPool2d, adaptiveMaxPool2d, type MaxPoolOptions, type AvgPoolOptions,
} from './ops/pool';
export * as nn from './nn';
export * as data from './data';
export * as datasets from './datasets';
export * as optim from './optim';
export * as text from './text';
export * as cuda from './cuda';
export { defaultDevice } from './cuda';
export { toDevice } from './ops/cast';
export { save, load, loadMetadata, saveCheckpoint, loadCheckpoint, type Checkpoint } from './serialization';

/** Threads in the native pool (default: all cores, or TENSORFORGE_NUM_THREADS). */
export function getNumThreads(): number {
  return native.getNumThreads();
}
export function setNumThreads(n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`setNumThreads: expected a positive integer, got ${n}`);
  native.setNumThreads(n);
}
/**
 * The machine's measured float32 FMA throughput, GFLOP/s, at the current thread count and CPU
 * kernel level (every pool thread runs independent vector FMA chains for about `seconds`): the
 * ceiling GEMM and convolution figures are quoted against.
 */
export function measureFmaPeak(seconds = 0.2): number {
  if (typeof seconds !== 'number' || !(seconds >= 0.01 && seconds <= 10)) throw new RangeError(`measureFmaPeak: seconds must be in [0.01, 10], got ${seconds}`);
  return native.fmaPeak(seconds);
}
/** The CPU kernel variant in use: 'avx512', 'avx2' or 'generic' (TENSORFORGE_CPU_ARCH pins one). */
export function cpuKernelLevel(): string {
  return native.cpuLevel();
}
/** Variants this build has and this CPU runs, best first. */
export function cpuKernelLevels(): string[] {
  return native.cpuLevels();
}
/** Switches the CPU kernel variant (for testing every variant on one machine). */
export function setCpuKernelLevel(level: string): void {
  native.setCpuLevel(level);
}
/**
 * How bfloat16 matmuls run at the current CPU kernel level: 'amx' (AMX tiles), 'dot' (AVX512-BF16
 * dot products) or 'widen' (float32 copies on the float kernel); float32 accumulation in all three.
 */
export function bf16MatmulKernel(): string {
  return native.bf16MatmulKernel();
}
/** The bfloat16 matmul kernels this CPU and level run. */
export function bf16MatmulKernels(): string[] {
  return native.bf16MatmulKernels();
}
/**
 * @internal For tests and benchmarks: pins the float32/float64 matmul's register tile (1: 12 x 32
 * on AVX-512, 2: its second shape, 8 x 48, where the level has one; 0: each product picks the shape
 * that pads it least); returns the previous pin.
 */
export function _setGemmTile(pin: 0 | 1 | 2): number {
  const prev = native.gemmTile();
  native.gemmTile(pin);
  return prev;
}
/**
 * @internal For tests and benchmarks: whether the float32/float64 matmul may skip packing for
 * products with a small B (true, the default) or must pack every product; returns the previous setting.
 */
export function _setGemmUnpacked(allowed: boolean): boolean {
  const prev = native.gemmUnpacked();
  native.gemmUnpacked(allowed);
  return prev;
}
/** Pins the bfloat16 matmul kernel ('auto' picks the fastest); returns the previous one. For testing. */
export function setBf16MatmulKernel(kernel: 'auto' | 'widen' | 'dot' | 'amx'): string {
  const prev = native.bf16MatmulKernel();
  native.bf16MatmulKernel(kernel);
  return prev;
}
