// The Tensor: a strided view (shape, strides, offset) of a reference-counted native storage, plus
// the autograd fields. Ops live in lib/ops/ and are attached as methods by lib/tensor_methods.ts.
import { DTYPE_CODE, DTYPE_OF_CODE, ELEMENT_SIZE, isFloating, type DType, type Device, type TypedArray } from './dtype';
import { fromBF16Bits, fromF16Bits, isHalf, widenHalf } from './half';
import { backendFor } from './backend';
import { StorageRef, releaseTensor, setTensorCheck, trackTensor } from './memory';
import { meta, metaDevice, metaView } from './native';
import { contiguousStrides, numelOf, shapeStr } from './shape';

/** One recorded op in the autograd graph (see lib/autograd.ts). */
export interface GradNode {
  /** PyTorch-style name, e.g. "MulBackward". */
  readonly name: string;
  /** The op's tensor inputs; gradients are returned in this order (null: no gradient). */
  readonly inputs: readonly Tensor[];
  backward: (grad: Tensor) => (Tensor | null)[];
  /** Tensors the backward reads, with their storage versions when recorded. */
  readonly saved: readonly Tensor[];
  readonly savedVersions: readonly number[];
  released: boolean;
}

export type NestedArray = number | boolean | NestedArray[];

export class Tensor {
  /** @internal */ _storage: StorageRef;
  /** @internal */ _shape: number[];
  /** @internal */ _strides: number[];
  /** @internal */ _offset: number;
  readonly dtype: DType;
  /** The accumulated gradient after backward(); null until then. */
  grad: Tensor | null = null;
  /** The op that produced this tensor, for autograd; null for leaves. */
  gradFn: GradNode | null = null;
  /** @internal */ _requiresGrad = false;
  /** @internal */ _retainGrad = false;
  /** @internal */ _disposed = false;
  /** @internal Position in memory.ts's nursery of tensors not yet registered with the finalizer; -1 when not there. */
  _nurseryIndex = -1;

  /** @internal Use the creation functions (tensor, zeros, ...) instead. */
  constructor(storage: StorageRef, shape: number[], strides: number[], offset: number, dtype: DType) {
    this._storage = storage;
    this._shape = shape;
    this._strides = strides;
    this._offset = offset;
    this.dtype = dtype;
    trackTensor(this, storage);
  }

  /** @internal A new, uninitialised (or zeroed), contiguous tensor on `device`. */
  static _empty(shape: number[], dtype: DType, zero = false, device: Device = 'cpu'): Tensor {
    const n = numelOf(shape);
    const backend = backendFor(device);
    const storage = new StorageRef(backend.alloc(DTYPE_CODE[dtype], n, zero), n, backend, device);
    return new Tensor(storage, shape, contiguousStrides(shape), 0, dtype);
  }

  /** Where the data lives: 'cpu' or 'cuda'. */
  get device(): Device {
    return this._storage.device;
  }

  /** @internal A view of this tensor's storage (shares memory). */
  _view(shape: number[], strides: number[], offset: number): Tensor {
    this._check('view');
    return new Tensor(this._storage, shape, strides, offset, this.dtype);
  }

  /** @internal Throws if the tensor was disposed. */
  _check(op: string): void {
    if (this._disposed) throw new Error(`${op}: tensor was disposed (shape ${shapeStr(this._shape)}, ${this.dtype})`);
  }

  /** @internal Writes this tensor's descriptor into the next native call's metadata. */
  _meta(): void {
    metaDevice(this._storage.backend, this._storage.device);
    metaView(this._storage.handle, this._offset, this._shape, this._strides);
  }

  get shape(): number[] {
    return this._shape.slice();
  }
  get strides(): number[] {
    return this._strides.slice();
  }
  get ndim(): number {
    return this._shape.length;
  }
  /** Offset of element 0 in the storage, in elements. */
  get storageOffset(): number {
    return this._offset;
  }
  get isLeaf(): boolean {
    return this.gradFn === null;
  }
  get isDisposed(): boolean {
    return this._disposed;
  }

