// Helpers the op files share: output allocation, broadcasting views for kernels, and reducing a
// broadcast gradient back to an input's shape.
import { DTYPE_CODE, type Device, type DType } from '../dtype';
import { metaDevice, metaScalar, metaView } from '../native';
import { Tensor } from '../tensor';
import { shapeStr, sameShape } from '../shape';

/** A new uninitialised contiguous tensor on `device`. */
export function empty(shape: number[], dtype: DType, device: Device): Tensor {
  return Tensor._empty(shape, dtype, false, device);
}

/** The device of an op's tensor operands (numbers go anywhere); an Error names the op when they differ. */
export function deviceOf(op: string, ...operands: unknown[]): Device {
  let device: Device | null = null;
  for (const v of operands) {
    if (!(v instanceof Tensor)) continue;
    if (device === null) device = v.device;
    else if (v.device !== device) {
      throw new Error(`${op}: expected all tensors on one device, got ${device} and ${v.device}`);
    }
  }
  return device ?? 'cpu';
}

/** A stride-0 view of t broadcast to `shape` (no copy, no autograd): what elementwise kernels take. */
/** Strides that read t as `shape` (broadcasting: stride 0 where t has size 1 or lacks the dim). */
export function broadcastStrides(t: Tensor, shape: readonly number[], op = 'broadcast'): number[] {
  const nd = shape.length, off = nd - t._shape.length;
  const strides = new Array<number>(nd);
  for (let i = 0; i < nd; i++) {
    const src = i - off;
    if (src < 0) strides[i] = 0;
    else if (t._shape[src] === shape[i]) strides[i] = t._strides[src];
    else if (t._shape[src] === 1) strides[i] = 0;
    else throw new Error(`${op}: cannot broadcast ${shapeStr(t._shape)} to ${shapeStr(shape)}`);
  }
  return strides;
}

/** A stride-0 view of t broadcast to `shape` (no copy, no autograd). */
export function broadcastView(t: Tensor, shape: number[], op = 'broadcast'): Tensor {
  if (sameShape(t._shape, shape)) return t;
  return t._view(shape.slice(), broadcastStrides(t, shape, op), t._offset);
}

/** A kernel operand: a tensor, or a number that travels by value (no tensor is made for it). */
export type KernelOperand = Tensor | { scalar: number; dtype: DType };

/** Writes an operand's descriptor, broadcast to `shape`, into the next native call's metadata. */
export function metaOperand(v: KernelOperand, shape: readonly number[], op: string): void {
  if (v instanceof Tensor) {
    const strides = sameShape(v._shape, shape) ? v._strides : broadcastStrides(v, shape, op);
    metaDevice(v._storage.backend, v._storage.device);
    metaView(v._storage.handle, v._offset, shape, strides);
  } else {
    metaScalar(v.scalar, DTYPE_CODE[v.dtype], shape);
  }
}

export function operandShape(v: KernelOperand): number[] {
  return v instanceof Tensor ? v._shape : [];
}

/** Runs fn with temporary views and disposes them afterwards (views created for a kernel call only). */
export function withViews<R>(views: Tensor[], originals: Tensor[], fn: () => R): R {
  try {
    return fn();
  } finally {
    for (let i = 0; i < views.length; i++) if (views[i] !== originals[i]) views[i].dispose();
  }
}

/** Sums a gradient over the dims that broadcasting expanded, giving `shape`. */
export function sumToShape(g: Tensor, shape: readonly number[]): Tensor {
  if (sameShape(g._shape, shape)) return g;
  const lead = g._shape.length - shape.length;
  const dims: number[] = [];
  for (let i = 0; i < g._shape.length; i++) {
    if (i < lead || (shape[i - lead] === 1 && g._shape[i] !== 1)) dims.push(i);
  }
  let r = dims.length > 0 ? g.sum(dims, { keepdim: true }) : g;
  if (lead > 0 || !sameShape(r._shape, shape)) r = r.reshape([...shape]);
  return r;
}
