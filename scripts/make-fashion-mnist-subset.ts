// Makes data/fashion-mnist-subset/: the first 2,000 training and 500 test images and labels of
// Fashion-MNIST as gzipped IDX files with the usual names, read from the Debian package
// dataset-fashion-mnist (apt-get install dataset-fashion-mnist) or from the directory given.
//
//   npx tsx scripts/make-fashion-mnist-subset.ts [sourceDir]
//
// The output is deterministic (gzip level 9, no timestamp in the header), so re-running it on the
// same source gives the same bytes. The LICENSE next to the files carries the dataset's MIT notice.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { encodeIdx, readIdx } from '../lib/datasets/idx';

const SRC = process.argv[2] ?? '/usr/share/datasets/fashion-mnist';
const OUT = resolve(__dirname, '..', 'data', 'fashion-mnist-subset');
const SPLITS = [
  { images: 'train-images-idx3-ubyte', labels: 'train-labels-idx1-ubyte', count: 2000 },
  { images: 't10k-images-idx3-ubyte', labels: 't10k-labels-idx1-ubyte', count: 500 },
];

function read(base: string) {
  for (const name of [`${base}.gz`, base]) {
    try {
      return readIdx(join(SRC, name));
    } catch (e) {
      if (!/ENOENT/.test((e as Error).message)) throw e;
    }
  }
  throw new Error(`${base}(.gz) not found in ${SRC}; apt-get install dataset-fashion-mnist or name the directory`);
}

mkdirSync(OUT, { recursive: true });
for (const s of SPLITS) {
  const images = read(s.images);
  const labels = read(s.labels);
  if (images.shape[0] < s.count || labels.shape[0] < s.count) throw new Error(`${s.images}: fewer than ${s.count} items`);
  const per = images.shape[1] * images.shape[2];
  const img = encodeIdx(images.data.subarray(0, s.count * per), [s.count, images.shape[1], images.shape[2]], { gzip: true });
  const lab = encodeIdx(labels.data.subarray(0, s.count), [s.count], { gzip: true });
  writeFileSync(join(OUT, `${s.images}.gz`), img);
  writeFileSync(join(OUT, `${s.labels}.gz`), lab);
  console.log(`${s.images}.gz: ${s.count} images, ${img.length} bytes; ${s.labels}.gz: ${lab.length} bytes`);
}
