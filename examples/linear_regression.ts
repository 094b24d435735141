import * as tf from 'tensorforge';

tf.manualSeed(0);
const x = tf.randn([64, 3]);
const trueW = tf.tensor([[2], [-1], [0.5]]);
const y = x.matmul(trueW).add(0.1);

const w = tf.zeros([3, 1], { requiresGrad: true });
const b = tf.zeros([1], { requiresGrad: true });
for (let step = 0; step < 200; step++) {
  tf.tidy(() => {
    const loss = x.matmul(w).add(b).sub(y).square().mean();
    loss.backward();
    tf.noGrad(() => {
      w.sub_(w.grad!.mul(0.1));
      b.sub_(b.grad!.mul(0.1));
    });
    w.grad = b.grad = null;
  });
}
console.log(w.toString(), b.toString()); // close to [[2], [-1], [0.5]] and [0.1]
