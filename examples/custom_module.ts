import * as tf from 'tensorforge';
const { nn, optim } = tf;

class MLP extends nn.Module {
  hidden = new nn.Linear(2, 32);
  out = new nn.Linear(32, 1);
  forward(x: tf.Tensor): tf.Tensor {
    return this.out.forward(this.hidden.forward(x).tanh());
  }
}

tf.manualSeed(0);
const x = tf.rand([256, 2]).mul(4).sub(2);
const y = x.select(1, 0).mul(x.select(1, 1)).sin().unsqueeze(1); // y = sin(x0 * x1)
const model = new MLP();
const opt = new optim.Adam(model.parameters(), { lr: 0.01 });
for (let step = 1; step <= 500; step++) {
  const loss = tf.tidy(() => {
    const l = nn.functional.mseLoss(model.forward(x), y);
    opt.zeroGrad();
    l.backward();
    opt.step();
    return l.item();
  });
  if (step % 100 === 0) console.log(`step ${step}: loss ${loss.toFixed(4)}`);
}
