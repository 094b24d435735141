// Fashion-MNIST (Zalando, MIT licence): 28x28 grey images of clothes in 10 classes, 60,000 for
// training and 10,000 for testing, read from the four IDX files. Nothing is downloaded: the files
// come from the Debian package dataset-fashion-mnist (/usr/share/datasets/fashion-mnist), from a
// directory you name, or from the subset shipped in this repository (data/fashion-mnist-subset: the
// first 2,000 training and 500 test images).
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Dataset, checkIndex } from '../data/dataset';
import { keep } from '../memory';
import { native } from '../native';
import { tensor } from '../ops/creation';
import { Tensor } from '../tensor';
import { readIdx } from './idx';

export const FASHION_MNIST_DEFAULT_ROOT = '/usr/share/datasets/fashion-mnist';
/** The subset shipped with tensorforge (first 2,000 training and 500 test images, same file names). */
export const FASHION_MNIST_SUBSET_ROOT = resolve(__dirname, '..', '..', 'data', 'fashion-mnist-subset');

export const FASHION_MNIST_CLASSES: readonly string[] = [
  'T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot',
];

const FILES = {
  train: { images: 'train-images-idx3-ubyte', labels: 'train-labels-idx1-ubyte' },
  test: { images: 't10k-images-idx3-ubyte', labels: 't10k-labels-idx1-ubyte' },
};

export interface FashionMNISTOptions {
  /** Directory with the IDX files, gzipped (`*.gz`) or not. Default /usr/share/datasets/fashion-mnist. */
  root?: string;
  /** The training split (default) or the test split. */
  train?: boolean;
  /**
   * true: use the subset shipped with tensorforge (2,000 training / 500 test images), not `root`.
   * 'auto': use `root` (or the default) when its files are there, the subset otherwise (check
   * `isSubset`). false (default): `root` only; missing files are an Error.
   */
  subset?: boolean | 'auto';
  /** Not supported: tensorforge never downloads. Install dataset-fashion-mnist or use the subset. */
  download?: never;
}

const INSTALL_HINT =
  'install the Debian package (apt-get install dataset-fashion-mnist), pass { root } naming a directory ' +
  'with the four IDX files, or pass { subset: true } for the 2,000/500-image subset shipped with tensorforge';

function findFile(root: string, base: string): string | null {
  for (const name of [`${base}.gz`, base]) {
    const p = join(root, name);
    if (existsSync(p)) return p;
  }
  return null;
}

function filesIn(root: string, train: boolean): { images: string; labels: string } | { missing: string } {
  const names = train ? FILES.train : FILES.test;
  const images = findFile(root, names.images);
  if (!images) return { missing: names.images };
  const labels = findFile(root, names.labels);
  if (!labels) return { missing: names.labels };
  return { images, labels };
}

const IMAGE = 28 * 28;

/**
 * A float32 tensor of `shape` holding images `rows` (all images when rows is null) scaled to [0, 1]
 * as PyTorch's ToTensor does (`float(byte) / 255` in float32): the bytes are widened natively into
 * the tensor's memory, then divided in place (no float copy in JS, no per-pixel JS loop: the
 * training split's 47M pixels took 200-540 ms that way, about a fifth of a LeNet epoch).
 */
function imagesTensor(pixels: Uint8Array, rows: ArrayLike<number> | null, shape: number[]): Tensor {
  let bytes = pixels;
  if (rows) {
    bytes = new Uint8Array(rows.length * IMAGE);
    for (let j = 0; j < rows.length; j++) bytes.set(pixels.subarray(rows[j] * IMAGE, (rows[j] + 1) * IMAGE), j * IMAGE);
  }
  const t = Tensor._empty(shape, 'float32');
  try {
    native.write(t._storage.handle, 0, bytes);
    return t.div_(255);
  } catch (e) {
    t.dispose();
    throw e;
  }
}

/**
 * The dataset. Item i is `[image, label]`: image float32 [1, 28, 28] scaled to [0, 1], label a 0-d
 * int32 tensor (fresh tensors each call). `tensors()` gives the whole split at once; a DataLoader
 * builds batches straight from the raw bytes (getBatch), without per-item tensors.
 */
export class FashionMNISTDataset extends Dataset<[Tensor, Tensor]> {
  readonly root: string;
  readonly train: boolean;
  /** Whether this is the shipped subset rather than the full data. */
  readonly isSubset: boolean;
  readonly imagesFile: string;
  readonly labelsFile: string;
  /** Raw pixels, N * 28 * 28 bytes, row-major. */
  readonly pixels: Uint8Array;
  /** Raw labels, N bytes in 0..9. */
  readonly labels: Uint8Array;
  readonly classes = FASHION_MNIST_CLASSES;

