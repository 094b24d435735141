// `npm run demo`: trains LeNet-5 on Fashion-MNIST with Adam (lr 1e-3, batch 64), printing a progress
// bar (loss, images/s, ETA) and the test accuracy after each epoch, then writes to runs/lenet/:
//   chart.svg         training loss per step and test accuracy per epoch (open it in a browser)
//   lenet.safetensors the trained weights (loadable by tensorforge, PyTorch or Hugging Face tools)
//   history.json      the numbers behind the chart
// Uses the full dataset from the Debian package dataset-fashion-mnist when it is installed, otherwise
// the 2,000/500-image subset shipped in data/fashion-mnist-subset.
//   npm run demo -- --epochs 3 --out runs/lenet
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from 'tensorforge';
import { ProgressBar } from '../lib/progress';
import { chartSvg } from '../lib/svg_chart';
import { LeNet, accuracy } from './model';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}
const EPOCHS = Number(arg('epochs', '3'));
const OUT = arg('out', path.join('runs', 'lenet'));
const BATCH = 64;

tf.manualSeed(0);
const train = tf.datasets.FashionMNIST({ train: true, subset: 'auto' });
const test = tf.datasets.FashionMNIST({ train: false, subset: 'auto' });
console.log(
  `Fashion-MNIST: ${train.length} training and ${test.length} test images` +
    (train.isSubset ? ' (the subset shipped with tensorforge; apt-get install dataset-fashion-mnist for all 70,000)' : ` from ${train.root}`),
);

const model = new LeNet();
const optimizer = new tf.optim.Adam(model.parameters(), { lr: 1e-3 });
const loader = new tf.data.DataLoader(train, { batchSize: BATCH, shuffle: true, seed: 0 });
const { images: testImages, labels: testLabels } = test.tensors();

const lossPoints: [number, number][] = [];
const accPoints: [number, number][] = [];
let step = 0;
for (let epoch = 1; epoch <= EPOCHS; epoch++) {
  const bar = new ProgressBar(`epoch ${epoch}/${EPOCHS}`, train.length);
  let seen = 0, runningLoss = 0;
  const t0 = performance.now();
  for (const [x, y] of loader) {
    const loss = tf.tidy(() => {
      const l = tf.nn.functional.crossEntropy(model.forward(x), y);
      optimizer.zeroGrad();
      l.backward();
      optimizer.step();
      return l.item();
    });
    tf.dispose([x, y]);
    step++;
    seen += x.shape[0];
    runningLoss = step === 1 ? loss : 0.98 * runningLoss + 0.02 * loss;
    if (step % 10 === 0) lossPoints.push([step, loss]);
    bar.update(seen, { loss: runningLoss.toFixed(4) });
  }
  const secs = (performance.now() - t0) / 1000;
  const acc = accuracy(model, testImages, testLabels);
  accPoints.push([epoch, acc]);
  console.log(`epoch ${epoch}: ${secs.toFixed(1)} s (${(seen / secs).toFixed(0)} images/s), test accuracy ${(acc * 100).toFixed(2)}%`);
}

fs.mkdirSync(OUT, { recursive: true });
fs.writeFileSync(
  path.join(OUT, 'chart.svg'),
  chartSvg([
    { title: 'LeNet-5 on Fashion-MNIST: training loss', xLabel: 'step', yLabel: 'cross-entropy', series: [{ name: 'loss (every 10th step)', points: lossPoints, color: '#1f77b4' }] },
    { title: 'Test accuracy', xLabel: 'epoch', yLabel: 'accuracy', yRange: [0, 1], series: [{ name: 'test accuracy', points: accPoints, color: '#d62728' }] },
  ]),
);
tf.save(model.stateDict(), path.join(OUT, 'lenet.safetensors'), { metadata: { model: 'LeNet-5', dataset: 'Fashion-MNIST' } });
fs.writeFileSync(path.join(OUT, 'history.json'), JSON.stringify({ loss: lossPoints, testAccuracy: accPoints }, null, 1));
console.log(`wrote ${OUT}/chart.svg, ${OUT}/lenet.safetensors and ${OUT}/history.json`);
