// LeNet-5 as in the Fashion-MNIST demo and the train benchmark:
// conv5x5 6 pad 2 -> ReLU -> maxpool 2 -> conv5x5 16 -> ReLU -> maxpool 2 -> flatten -> 120 -> ReLU -> 84 -> ReLU -> 10
import * as tf from 'tensorforge';

const { nn } = tf;

export class LeNet extends nn.Module {
  conv1 = new nn.Conv2d(1, 6, 5, { padding: 2 });
  conv2 = new nn.Conv2d(6, 16, 5);
  pool = new nn.MaxPool2d(2);
  fc1 = new nn.Linear(16 * 5 * 5, 120);
  fc2 = new nn.Linear(120, 84);
  fc3 = new nn.Linear(84, 10);

  forward(x: tf.Tensor): tf.Tensor {
    x = this.pool.forward(this.conv1.forward(x).relu());
    x = this.pool.forward(this.conv2.forward(x).relu());
    x = x.flatten(1);
    return this.fc3.forward(this.fc2.forward(this.fc1.forward(x).relu()).relu());
  }
}

/** Fraction of correctly classified images, in batches of 1000, without recording gradients. */
export function accuracy(model: LeNet, images: tf.Tensor, labels: tf.Tensor): number {
  model.eval();
  let correct = 0;
  const n = images.shape[0];
  tf.noGrad(() => {
    for (let i = 0; i < n; i += 1000) {
      tf.tidy(() => {
        const len = Math.min(1000, n - i);
        const pred = model.forward(images.narrow(0, i, len)).argmax(1);
        correct += pred.eq(labels.narrow(0, i, len)).sum().item();
      });
    }
  });
  model.train();
  return correct / n;
}
