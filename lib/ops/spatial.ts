// Helpers shared by the convolution (conv.ts) and pooling (pool.ts) ops: argument parsing with
// PyTorch's rules (an int or one value per spatial dim) and tensor descriptors for native calls that
// need a view no Tensor has (a unit batch dim for unbatched inputs, a chunk of the batch, a group
// split), written straight into the metadata buffer without making view tensors.
import { metaDevice, metaView } from '../native';
import { contiguousStrides, shapeStr } from '../shape';
import { Tensor } from '../tensor';

export type IntOrTuple = number | readonly number[];

/** Checks that x is a live Tensor. */
export function checkTensor(op: string, x: unknown, name: string): Tensor {
  if (!(x instanceof Tensor)) {
    throw new TypeError(`${op}: expected ${name} to be a Tensor, got ${x === null ? 'null' : typeof x}`);
  }
  x._check(op);
  return x;
}

/** An int or a list of `ns` ints, each >= min, as a list of `ns` ints. */
export function tuple(op: string, name: string, v: unknown, ns: number, min: number): number[] {
  const list = typeof v === 'number' ? new Array<number>(ns).fill(v) : Array.isArray(v) ? [...(v as unknown[])] : null;
  const ok = list !== null && list.length === ns && list.every((e) => typeof e === 'number' && Number.isInteger(e) && e >= min);
  if (!ok) {
    const what = ns === 1 ? 'an integer' : `an integer or a list of ${ns} integers`;
    throw new RangeError(`${op}: ${name} must be ${what} >= ${min}, got ${JSON.stringify(v)}`);
  }
  return list as number[];
}

export function prod(v: readonly number[]): number {
  return v.reduce((a, b) => a * b, 1);
}

/** A strided view of a tensor's storage, for one native call. */
export interface Desc {
  readonly t: Tensor;
  readonly offset: number;
  readonly shape: number[];
  readonly strides: number[];
}

/** x as a descriptor with a batch dim: a unit one is added when `unbatched`. */
export function batchedDesc(x: Tensor, unbatched: boolean): Desc {
  return unbatched
    ? { t: x, offset: x._offset, shape: [1, ...x._shape], strides: [0, ...x._strides] }
    : { t: x, offset: x._offset, shape: x._shape.slice(), strides: x._strides.slice() };
}

/** Rows [n0, n0 + nb) of dim 0 of a descriptor. */
export function chunkDesc(d: Desc, n0: number, nb: number): Desc {
  return { t: d.t, offset: d.offset + n0 * d.strides[0], shape: [nb, ...d.shape.slice(1)], strides: d.strides };
}

/** A contiguous [shape] view starting `offset` elements into a contiguous tensor t. */
export function denseDesc(t: Tensor, shape: number[], offset = 0): Desc {
  return { t, offset: t._offset + offset, shape, strides: contiguousStrides(shape) };
}

/** Writes a descriptor into the next native call's metadata. */
export function put(d: Desc): void {
  metaDevice(d.t._storage.backend, d.t._storage.device);
  metaView(d.t._storage.handle, d.offset, d.shape, d.strides);
}

/** "[2, 3]" for a list of sizes. */
export const fmt = shapeStr;
