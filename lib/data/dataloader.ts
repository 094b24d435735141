// DataLoader: batches of a dataset, in order or shuffled by tensorforge's seedable generator.
import { tidy } from '../memory';
import { Generator as RandomGenerator, randperm } from '../ops/random';
import { defaultCollate, type Collated } from './collate';
import type { DatasetLike } from './dataset';

export interface DataLoaderOptions<T, B> {
  /** Items per batch (default 1). */
  batchSize?: number;
  /** Draw a new random order every epoch (default false: items in index order). */
  shuffle?: boolean;
  /** Drop the last batch when it is smaller than batchSize (default false). */
  dropLast?: boolean;
  /**
   * The generator shuffling draws from. Each epoch takes the next permutation from its stream, so
   * epochs differ and a run is reproducible from the generator's seed. Default: a generator seeded
   * with `seed` when given, else tensorforge's default generator (seeded by tf.manualSeed).
   */
  generator?: RandomGenerator;
  /** Seed for a generator owned by this loader (not with `generator`). */
  seed?: number | bigint;
  /** Merges a list of items into a batch (default: defaultCollate). */
  collateFn?: (items: T[]) => B;
}

/**
 * Iterates over a dataset in batches, with `for...of` or `for await`:
 *
 * ```ts
 * const loader = new tf.data.DataLoader(ds, { batchSize: 64, shuffle: true, seed: 0 });
 * for (const [x, y] of loader) {
 *   tf.tidy(() => { ... train on x, y ... });
 *   tf.dispose([x, y]);
 * }
 * ```
 *
 * Memory: every batch is made of fresh tensors that the consumer owns and disposes (tf.dispose(batch),
 * or let an enclosing tidy collect them: batches are created in the scope that is current when the
 * loop asks for the next one). Tensors made while building a batch (items, index tensors) are freed
 * before it is handed over, so an epoch leaves nothing behind but the batches themselves.
 *
 * Each iteration is one epoch; with shuffle, the permutation is drawn when the iteration starts.
 * `length` is the number of batches per epoch.
 */
export class DataLoader<T, B = Collated<T>> implements Iterable<B>, AsyncIterable<B> {
  readonly dataset: DatasetLike<T> | readonly T[];
  readonly batchSize: number;
  readonly shuffle: boolean;
  readonly dropLast: boolean;
  /** The generator shuffling uses; null means tensorforge's default generator. */
  readonly generator: RandomGenerator | null;
  readonly collateFn: ((items: T[]) => B) | null;

  constructor(dataset: DatasetLike<T> | readonly T[], opts: DataLoaderOptions<T, B> = {}) {
    const op = 'DataLoader';
    if (dataset === null || typeof dataset !== 'object' || typeof dataset.length !== 'number') {
      throw new TypeError(`${op}: dataset must be a Dataset (length and get(i)) or an array`);
    }
    if (!Array.isArray(dataset) && typeof (dataset as DatasetLike<T>).get !== 'function') {
      throw new TypeError(`${op}: dataset has no get(index) method`);
    }
    if (!Number.isInteger(dataset.length) || dataset.length < 0) throw new RangeError(`${op}: dataset length must be a non-negative integer, got ${dataset.length}`);
    const batchSize = opts.batchSize ?? 1;
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`${op}: batchSize must be a positive integer, got ${batchSize}`);
    if (opts.generator !== undefined && opts.seed !== undefined) throw new Error(`${op}: pass either generator or seed, not both`);
    if (opts.generator !== undefined && !(opts.generator instanceof RandomGenerator)) throw new TypeError(`${op}: generator must be a tf.Generator`);
    if (opts.collateFn !== undefined && typeof opts.collateFn !== 'function') throw new TypeError(`${op}: collateFn must be a function`);
    this.dataset = dataset;
    this.batchSize = batchSize;
    this.shuffle = Boolean(opts.shuffle);
    this.dropLast = Boolean(opts.dropLast);
    this.generator = opts.generator ?? (opts.seed !== undefined ? new RandomGenerator(opts.seed) : null);
    this.collateFn = opts.collateFn ?? null;
  }

  /** Batches per epoch. */
  get length(): number {
    const n = this.dataset.length;
    return this.dropLast ? Math.floor(n / this.batchSize) : Math.ceil(n / this.batchSize);
  }

  /** The item order of one epoch: 0..n-1, or the generator's next permutation when shuffling. */
  private epochOrder(): Int32Array {
    const n = this.dataset.length;
    if (!this.shuffle) return Int32Array.from({ length: n }, (_, i) => i);
    const perm = randperm(n, this.generator ? { generator: this.generator } : {});
    try {
      return perm.dataSync() as Int32Array;
    } finally {
      perm.dispose();
    }
  }

  private makeBatch(indices: Int32Array): B {
    const ds = this.dataset;
    return tidy(() => {
      if (Array.isArray(ds)) {
        const items = Array.from(indices, (i) => (ds as readonly T[])[i]);
        return this.collateFn ? this.collateFn(items) : (defaultCollate(items) as B);
      }
      const d = ds as DatasetLike<T>;
      if (!this.collateFn && typeof d.getBatch === 'function') return d.getBatch(indices) as B;
      const items = Array.from(indices, (i) => d.get(i));
      return this.collateFn ? this.collateFn(items) : (defaultCollate(items) as B);
    });
  }

  /** One epoch of batches. */
  [Symbol.iterator](): IterableIterator<B> {
    const order = this.epochOrder();
    const count = this.length;
    const bs = this.batchSize;
    const self = this;
    function* batches(): IterableIterator<B> {
      for (let b = 0; b < count; b++) {
        yield self.makeBatch(order.subarray(b * bs, Math.min((b + 1) * bs, order.length)));
      }
    }
    return batches();
  }

  /** The same epoch for `for await` (batches are made synchronously, one per next()). */
  [Symbol.asyncIterator](): AsyncIterableIterator<B> {
    const it = this[Symbol.iterator]();
    const ait: AsyncIterableIterator<B> = {
      next: async () => it.next(),
      return: async (value?: unknown) => it.return?.(value as B) ?? { done: true, value: value as B },
      [Symbol.asyncIterator]: () => ait,
    };
    return ait;
  }
}
