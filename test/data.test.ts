// tf.data (Dataset, TensorDataset, DataLoader, defaultCollate), the IDX reader and Fashion-MNIST
// (the subset shipped in data/, and the full Debian package when it is installed).
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import * as tf from '../lib';
import { native } from '../lib/native';
import type { Tensor } from '../lib';

const live = (): { tensors: number; storages: number; bytes: number } => {
  const m = tf.memory();
  return { tensors: m.tensors, storages: m.storages, bytes: m.bytes };
};
const flat = (t: Tensor): number[] => Array.from(t.dataSync() as ArrayLike<number>, Number);

class Squares extends tf.data.Dataset<{ x: number; y: Tensor; name: string }> {
  constructor(readonly n: number) {
    super();
  }
  get length(): number {
    return this.n;
  }
  get(i: number) {
    return { x: i, y: tf.tensor([i, i * i]), name: `item${i}` };
  }
}

describe('TensorDataset', () => {
  it('items are rows of every tensor', () => {
    const x = tf.arange(12).reshape(6, 2);
    const y = tf.arange(6);
    const ds = new tf.data.TensorDataset(x, y);
    expect(ds.length).toBe(6);
    const [xi, yi] = ds.get(4);
    expect(xi.toArray()).toEqual([8, 9]);
    expect(yi.item()).toBe(4);
    expect(ds.get(-1)[1].item()).toBe(5);
    expect(() => ds.get(6)).toThrow(/out of range/);
    expect(() => ds.get(1.5)).toThrow(/integer/);
    expect([...ds].length).toBe(6);
    tf.dispose([x, y, xi, yi]);
  });
  it('rejects mismatched and 0-d tensors', () => {
    const a = tf.zeros([3, 2]), b = tf.zeros([4]), c = tf.tensor(1);
    expect(() => new tf.data.TensorDataset(a, b)).toThrow(/size mismatch.*\[3, 2\].*\[4\]/);
    expect(() => new tf.data.TensorDataset(c)).toThrow(/0-d/);
    expect(() => new tf.data.TensorDataset()).toThrow(/at least one/);
    tf.dispose([a, b, c]);
  });
});

