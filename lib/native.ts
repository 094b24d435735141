// Loads the native addon (prebuilds/ first, then build/Release, via node-gyp-build) and the shared
// metadata buffer through which tensor descriptors reach it (see native/binding.cpp).
import * as path from 'node:path';

/** A native buffer of numel elements of one dtype (native/storage.h). */
export interface NativeStorage {
  readonly numel: number;
  readonly dtype: number;
  readonly freed: boolean;
  free(): void;
}

export interface Binding {
  Storage: new (dtype: number, numel: number, zero?: boolean) => NativeStorage;
  setMeta(buf: Float64Array): void;
  unary(op: number, out: NativeStorage, x: NativeStorage): void;
  unaryBackward(op: number, dx: NativeStorage, g: NativeStorage, x: NativeStorage, y: NativeStorage): void;
  binary(op: number, out: NativeStorage, a: NativeStorage, b: NativeStorage): void;
  where(out: NativeStorage, cond: NativeStorage, a: NativeStorage, b: NativeStorage): void;
  copy(out: NativeStorage, x: NativeStorage): void;
  fill(out: NativeStorage): void;
  reduce(op: number, out: NativeStorage, x: NativeStorage): void;
  softmax(log: boolean, out: NativeStorage, x: NativeStorage): void;
  softmaxBackward(log: boolean, dx: NativeStorage, g: NativeStorage, y: NativeStorage): void;
  gemm(c: NativeStorage, a: NativeStorage, b: NativeStorage): void;
  indexSelect(out: NativeStorage, x: NativeStorage, index: NativeStorage): void;
  indexAdd(out: NativeStorage, index: NativeStorage, src: NativeStorage): void;
  gather(out: NativeStorage, x: NativeStorage, index: NativeStorage): void;
  scatterAdd(out: NativeStorage, index: NativeStorage, src: NativeStorage): void;
  random(kind: number, out: NativeStorage): void;
  read(s: NativeStorage, offset: number, count: number): Float32Array | Float64Array | Int32Array | Uint8Array;
  write(s: NativeStorage, offset: number, data: ArrayBufferView): void;
  stats(): { storages: number; bytes: number };
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
      `tensorforge: could not load the native addon from ${root} (looked in prebuilds/ and build/Release/): ` +
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

/** The metadata buffer: descriptors and scalar parameters for the next native call. */
const META = new Float64Array(1024);
native.setMeta(META);
let cursor = 0;

/** Starts a new call's metadata. */
export function meta(): void {
  cursor = 0;
}
/** Appends a tensor descriptor: offset, ndim, shape, strides (elements). */
export function metaView(offset: number, shape: readonly number[], strides: readonly number[]): void {
  const m = META;
  let c = cursor;
  m[c++] = offset;
  m[c++] = shape.length;
  for (let i = 0; i < shape.length; i++) m[c++] = shape[i];
  for (let i = 0; i < strides.length; i++) m[c++] = strides[i];
  cursor = c;
}
/** Appends scalar parameters. */
export function metaNum(...values: number[]): void {
  for (const v of values) META[cursor++] = v;
}