  constructor(opts: FashionMNISTOptions = {}) {
    super();
    const op = 'FashionMNIST';
    if (opts === null || typeof opts !== 'object') throw new TypeError(`${op}: expected an options object`);
    if ((opts as { download?: unknown }).download) {
      throw new Error(`${op}: download is not supported (tensorforge never downloads); ${INSTALL_HINT}`);
    }
    const subset = opts.subset ?? false;
    if (subset !== true && subset !== false && subset !== 'auto') throw new TypeError(`${op}: subset must be true, false or 'auto', got ${JSON.stringify(subset)}`);
    if (subset === true && opts.root !== undefined) throw new Error(`${op}: pass either root or subset: true, not both`);
    this.train = opts.train ?? true;
    const split = this.train ? 'training' : 'test';
    let root = subset === true ? FASHION_MNIST_SUBSET_ROOT : opts.root ?? FASHION_MNIST_DEFAULT_ROOT;
    let found = filesIn(root, this.train);
    if ('missing' in found && subset === 'auto') {
      root = FASHION_MNIST_SUBSET_ROOT;
      found = filesIn(root, this.train);
    }
    if ('missing' in found) {
      if (root === FASHION_MNIST_SUBSET_ROOT) {
        throw new Error(`${op}: the shipped subset is missing ${found.missing}(.gz) in ${root} (is data/fashion-mnist-subset in this install?)`);
      }
      throw new Error(`${op}: ${split} file ${found.missing}(.gz) not found in ${root}; ${INSTALL_HINT}`);
    }
    this.root = root;
    this.isSubset = root === FASHION_MNIST_SUBSET_ROOT;
    this.imagesFile = found.images;
    this.labelsFile = found.labels;

    const images = readIdx(found.images);
    const labels = readIdx(found.labels);
    const fail = (file: string, msg: string): never => {
      throw new Error(`${op}: ${file}: ${msg}`);
    };
    if (images.type !== 'uint8' || images.shape.length !== 3 || images.shape[1] !== 28 || images.shape[2] !== 28) {
      fail(found.images, `expected uint8 images of shape [N, 28, 28], got ${images.type} [${images.shape.join(', ')}]`);
    }
    if (labels.type !== 'uint8' || labels.shape.length !== 1) {
      fail(found.labels, `expected uint8 labels of shape [N], got ${labels.type} [${labels.shape.join(', ')}]`);
    }
    if (labels.shape[0] !== images.shape[0]) {
      fail(found.labels, `${labels.shape[0]} labels but ${found.images} has ${images.shape[0]} images`);
    }
    const lab = labels.data as Uint8Array;
    for (let i = 0; i < lab.length; i++) {
      if (lab[i] > 9) fail(found.labels, `label ${lab[i]} at index ${i} is out of range (expected 0..9)`);
    }
    this.pixels = images.data as Uint8Array;
    this.labels = lab;
  }

  get length(): number {
    return this.labels.length;
  }

  get(index: number): [Tensor, Tensor] {
    const i = checkIndex('FashionMNIST.get', index, this.length);
    const x = imagesTensor(this.pixels, [i], [1, 28, 28]);
    const y = tensor(Int32Array.of(this.labels[i]), { shape: [] });
    return [x, y];
  }

  /** Images [B, 1, 28, 28] float32 in [0, 1] and labels [B] int32 for these indices (fresh tensors). */
  override getBatch(indices: Int32Array | readonly number[]): [Tensor, Tensor] {
    const n = this.length;
    const lab = new Int32Array(indices.length);
    for (let j = 0; j < indices.length; j++) {
      const i = indices[j];
      if (!Number.isInteger(i) || i < 0 || i >= n) throw new RangeError(`FashionMNIST.getBatch: index ${i} is out of range for a dataset of ${n} items`);
      lab[j] = this.labels[i];
    }
    // The split is converted to float32 once, on the first batch (47 MB of pixels -> 188 MB); each
    // batch is then one native row gather instead of a JS loop over every pixel.
    this.allImages ??= keep(imagesTensor(this.pixels, null, [n, 1, 28, 28]));
    const index = tensor(Int32Array.from(indices));
    const images = this.allImages.indexSelect(0, index);
    index.dispose();
    return [images, tensor(lab)];
  }
  private allImages: Tensor | null = null;

  /** Frees the float32 copy of the images that batching keeps (made again if batches are asked for). */
  dispose(): void {
    this.allImages?.dispose();
    this.allImages = null;
  }
  [Symbol.dispose](): void {
    this.dispose();
  }

  /**
   * The whole split: images [N, 1, 28, 28] float32 in [0, 1] and labels [N] int32. Fresh tensors the
   * caller owns (about 188 MB of images for the full training split): dispose them when done.
   * `new tf.data.TensorDataset(images, labels)` batches them with indexSelect.
   */
  tensors(): { images: Tensor; labels: Tensor } {
    return { images: imagesTensor(this.pixels, null, [this.length, 1, 28, 28]), labels: tensor(Int32Array.from(this.labels)) };
  }
}

/**
 * `datasets.FashionMNIST({ root?, train = true, subset? })`, with or without `new`; see
 * FashionMNISTOptions and FashionMNISTDataset.
 */
export const FashionMNIST = function FashionMNIST(opts?: FashionMNISTOptions): FashionMNISTDataset {
  return new FashionMNISTDataset(opts);
} as unknown as {
  new (opts?: FashionMNISTOptions): FashionMNISTDataset;
  (opts?: FashionMNISTOptions): FashionMNISTDataset;
  prototype: FashionMNISTDataset;
};
FashionMNIST.prototype = FashionMNISTDataset.prototype;