describe('DataLoader', () => {
  const x = tf.keep(tf.arange(20).reshape(10, 2).float());
  const y = tf.keep(tf.arange(10));
  const ds = new tf.data.TensorDataset(x, y);
  afterAll(() => tf.dispose([x, y]));

  it('batches in order, last batch short; length counts batches', () => {
    const loader = new tf.data.DataLoader(ds, { batchSize: 4 });
    expect(loader.length).toBe(3);
    const ys: number[][] = [];
    for (const [xb, yb] of loader) {
      expect(xb.dtype).toBe('float32');
      expect(yb.dtype).toBe('int32');
      expect(xb.shape).toEqual([yb.shape[0], 2]);
      expect(flat(xb)).toEqual(flat(yb).flatMap((v) => [2 * v, 2 * v + 1]));
      ys.push(flat(yb));
      tf.dispose([xb, yb]);
    }
    expect(ys).toEqual([[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]);
  });
  it('dropLast drops the short batch', () => {
    const loader = new tf.data.DataLoader(ds, { batchSize: 4, dropLast: true });
    expect(loader.length).toBe(2);
    let n = 0;
    for (const b of loader) {
      expect(b[1].shape).toEqual([4]);
      tf.dispose(b);
      n++;
    }
    expect(n).toBe(2);
    expect(new tf.data.DataLoader(ds, { batchSize: 10, dropLast: true }).length).toBe(1);
    expect(new tf.data.DataLoader(ds, { batchSize: 11, dropLast: true }).length).toBe(0);
    expect(new tf.data.DataLoader(ds).length).toBe(10);
  });
  const epochOrders = (loader: tf.data.DataLoader<Tensor[], Tensor[]>, epochs: number): number[][] => {
    const out: number[][] = [];
    for (let e = 0; e < epochs; e++) {
      const order: number[] = [];
      for (const [xb, yb] of loader) {
        order.push(...flat(yb));
        tf.dispose([xb, yb]);
      }
      out.push(order);
    }
    return out;
  };
  it('shuffle is a permutation, reproducible per seed, different each epoch', () => {
    const a = epochOrders(new tf.data.DataLoader(ds, { batchSize: 3, shuffle: true, seed: 7 }), 3);
    const b = epochOrders(new tf.data.DataLoader(ds, { batchSize: 3, shuffle: true, seed: 7 }), 3);
    const c = epochOrders(new tf.data.DataLoader(ds, { batchSize: 3, shuffle: true, seed: 8 }), 1);
    expect(a).toEqual(b);
    for (const o of a) expect([...o].sort((p, q) => p - q)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(a[0]).not.toEqual(a[1]);
    expect(a[1]).not.toEqual(a[2]);
    expect(c[0]).not.toEqual(a[0]);
    // A shared generator, and the default generator through tf.manualSeed.
    const g1 = epochOrders(new tf.data.DataLoader(ds, { batchSize: 5, shuffle: true, generator: new tf.Generator(7) }), 2);
    expect(g1).toEqual(a.slice(0, 2));
    tf.manualSeed(3);
    const d1 = epochOrders(new tf.data.DataLoader(ds, { batchSize: 5, shuffle: true }), 2);
    tf.manualSeed(3);
    const d2 = epochOrders(new tf.data.DataLoader(ds, { batchSize: 5, shuffle: true }), 2);
    expect(d1).toEqual(d2);
  });
  it('for await gives the same batches', async () => {
    const loader = new tf.data.DataLoader(ds, { batchSize: 4, shuffle: true, seed: 1 });
    const sync = epochOrders(new tf.data.DataLoader(ds, { batchSize: 4, shuffle: true, seed: 1 }), 1)[0];
    const order: number[] = [];
    for await (const [xb, yb] of loader) {
      order.push(...flat(yb));
      tf.dispose([xb, yb]);
    }
    expect(order).toEqual(sync);
    // break ends the epoch cleanly
    for await (const b of loader) {
      tf.dispose(b);
      break;
    }
  });
  it('leaves no tensors behind across epochs (TensorDataset, default collate, early break)', () => {
    const loader = new tf.data.DataLoader(ds, { batchSize: 3, shuffle: true, seed: 0 });
    const dsq = new tf.data.DataLoader(new Squares(7), { batchSize: 2, shuffle: true, seed: 0 });
    const m0 = live();
    for (let e = 0; e < 3; e++) {
      for (const b of loader) tf.dispose(b);
      for (const b of dsq) tf.dispose(b);
      for (const b of loader) {
        tf.dispose(b);
        break;
      }
    }
    expect(live()).toEqual(m0);
  });
  it('default collate: numbers, tensors, strings, nested objects', () => {
    const loader = new tf.data.DataLoader(new Squares(5), { batchSize: 2 });
    const batches = [...loader];
    expect(batches.length).toBe(3);
    const b0 = batches[0];
    expect(b0.x.dtype).toBe('int32');
    expect(b0.x.toArray()).toEqual([0, 1]);
    expect(b0.y.shape).toEqual([2, 2]);
    expect(b0.y.toArray()).toEqual([[0, 0], [1, 1]]);
    expect(b0.name).toEqual(['item0', 'item1']);
    expect(batches[2].y.toArray()).toEqual([[4, 16]]);
    for (const b of batches) tf.dispose(b);

    const c = tf.data.defaultCollate<[number, boolean, number[]]>([[1.5, true, [1, 2]], [2, false, [3, 4]]]);
    expect(c[0].dtype).toBe('float32');
    expect(c[0].toArray()).toEqual([1.5, 2]);
    expect(c[1].dtype).toBe('bool');
    expect(c[2][1].toArray()).toEqual([2, 4]);
    tf.dispose(c);
    expect(() => tf.data.defaultCollate([{ a: 1 }, { b: 1 }] as { a?: number; b?: number }[])).toThrow(/keys/);
    const t1 = tf.zeros([2]), t2 = tf.zeros([3]);
    expect(() => tf.data.defaultCollate([t1, t2])).toThrow(/cannot stack/);
    expect(() => tf.data.defaultCollate([])).toThrow(/non-empty/);
    tf.dispose([t1, t2]);
  });
  it('plain arrays and custom collate; dataset-owned tensors are never disposed', () => {
    const owned = [tf.tensor([1, 2]), tf.tensor([3, 4]), tf.tensor([5, 6])];
    const loader = new tf.data.DataLoader(owned, { batchSize: 2, collateFn: (items) => tf.cat(items) });
    const out = [...loader].map((b) => {
      const v = b.toArray();
      b.dispose();
      return v;
    });
    expect(out).toEqual([[1, 2, 3, 4], [5, 6]]);
    const stacked = [...new tf.data.DataLoader(owned, { batchSize: 3 })][0];
    expect(stacked.shape).toEqual([3, 2]);
    stacked.dispose();
    expect(owned.every((t) => !t.isDisposed)).toBe(true);
    tf.dispose(owned);
    // A custom collate on a Dataset: item tensors it does not return are freed.
    const m0 = live();
    const sums = new tf.data.DataLoader(new Squares(4), { batchSize: 2, collateFn: (items) => items.map((it) => it.y.sum().item()) });
    expect([...sums]).toEqual([[0, 2], [6, 12]]);
    expect(live()).toEqual(m0);
  });
  it('validates its options', () => {
    expect(() => new tf.data.DataLoader(ds, { batchSize: 0 })).toThrow(/batchSize/);
    expect(() => new tf.data.DataLoader(ds, { batchSize: 2.5 })).toThrow(/batchSize/);
    expect(() => new tf.data.DataLoader(ds, { seed: 1, generator: new tf.Generator(1) })).toThrow(/either/);
    expect(() => new tf.data.DataLoader({} as never)).toThrow(/dataset/);
  });
});

// ---------------------------------------------------------------------------------------------
// IDX

function idxBytes(type: number, dims: number[], payload: number[] | Uint8Array): Buffer {
  const head = Buffer.alloc(4 + 4 * dims.length);
  head[2] = type;
  head[3] = dims.length;
  dims.forEach((d, i) => head.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([head, Buffer.from(payload)]);
}

describe('IDX reader', () => {
  it('reads uint8 arrays, gzipped or not', () => {
    const raw = idxBytes(0x08, [2, 3], [1, 2, 3, 250, 251, 255]);
    for (const buf of [raw, gzipSync(raw)]) {
      const a = tf.datasets.parseIdx(buf, 'x.idx');
      expect(a.type).toBe('uint8');
      expect(a.shape).toEqual([2, 3]);
      expect(Array.from(a.data)).toEqual([1, 2, 3, 250, 251, 255]);
    }
    const empty = tf.datasets.parseIdx(idxBytes(0x08, [0, 28, 28], []));
    expect(empty.shape).toEqual([0, 28, 28]);
    expect(empty.data.length).toBe(0);
  });
  it('reads the other element types big-endian, and round-trips encodeIdx', () => {
    const b = Buffer.alloc(8);
    b.writeInt32BE(-5, 0);
    b.writeInt32BE(70000, 4);
    expect(Array.from(tf.datasets.parseIdx(idxBytes(0x0c, [2], b)).data)).toEqual([-5, 70000]);
    const f = Buffer.alloc(8);
    f.writeDoubleBE(-1.25, 0);
    expect(Array.from(tf.datasets.parseIdx(idxBytes(0x0e, [1], f.subarray(0, 8))).data)).toEqual([-1.25]);
    const enc = tf.datasets.encodeIdx(Float32Array.of(0.5, -2, 3), [3], { gzip: true });
    const dec = tf.datasets.parseIdx(enc);
    expect(dec.type).toBe('float32');
    expect(Array.from(dec.data)).toEqual([0.5, -2, 3]);
  });
  it('rejects each malformed case with an Error naming the file and the problem', () => {
    const bad: [Buffer, RegExp][] = [
      [Buffer.from([0, 0, 8]), /bad\.idx: truncated: 3 bytes/],
      [Buffer.from([1, 0, 8, 1, 0, 0, 0, 0]), /bad\.idx: bad magic number 0x01000801/],
      [idxBytes(0x07, [1], [0]), /unknown element type 0x07/],
      [idxBytes(0x08, [], []), /0 dims/],
      [Buffer.from([0, 0, 8, 200]), /200 dims/],
      [Buffer.from([0, 0, 8, 3, 0, 0, 0, 1]), /truncated: 8 bytes, shorter than the 16-byte header/],
      [idxBytes(0x08, [2, 3], [1, 2, 3, 4, 5]), /dims \[2, 3\] need 6 uint8 elements .* only 5 data bytes/],
      [idxBytes(0x08, [0xffffffff, 0xffffffff, 0xffffffff], [1]), /need .* only 1 data bytes/],
      [idxBytes(0x0c, [2], [0, 0, 0, 1, 0, 0, 0]), /need 2 int32 elements \(8 bytes\)/],
      [idxBytes(0x08, [2], [1, 2, 3]), /1 unexpected bytes after the 2 bytes of data/],
      [gzipSync(idxBytes(0x08, [4], [1, 2, 3, 4])).subarray(0, 15), /not a valid gzip stream/],
    ];
    for (const [buf, re] of bad) {
      expect(() => tf.datasets.parseIdx(buf, 'bad.idx')).toThrow(re);
    }
    // Trailing bytes can be allowed; sizes are bounded.
    expect(tf.datasets.parseIdx(idxBytes(0x08, [2], [1, 2, 3]), 'x', { allowTrailing: true }).shape).toEqual([2]);
    const big = gzipSync(idxBytes(0x08, [4096], new Uint8Array(4096)));
    expect(() => tf.datasets.parseIdx(big, 'bomb.gz', { maxBytes: 1000 })).toThrow(/bomb\.gz: decompresses to more than 1000 bytes/);
  });
  it('readIdx names the path; missing files are a clear error', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tf-idx-'));
    try {
      const p = join(dir, 'labels-idx1-ubyte.gz');
      writeFileSync(p, gzipSync(idxBytes(0x08, [3], [7, 8, 9])));
      expect(Array.from(tf.datasets.readIdx(p).data)).toEqual([7, 8, 9]);
      const q = join(dir, 'broken');
      writeFileSync(q, Buffer.from([0, 0, 8, 1, 0, 0, 0, 9, 1]));
      expect(() => tf.datasets.readIdx(q)).toThrow(new RegExp(`IDX file ${q}: dims \\[9\\]`));
      expect(() => tf.datasets.readIdx(join(dir, 'nope'))).toThrow(/nope: cannot read it/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Fashion-MNIST

const FULL = tf.datasets.FASHION_MNIST_DEFAULT_ROOT;
const haveFull = existsSync(join(FULL, 'train-labels-idx1-ubyte.gz')) || existsSync(join(FULL, 'train-labels-idx1-ubyte'));

function firstLabelInFile(path: string): number {
  const raw = readFileSync(path);
  const bytes = raw[0] === 0x1f ? gunzipSync(raw) : raw;
  return bytes[8];
}

function checkSplit(ds: tf.datasets.FashionMNISTDataset, n: number): void {
  expect(ds.length).toBe(n);
  const [img, label] = ds.get(0);
  expect(img.shape).toEqual([1, 28, 28]);
  expect(img.dtype).toBe('float32');
  expect(label.shape).toEqual([]);
  expect(label.dtype).toBe('int32');
  expect(label.item()).toBe(firstLabelInFile(ds.labelsFile));
  const v = img.dataSync();
  expect(Math.min(...v)).toBeGreaterThanOrEqual(0);
  expect(Math.max(...v)).toBeLessThanOrEqual(1);
  for (let k = 0; k < 28 * 28; k++) if (v[k] !== Math.fround(ds.pixels[k] / 255)) expect([k, v[k]]).toEqual([k, ds.pixels[k] / 255]);
  tf.dispose([img, label]);
  let lo = 9, hi = 0;
  for (const l of ds.labels) {
    lo = Math.min(lo, l);
    hi = Math.max(hi, l);
  }
  expect([lo, hi]).toEqual([0, 9]);
}

describe('bytes written into float storage', () => {
  it('widen to the byte values exactly, in float32 and float64, at an offset', () => {
    const bytes = Uint8Array.from({ length: 256 }, (_, i) => (i * 37 + 11) % 256);
    for (const dtype of ['float32', 'float64'] as const) {
      const t = tf.full([300], -1, { dtype });
      native.write(t._storage.handle, 20, bytes);
      const v = t.dataSync();
      expect(Array.from(v.subarray(20, 276))).toEqual(Array.from(bytes));
      expect([v[19], v[276]]).toEqual([-1, -1]);
      expect(() => native.write(t._storage.handle, 45, bytes)).toThrow(/range outside the storage/);
      t.dispose();
    }
    const i = tf.zeros([4], { dtype: 'int32' });
    expect(() => native.write(i._storage.handle, 0, new Uint8Array(4))).toThrow(/does not match dtype int32/);
    i.dispose();
  });
});

describe('FashionMNIST subset (shipped)', () => {
  it('train and test splits: shapes, dtypes, label range, first label', () => {
    const train = tf.datasets.FashionMNIST({ subset: true });
    expect(train.isSubset).toBe(true);
    expect(train.classes[9]).toBe('Ankle boot');
    checkSplit(train, 2000);
    checkSplit(new tf.datasets.FashionMNIST({ subset: true, train: false }), 500);
    expect(train).toBeInstanceOf(tf.datasets.FashionMNIST);
  });
  it('tensors() and DataLoader batches agree with get()', () => {
    const ds = tf.datasets.FashionMNIST({ subset: true, train: false });
    const m0 = live();
    const { images, labels } = ds.tensors();
    expect(images.shape).toEqual([500, 1, 28, 28]);
    expect(images.dtype).toBe('float32');
    expect(labels.shape).toEqual([500]);
    expect(labels.dtype).toBe('int32');
    const loader = new tf.data.DataLoader(ds, { batchSize: 128, shuffle: true, seed: 0 });
    expect(loader.length).toBe(4);
    const perm = tf.randperm(500, { generator: new tf.Generator(0) });
    const first = (perm.dataSync() as Int32Array)[0];
    perm.dispose();
    let seen = 0;
    for (const [x, y] of loader) {
      expect(x.shape).toEqual([y.shape[0], 1, 28, 28]);
      expect(y.dtype).toBe('int32');
      if (seen === 0) {
        const i = first;
        expect(flat(y)[0]).toBe(ds.labels[i]);
        const [xi, yi] = ds.get(i);
        const row = x.select(0, 0);
        expect(flat(row)).toEqual(flat(xi));
        const ref = images.select(0, i);
        expect(flat(ref)).toEqual(flat(xi));
        expect(flat(labels)[i]).toBe(yi.item());
        tf.dispose([xi, yi, row, ref]);
      }
      seen += y.shape[0];
      tf.dispose([x, y]);
    }
    expect(seen).toBe(500);
    tf.dispose([images, labels]);
    ds.dispose(); // the float32 copy of the images that batching made
    expect(live()).toEqual(m0);
  });
  it('missing files: a clear error naming the package; download is refused', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tf-fm-'));
    try {
      expect(() => tf.datasets.FashionMNIST({ root: dir })).toThrow(/train-images-idx3-ubyte\(\.gz\) not found in .*apt-get install dataset-fashion-mnist/);
      const auto = tf.datasets.FashionMNIST({ root: dir, subset: 'auto', train: false });
      expect(auto.isSubset).toBe(true);
      expect(auto.length).toBe(500);
      expect(() => tf.datasets.FashionMNIST({ download: true } as never)).toThrow(/never downloads/);
      // Files that do not fit together are rejected with the file named.
      writeFileSync(join(dir, 't10k-images-idx3-ubyte'), idxBytes(0x08, [2, 28, 28], new Uint8Array(2 * 784)));
      writeFileSync(join(dir, 't10k-labels-idx1-ubyte'), idxBytes(0x08, [3], [1, 2, 3]));
      expect(() => tf.datasets.FashionMNIST({ root: dir, train: false })).toThrow(/t10k-labels-idx1-ubyte: 3 labels but .* has 2 images/);
      writeFileSync(join(dir, 't10k-labels-idx1-ubyte'), idxBytes(0x08, [2], [1, 12]));
      expect(() => tf.datasets.FashionMNIST({ root: dir, train: false })).toThrow(/label 12 at index 1 is out of range/);
      writeFileSync(join(dir, 't10k-labels-idx1-ubyte'), idxBytes(0x08, [2], [1, 2]));
      expect(tf.datasets.FashionMNIST({ root: dir, train: false }).length).toBe(2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe.skipIf(!haveFull)('FashionMNIST full data (Debian dataset-fashion-mnist)', () => {
  it('both splits, and the subset is their first rows', () => {
    const test = tf.datasets.FashionMNIST({ train: false });
    expect(test.isSubset).toBe(false);
    checkSplit(test, 10000);
    const sub = tf.datasets.FashionMNIST({ train: false, subset: true });
    expect(Buffer.compare(Buffer.from(sub.pixels), Buffer.from(test.pixels.subarray(0, 500 * 784)))).toBe(0);
    expect(Buffer.compare(Buffer.from(sub.labels), Buffer.from(test.labels.subarray(0, 500)))).toBe(0);
    const train = tf.datasets.FashionMNIST();
    checkSplit(train, 60000);
    expect(tf.datasets.FashionMNIST({ subset: 'auto' }).isSubset).toBe(false);
  });
});
