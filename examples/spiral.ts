// `npm run example:spiral`: trains a small neural network with nothing but tensors and autograd: a two-layer
// MLP classifying a noisy three-armed spiral (a classic non-linearly-separable toy problem),
// full-batch gradient descent with momentum, inside tidy() so memory stays flat.
import * as tf from 'tensorforge';

const CLASSES = 3, PER_CLASS = 200, HIDDEN = 64, STEPS = 400, LR = 0.5, MOMENTUM = 0.9;

tf.manualSeed(42);

// Spiral data: class c follows the arm r -> angle 4r + 2*pi*c/3, with Gaussian jitter.
function spiral(): { x: tf.Tensor; y: tf.Tensor } {
  const n = CLASSES * PER_CLASS;
  const r = tf.linspace(0.05, 1, PER_CLASS).reshape([1, PER_CLASS]).expand([CLASSES, PER_CLASS]);
  const offset = tf.arange(CLASSES).float().mul((2 * Math.PI) / CLASSES).reshape([CLASSES, 1]);
  const angle = r.mul(4).add(offset).add(tf.randn([CLASSES, PER_CLASS]).mul(0.15));
  const x = tf.stack([r.mul(angle.cos()), r.mul(angle.sin())], -1).reshape([n, 2]);
  const y = tf.arange(CLASSES).reshape([CLASSES, 1]).expand([CLASSES, PER_CLASS]).reshape([n]);
  return { x, y };
}

const { x, y } = tf.tidy(spiral);

// Parameters with Kaiming-style scaling.
const params = {
  w1: tf.randn([2, HIDDEN]).mul(Math.sqrt(2 / 2)),
  b1: tf.zeros([HIDDEN]),
  w2: tf.randn([HIDDEN, HIDDEN]).mul(Math.sqrt(2 / HIDDEN)),
  b2: tf.zeros([HIDDEN]),
  w3: tf.randn([HIDDEN, CLASSES]).mul(Math.sqrt(1 / HIDDEN)),
  b3: tf.zeros([CLASSES]),
};
for (const p of Object.values(params)) p.requiresGrad = true;
const velocity = Object.fromEntries(Object.entries(params).map(([k, p]) => [k, tf.zerosLike(p)]));

function forward(input: tf.Tensor): tf.Tensor {
  const h1 = input.matmul(params.w1).add(params.b1).relu();
  const h2 = h1.matmul(params.w2).add(params.b2).relu();
  return h2.matmul(params.w3).add(params.b3);
}

// Cross-entropy: mean over the batch of -log softmax(logits)[target].
function crossEntropy(logits: tf.Tensor, target: tf.Tensor): tf.Tensor {
  const logp = logits.logSoftmax(1);
  return logp.gather(1, target.reshape([-1, 1])).mean().neg();
}

const t0 = performance.now();
for (let step = 1; step <= STEPS; step++) {
  tf.tidy(() => {
    const logits = forward(x);
    const loss = crossEntropy(logits, y);
    loss.backward();
    tf.noGrad(() => {
      for (const [k, p] of Object.entries(params)) {
        velocity[k].mul_(MOMENTUM).add_(p.grad!);
        p.sub_(velocity[k].mul(LR / 10));
        p.grad!.dispose();
        p.grad = null;
      }
    });
    if (step % 50 === 0 || step === 1) {
      const acc = logits.argmax(1).eq(y).float().mean().item();
      const ms = (performance.now() - t0).toFixed(0);
      console.log(`step ${String(step).padStart(3)}  loss ${loss.item().toFixed(4)}  accuracy ${(acc * 100).toFixed(1)}%  (${ms} ms)`);
    }
  });
}
const { tensors, bytes } = tf.memory();
console.log(`done: ${STEPS} steps; live tensors ${tensors}, native bytes ${bytes} (flat: only data, parameters and momentum)`);