  /** Number of elements. */
  numel(): number {
    return numelOf(this._shape);
  }
  /** The shape, or the size of one dim (negative dims count from the end). */
  size(): number[];
  size(dim: number): number;
  size(dim?: number): number | number[] {
    if (dim === undefined) return this.shape;
    const d = dim < 0 ? dim + this.ndim : dim;
    if (!Number.isInteger(d) || d < 0 || d >= this.ndim) {
      throw new RangeError(`size: dim ${dim} is out of range for a tensor of ${this.ndim} dims`);
    }
    return this._shape[d];
  }
  dim(): number {
    return this.ndim;
  }
  elementSize(): number {
    return ELEMENT_SIZE[this.dtype];
  }

  isContiguous(): boolean {
    let expected = 1;
    for (let d = this._shape.length - 1; d >= 0; d--) {
      if (this._shape[d] !== 1 && this._strides[d] !== expected) return false;
      expected *= this._shape[d];
    }
    return true;
  }

  get requiresGrad(): boolean {
    return this._requiresGrad;
  }
  set requiresGrad(value: boolean) {
    this.requiresGrad_(value);
  }
  /** Sets requiresGrad in place (leaves only, floating point only) and returns this. */
  requiresGrad_(value = true): this {
    if (!value && !this.isLeaf) {
      throw new Error('requiresGrad_: cannot turn off requiresGrad on a non-leaf tensor; use detach()');
    }
    if (value && !isFloating(this.dtype)) {
      throw new Error(`requiresGrad_: only floating-point tensors can require gradients, got ${this.dtype}`);
    }
    this._requiresGrad = value;
    return this;
  }
  /** Keeps .grad for this non-leaf tensor after backward(). */
  retainGrad(): this {
    this._retainGrad = true;
    return this;
  }

  /** Frees the native memory now (when no other view shares it). Idempotent. */
  dispose(): void {
    if (this._disposed) return;
    this._disposed = true;
    releaseTensor(this, this._storage);
    this.gradFn = null;
  }
  [Symbol.dispose](): void {
    this.dispose();
  }

  /**
   * A contiguous copy of the data as a new typed array (Float32Array, Float64Array, Int32Array or
   * Uint8Array; float16 and bfloat16 values come widened, exactly, in a Float32Array).
   */
  dataSync(): TypedArray {
    const raw = this._rawSync('dataSync');
    return isHalf(this.dtype) ? widenHalf(this.dtype, raw as Uint16Array) : (raw as TypedArray);
  }
  /** A contiguous copy of the storage's elements as native read gives them (16-bit floats as their bits). */
  _rawSync(op: string): TypedArray | Uint16Array {
    this._check(op);
    const n = this.numel();
    const backend = this._storage.backend;
    if (this.isContiguous()) return backend.read(this._storage.handle, this._offset, n);
    const tmp = Tensor._empty(this._shape.slice(), this.dtype, false, this.device);
    try {
      meta();
      tmp._meta();
      this._meta();
      backend.copy();
      return backend.read(tmp._storage.handle, 0, n);
    } finally {
      tmp.dispose();
    }
  }
  /** Like dataSync(), as a Promise (the copy from a device waits for its queued kernels). */
  async data(): Promise<TypedArray> {
    return this.dataSync();
  }
  /** The data as nested arrays (numbers; booleans for bool tensors). A 0-d tensor gives a number. */
  toArray(): NestedArray {
    const flat = this.dataSync();
    const isBool = this.dtype === 'bool';
    const shape = this._shape;
    let pos = 0;
    const build = (d: number): NestedArray => {
      if (d === shape.length) {
        const v = flat[pos++];
        return isBool ? v !== 0 : v;
      }
      const out: NestedArray[] = new Array(shape[d]);
      for (let i = 0; i < shape[d]; i++) out[i] = build(d + 1);
      return out;
    };
    return build(0);
  }
  /** The value of a one-element tensor. */
  item(): number {
    if (this.numel() !== 1) {
      throw new Error(`item: only one-element tensors can be converted to a number, got shape ${shapeStr(this._shape)}`);
    }
    this._check('item');
    const v = this._storage.backend.read(this._storage.handle, this._offset, 1)[0];
    if (this.dtype === 'float16') return fromF16Bits(v);
    if (this.dtype === 'bfloat16') return fromBF16Bits(v);
    return v;
  }
}

export function isTensor(v: unknown): v is Tensor {
  return v instanceof Tensor;
}
setTensorCheck(isTensor);

/** Maps a dtype code back to its name (for native results). */
export function dtypeOfCode(code: number): DType {
  return DTYPE_OF_CODE[code];
}
