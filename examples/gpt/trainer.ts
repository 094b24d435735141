// Training the GPT: AdamW (weight decay on matrices only), linear warm-up then cosine decay,
// gradient clipping at norm 1, and the validation loss every evalEvery steps.
import * as tf from 'tensorforge';
import type { TokenStream } from './data';
import type { GPT } from './model';

export interface TrainOptions {
  steps: number;
  batchSize: number;
  lr: number;
  warmupSteps: number;
  weightDecay: number;
  gradClip: number;
  evalEvery: number;
  evalBatches: number;
}

export const defaultTrainOptions: TrainOptions = {
  steps: 1000, batchSize: 32, lr: 3e-3, warmupSteps: 100, weightDecay: 0.1, gradClip: 1, evalEvery: 100, evalBatches: 8,
};

export function makeOptimizer(model: GPT, o: TrainOptions): { optimizer: tf.optim.AdamW; scheduler: tf.optim.lrScheduler.SequentialLR } {
  const decay: tf.Tensor[] = [], noDecay: tf.Tensor[] = [];
  for (const p of model.parameters()) (p.ndim >= 2 ? decay : noDecay).push(p);
  const optimizer = new tf.optim.AdamW(
    [{ params: decay, weightDecay: o.weightDecay }, { params: noDecay, weightDecay: 0 }],
    { lr: o.lr, betas: [0.9, 0.95] },
  );
  const warmup = Math.max(1, Math.min(o.warmupSteps, o.steps - 1));
  const { LinearLR, CosineAnnealingLR, SequentialLR } = tf.optim.lrScheduler;
  const scheduler = new SequentialLR(optimizer, {
    schedulers: [
      new LinearLR(optimizer, { startFactor: 1 / warmup, endFactor: 1, totalIters: warmup }),
      new CosineAnnealingLR(optimizer, { tMax: Math.max(1, o.steps - warmup), etaMin: o.lr / 10 }),
    ],
    milestones: [warmup],
  });
  return { optimizer, scheduler };
}

/** One optimisation step on (x, y); returns the training loss. */
export function trainStep(model: GPT, optimizer: tf.optim.Optimizer, x: tf.Tensor, y: tf.Tensor, gradClip: number): number {
  return tf.tidy(() => {
    const logits = model.forward(x);
    const loss = tf.nn.functional.crossEntropy(logits.reshape([-1, model.config.vocabSize]), y.reshape([-1]));
    optimizer.zeroGrad();
    loss.backward();
    if (gradClip > 0) tf.nn.clipGradNorm_(model.parameters(), gradClip);
    optimizer.step();
    return loss.item();
  });
}

/** Mean loss over `batches` random batches of the stream, in eval mode without gradients. */
export function evaluate(model: GPT, stream: TokenStream, batches: number, batchSize: number): number {
  const wasTraining = model.training;
  model.eval();
  let total = 0;
  for (let i = 0; i < batches; i++) {
    const [x, y] = stream.batch(batchSize, model.config.contextLength);
    total += tf.tidy(() => tf.noGrad(() =>
      tf.nn.functional.crossEntropy(model.forward(x).reshape([-1, model.config.vocabSize]), y.reshape([-1])).item()));
    tf.dispose([x, y]);
  }
  model.train(wasTraining);
  return total / batches;
}

/** Mean loss per token over every non-overlapping window of the stream (deterministic). */
export function evaluateAll(model: GPT, stream: TokenStream, batchSize: number): number {
  const wasTraining = model.training;
  model.eval();
  let total = 0, tokens = 0;
  for (const [x, y] of stream.windows(batchSize, model.config.contextLength)) {
    total += tf.tidy(() => tf.noGrad(() =>
      tf.nn.functional.crossEntropy(model.forward(x).reshape([-1, model.config.vocabSize]), y.reshape([-1]), { reduction: 'sum' }).item()));
    tokens += y.numel();
    tf.dispose([x, y]);
  }
  model.train(wasTraining);
  return total / tokens;
}

export interface TrainHistory {
  train: [number, number][];
  val: [number, number][];
  /** Wall time of each optimisation step (batch sampling and evaluation excluded), ms. */
  stepMs: number[];
  secondsPerStep: number;
}

export function train(
  model: GPT,
  data: { train: TokenStream; val: TokenStream },
  o: TrainOptions,
  onStep: (step: number, loss: number, lr: number) => void = () => {},
  onEval: (step: number, valLoss: number) => void = () => {},
  /** Called once training ends, before the optimizer is freed (e.g. to save a checkpoint). */
  onFinish: (optimizer: tf.optim.AdamW, scheduler: tf.optim.lrScheduler.SequentialLR) => void = () => {},
): TrainHistory {
  const { optimizer, scheduler } = makeOptimizer(model, o);
  const history: TrainHistory = { train: [], val: [], stepMs: [], secondsPerStep: 0 };
  const t0 = performance.now();
  for (let step = 1; step <= o.steps; step++) {
    const [x, y] = data.train.batch(o.batchSize, model.config.contextLength);
    const lr = optimizer.paramGroups[0].lr;
    const s0 = performance.now();
    const loss = trainStep(model, optimizer, x, y, o.gradClip);
    history.stepMs.push(performance.now() - s0);
    tf.dispose([x, y]);
    scheduler.step();
    history.train.push([step, loss]);
    onStep(step, loss, lr);
    if (step % o.evalEvery === 0 || step === o.steps) {
      const v = evaluate(model, data.val, o.evalBatches, o.batchSize);
      history.val.push([step, v]);
      onEval(step, v);
    }
  }
  history.secondsPerStep = (performance.now() - t0) / 1000 / o.steps;
  onFinish(optimizer, scheduler);
  optimizer.dispose();
  return history;
}
