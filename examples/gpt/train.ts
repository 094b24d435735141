// `npm run example:gpt`: trains a character-level GPT (4 layers, 4 heads, d_model 128, context 128)
// on the licence texts under /usr/share/common-licenses (or a file or folder given with --corpus),
// printing a progress bar and the validation loss, then writes runs/gpt/{checkpoint.safetensors,
// gpt.safetensors, tokenizer.json, history.json} and prints text sampled from a prompt.
//   npm run example:gpt -- --steps 2000 --corpus my.txt --prompt "The " --temperature 0.8 --top-k 10
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from 'tensorforge';
import { ProgressBar } from '../lib/progress';
import { loadCorpus } from './data';
import { GPT } from './model';
import { defaultTrainOptions, train } from './trainer';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}
const num = (name: string, fallback: number): number => {
  const v = Number(arg(name, String(fallback)));
  if (!Number.isFinite(v)) throw new Error(`--${name} must be a number`);
  return v;
};

const OUT = arg('out', path.join('runs', 'gpt'));
tf.manualSeed(num('seed', 0));
const corpus = loadCorpus(arg('corpus', '/usr/share/common-licenses'));
const V = corpus.tokenizer.vocabSize;
console.log(`corpus: ${corpus.train.ids.length + corpus.val.ids.length} characters, ${V} distinct; ` +
  `unigram entropy ${corpus.unigramEntropy.toFixed(3)} nats (the loss of a model that ignores context)`);

const model = new GPT({
  vocabSize: V, contextLength: num('context', 128), nLayer: num('layers', 4), nHead: num('heads', 4), dModel: num('d-model', 128), dropout: num('dropout', 0),
});
console.log(`model: ${(model.numParameters() / 1e6).toFixed(2)} M parameters`);
const opts = { ...defaultTrainOptions, steps: num('steps', 1000), batchSize: num('batch', 32), lr: num('lr', 3e-3) };
opts.evalEvery = Math.max(1, Math.min(opts.evalEvery, opts.steps));

const bar = new ProgressBar('training', opts.steps, { logEvery: 5000, unit: 'step' });
let smooth = 0;
const history = train(model, corpus, opts, (step, loss, lr) => {
  smooth = step === 1 ? loss : 0.95 * smooth + 0.05 * loss;
  bar.update(step, { loss: smooth.toFixed(3), lr: lr.toExponential(1) });
}, (step, v) => {
  process.stderr.write('\n');
  console.log(`step ${step}: validation loss ${v.toFixed(3)} nats/char (unigram ${corpus.unigramEntropy.toFixed(3)})`);
}, (optimizer, scheduler) => {
  // Weights, optimizer state, schedule and tokenizer in one file, to resume or sample later.
  fs.mkdirSync(OUT, { recursive: true });
  tf.saveCheckpoint(path.join(OUT, 'checkpoint.safetensors'), {
    model: model.stateDict(),
    optimizer: optimizer.stateDict(),
    extra: { config: { ...model.config }, steps: opts.steps, scheduler: scheduler.stateDict(), tokenizer: corpus.tokenizer.toJSON() },
  });
});
console.log(`${(history.secondsPerStep * 1000).toFixed(0)} ms a step (batch ${opts.batchSize}, ${tf.getNumThreads()} threads)`);

fs.mkdirSync(OUT, { recursive: true });
tf.save(model.stateDict(), path.join(OUT, 'gpt.safetensors'), { metadata: { model: 'GPT', config: JSON.stringify(model.config) } });
fs.writeFileSync(path.join(OUT, 'tokenizer.json'), JSON.stringify(corpus.tokenizer.toJSON()));
fs.writeFileSync(path.join(OUT, 'history.json'), JSON.stringify(history, null, 1));
console.log(`wrote ${OUT}/checkpoint.safetensors (weights, optimizer, schedule, tokenizer), gpt.safetensors (weights), tokenizer.json, history.json`);

const prompt = arg('prompt', 'The licensee ');
const ids = model.generate(corpus.tokenizer.encode(prompt), num('tokens', 400), { temperature: num('temperature', 0.8), topK: num('top-k', 10) });
console.log(`\nsample (temperature ${num('temperature', 0.8)}, top-k ${num('top-k', 10)}):\n${corpus.tokenizer.decode(ids)}`);
