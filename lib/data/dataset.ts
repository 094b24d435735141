// Datasets: an indexable collection of items (PyTorch's map-style Dataset), and TensorDataset, whose
// items are rows of tensors that share their first dim.
import { noGrad } from '../autograd';
import { tensor } from '../ops/creation';
import { indexSelect } from '../ops/indexing';
import { reshape, select } from '../ops/views';
import { shapeStr } from '../shape';
import { Tensor } from '../tensor';

/**
 * What a DataLoader reads: `length` items, `get(i)` for i in [0, length). A plain array is one too.
 * `getBatch`, when present, is a fast path: it returns the already collated batch for a list of
 * indices (the DataLoader uses it instead of get + the default collate, never with a collateFn).
 */
export interface DatasetLike<T> {
  readonly length: number;
  get(index: number): T;
  getBatch?(indices: Int32Array): unknown;
}

/**
 * A map-style dataset: subclass it and implement `length` and `get(i)`.
 *
 * Ownership: `get(i)` may return fresh tensors, views of the dataset's own tensors (select, narrow,
 * detach: no copy) or even the dataset's own tensors. The DataLoader calls it inside a tidy scope, so
 * tensors made by `get` and not kept in the collated batch are disposed at once, and tensors that
 * existed before (the dataset's own) are left alone. A `get` that creates tensors and caches them
 * for later calls must take them out of that scope with tf.keep.
 */
export abstract class Dataset<T> implements DatasetLike<T> {
  abstract get length(): number;
  abstract get(index: number): T;
  /** Optional fast path, see DatasetLike. */
  getBatch?(indices: Int32Array): unknown;

  /** The items in order (calls get for each index). */
  *[Symbol.iterator](): IterableIterator<T> {
    const n = this.length;
    for (let i = 0; i < n; i++) yield this.get(i);
  }
}

/** Checks an item index against a dataset length (negative indices count from the end). */
export function checkIndex(op: string, index: number, length: number): number {
  if (typeof index !== 'number' || !Number.isInteger(index)) throw new TypeError(`${op}: index must be an integer, got ${index}`);
  if (index < -length || index >= length) {
    throw new RangeError(`${op}: index ${index} is out of range for a dataset of ${length} items`);
  }
  return index < 0 ? index + length : index;
}

/**
 * x[idx] along dim 0. A contiguous tensor of 3 or more dims goes through a [N, rest] view, which the
 * native indexSelect walks faster than the full shape (the result is then viewed back).
 */
function selectRows(x: Tensor, idx: Tensor): Tensor {
  if (x.ndim <= 2 || !x.isContiguous()) return indexSelect(x, 0, idx);
  const rows = x._shape[0];
  const rest = x._shape.slice(1);
  const flat = reshape(x, [rows, rest.reduce((p, c) => p * c, 1)]);
  const picked = indexSelect(flat, 0, idx);
  flat.dispose();
  const out = reshape(picked, [idx._shape[0], ...rest]);
  if (out !== picked) picked.dispose();
  return out;
}

/**
 * Wraps tensors that share their first dim: item i is `[t0[i], t1[i], ...]` (views, as in PyTorch).
 * The dataset refers to the tensors, it does not own them: keep them alive (out of any tidy that
 * ends before the DataLoader is used) and dispose them when done. Items and batches are detached
 * from autograd (made under noGrad).
 *
 * A DataLoader batches a TensorDataset with one indexSelect per tensor (getBatch), not by stacking
 * rows: `[x[idx], y[idx]]`, fresh tensors the consumer owns.
 */
export class TensorDataset extends Dataset<Tensor[]> {
  readonly tensors: readonly Tensor[];
  constructor(...tensors: Tensor[]) {
    super();
    const op = 'TensorDataset';
    if (tensors.length === 0) throw new Error(`${op}: expected at least one tensor`);
    tensors.forEach((t, i) => {
      if (!(t instanceof Tensor)) throw new TypeError(`${op}: argument ${i} is not a Tensor`);
      t._check(op);
      if (t.ndim === 0) throw new Error(`${op}: argument ${i} is 0-d; every tensor needs a first dim to index`);
    });
    const n = tensors[0]._shape[0];
    tensors.forEach((t, i) => {
      if (t._shape[0] !== n) {
        throw new Error(`${op}: size mismatch between tensors: argument 0 has shape ${shapeStr(tensors[0]._shape)} but argument ${i} has ${shapeStr(t._shape)} (first dims must match)`);
      }
    });
    this.tensors = tensors.slice();
  }
  get length(): number {
    return this.tensors[0]._shape[0];
  }
  get(index: number): Tensor[] {
    const i = checkIndex('TensorDataset.get', index, this.length);
    return noGrad(() => this.tensors.map((t) => select(t, 0, i)));
  }
  /** Rows `indices` of every tensor, gathered by indexSelect (fresh tensors). */
  override getBatch(indices: Int32Array): Tensor[] {
    const n = this.length;
    for (const i of indices) {
      if (i < 0 || i >= n) throw new RangeError(`TensorDataset.getBatch: index ${i} is out of range for a dataset of ${n} items`);
    }
    const idx = tensor(indices);
    try {
      return noGrad(() => this.tensors.map((t) => selectRows(t, idx)));
    } finally {
      idx.dispose();
    }
  }
}
