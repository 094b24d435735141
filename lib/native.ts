// Loads the native addon through node-gyp-build, and the shared metadata buffer through which tensor
// descriptors reach it (see native/binding.cpp). An installed package uses the prebuilt binary in
// prebuilds/<platform>-<arch>/ (`npm install` compiles only when none loads: scripts/install.js); a
// checkout with a local build (build/Release) loads that one, as node-gyp-build prefers it.
import * as path from 'node:path';

/** The addon's functions. Tensor arguments are passed as descriptors in the metadata buffer (see below). */
export interface Binding {
  setMeta(buf: Float64Array): void;
  /** Allocates a storage and returns its handle (a number; see native/storage.h). */
  alloc(dtype: number, numel: number, zero: boolean): number;
  /** Frees a storage; freeing a handle twice is harmless. */
  free(handle: number): void;
  emptyCache(): void;
  unary(op: number): void;
  unaryBackward(op: number): void;
  binary(op: number): void;
  where(): void;
  copy(): void;
  fill(): void;
  reduce(op: number): void;
  softmax(log: boolean): void;
  softmaxBackward(log: boolean): void;
  gemm(): void;
  /** gemm with a bias / activation epilogue (native/kernels/gemm.cpp; meta layout in binding.cpp). */
  gemmEpilogue(): void;
  indexSelect(): void;
  indexAdd(): void;
  gather(): void;
  scatterAdd(): void;
  random(kind: number): void;
  /** Convolution and pooling (native/kernels/conv.cpp, pool.cpp); metadata layouts in native/binding.cpp. */
  im2col(): void;
  col2im(): void;
  convDirect(): void;
  convDirectWeightGrad(): void;
  /** Depthwise convolution: mode 0 forward, 1 input gradient, 2 weight gradient (native/kernels/conv_depthwise.cpp). */
  convDepthwise(mode: number): void;
  convDepthwiseBackward(): void;
  /** A convolution's bias gradient: gOut summed per channel (native/kernels/conv.cpp). */
  convBiasGrad(): void;
  bf16MatmulKernel(pin?: string): string;
  bf16MatmulKernels(): string[];
  gemmTile(pin?: number): number;
  gemmUnpacked(allowed?: boolean): boolean;
  /** Convolution as implicit GEMM (CUDA; on the CPU im2col + GEMM per tile of output rows, native/kernels/conv_tiled.cpp): mode 0 forward, 1 input gradient, 2 weight gradient. */
  convImplicit(mode: number): void;
  maxPool(): void;
  maxPoolBackward(): void;
  avgPool(): void;
  avgPoolBackward(): void;
  adaptiveAvgPool(backward: boolean): void;
  adaptiveMaxPool(): void;
  /** Fused optimizer updates (native/kernels/optim.cpp); metadata layouts in native/binding.cpp. */
  sgdStep(): void;
  adamStep(): void;
  rmspropStep(): void;
  adagradStep(): void;
  /** Fused cross-entropy over [N, C] logits and int32 targets (native/kernels/loss.cpp). */
  crossEntropy(backward: boolean): void;
  /** Fused layer and batch normalisation, forward or backward (native/kernels/norm.cpp). */
  layerNorm(backward: boolean): void;
  batchNorm(backward: boolean): void;
  /** One layer and direction of a recurrent layer, forward / backward through time (native/kernels/rnn.cpp). */
  rnnForward(mode: number): void;
  rnnBackward(mode: number): void;
  /** Fused scaled-dot-product attention, forward / backward (native/kernels/attention.cpp). */
  attentionForward(): void;
  attentionBackward(): void;
  /** Measured vector FMA throughput of all pool threads, GFLOP/s, over about `seconds`. */
  fmaPeak(seconds: number): number;
  /** A copy of storage elements; float16 / bfloat16 storage gives its bits in a Uint16Array. */
  read(handle: number, offset: number, count: number): Float32Array | Float64Array | Int32Array | Uint8Array | Uint16Array;
  write(handle: number, offset: number, data: ArrayBufferView): void;
  stats(): { storages: number; bytes: number; cachedBytes: number };
  getNumThreads(): number;
  setNumThreads(n: number): void;
  cpuLevel(): string;
  cpuLevels(): string[];
  setCpuLevel(name: string): void;
}

function load(): Binding {
  const root = path.join(__dirname, '..');
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const nodeGypBuild = require('node-gyp-build') as (dir: string) => unknown;
    return nodeGypBuild(root) as Binding;
  } catch (e) {
    const reason = e instanceof Error ? e.message : String(e);
    throw new Error(
      `tensorforge: could not load the native addon from ${root} (looked in build/Release/ and prebuilds/): ` +
        `${reason}. Build it with \`npm run build:native\` (needs cmake and a C++17 compiler).`,
    );
  }
}

export const native: Binding = load();

// Op codes shared with native/kernels.h.
export const UnaryOp = {
  Neg: 0, Abs: 1, Exp: 2, Log: 3, Log1p: 4, Sqrt: 5, Rsqrt: 6, Sin: 7, Cos: 8, Tanh: 9, Sigmoid: 10, Relu: 11,
  Gelu: 12, GeluTanh: 13, Silu: 14, Clamp: 15, PowScalar: 16, LeakyRelu: 17, Sign: 18, Expm1: 19, Square: 20,
  Reciprocal: 21, Floor: 22, Ceil: 23, Round: 24, LogicalNot: 25,
} as const;
export const BinaryOp = {
  Add: 0, Sub: 1, Mul: 2, Div: 3, Pow: 4, Maximum: 5, Minimum: 6, Eq: 7, Ne: 8, Lt: 9, Le: 10, Gt: 11, Ge: 12,
  LogicalAnd: 13, LogicalOr: 14, Remainder: 15, Atan2: 16,
} as const;
export const ReduceOp = {
  Sum: 0, Mean: 1, Max: 2, Min: 3, Prod: 4, ArgMax: 5, ArgMin: 6, Var: 7, LogSumExp: 8, Any: 9, All: 10,
} as const;

// The addon has one metadata buffer; a second copy of this library in the same process (say lib/
// through tsx and dist/ through require) would silently take it over from the first.
const LOADED = Symbol.for('tensorforge.loadedFrom');
const registry = globalThis as unknown as Record<symbol, string | undefined>;
if (registry[LOADED] && registry[LOADED] !== __dirname) {
  throw new Error(
    `tensorforge: loaded twice in one process, from ${registry[LOADED]} and ${__dirname}; ` +
      'import it through one path only (the package name, or one of lib/ and dist/)',
  );
}
registry[LOADED] = __dirname;

/** The metadata buffer: descriptors and scalar parameters for the next native call. */
const META = new Float64Array(1024);
native.setMeta(META);
let cursor = 0;

// The addon that runs the next call: the one owning the tensors written into its metadata.
let callBackend: Binding | null = null;
let callDevice = 'cpu';

/** Starts a new call's metadata. */
export function meta(): void {
  cursor = 0;
  callBackend = null;
}
/** Records that a tensor of this addon / device takes part in the next call (Tensor._meta). */
export function metaDevice(backend: Binding, device: string): void {
  if (callBackend === null) {
    callBackend = backend;
    callDevice = device;
  } else if (callBackend !== backend) {
    throw new Error(`expected all tensors of one op on one device, got ${callDevice} and ${device}`);
  }
}
/** The addon for the call being prepared (the CPU when no tensor was written). */
export function callee(): Binding {
  return callBackend ?? native;
}
/** Every addon shares the one metadata buffer (lib/backend.ts registers it with the CUDA addon). */
export function metaBuffer(): Float64Array {
  return META;
}
/** Appends a tensor descriptor: storage handle, offset, ndim, shape, strides (elements). */
export function metaView(handle: number, offset: number, shape: readonly number[], strides: readonly number[]): void {
  const m = META;
  let c = cursor;
  m[c++] = handle;
  m[c++] = offset;
  m[c++] = shape.length;
  for (let i = 0; i < shape.length; i++) m[c++] = shape[i];
  for (let i = 0; i < strides.length; i++) m[c++] = strides[i];
  cursor = c;
}
/** Appends a number operand broadcast to `shape` (native/binding.cpp scalar_view). */
export function metaScalar(value: number, dtypeCode: number, shape: readonly number[]): void {
  const m = META;
  let c = cursor;
  m[c++] = -1;
  m[c++] = value;
  m[c++] = dtypeCode;
  m[c++] = shape.length;
  for (let i = 0; i < shape.length; i++) m[c++] = shape[i];
  for (let i = 0; i < shape.length; i++) m[c++] = 0;
  cursor = c;
}
/** Appends scalar parameters. */
export function metaNum(...values: number[]): void {
  for (const v of values) META[cursor++] = v;
}
