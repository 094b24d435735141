// The GPT example (examples/gpt) at CI size: a 2-layer character model trained for 600
// steps on the licence texts every Debian machine has (or a synthetic corpus when they are absent)
// must bring its validation loss well below the corpus's unigram entropy, the best a model that
// ignores context can do; then it samples text.
import * as fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as tf from '../lib';
import { DEFAULT_CORPUS, loadCorpus, unigramEntropy } from '../examples/gpt/data';
import { GPT, sampleTopK } from '../examples/gpt/model';
import { defaultTrainOptions, train } from '../examples/gpt/trainer';

function corpusSource(): string {
  if (fs.existsSync(DEFAULT_CORPUS)) return DEFAULT_CORPUS;
  // Structured text with local regularities (words repeat, lines follow a pattern).
  const words = ['licence', 'software', 'copyright', 'permission', 'warranty', 'notice', 'source', 'free'];
  let text = '';
  let s = 7;
  for (let i = 0; i < 40000; i++) {
    s = (s * 1103515245 + 12345) % 2147483648;
    text += words[s % words.length] + (i % 9 === 8 ? '.\n' : ' ');
  }
  const p = `${fs.mkdtempSync('/tmp/tf-gpt-')}/corpus.txt`;
  fs.writeFileSync(p, text);
  return p;
}

describe('GPT example', () => {
  it('learns well below the unigram entropy and samples text', () => {
    tf.manualSeed(0);
    const corpus = loadCorpus(corpusSource());
    const model = new GPT({ vocabSize: corpus.tokenizer.vocabSize, contextLength: 64, nLayer: 2, nHead: 2, dModel: 64, dropout: 0 });
    const history = train(model, corpus, { ...defaultTrainOptions, steps: 600, batchSize: 16, warmupSteps: 50, evalEvery: 600, evalBatches: 6 });
    const val = history.val[history.val.length - 1][1];
    console.log(`unigram entropy ${corpus.unigramEntropy.toFixed(3)} nats; validation loss after 600 steps ${val.toFixed(3)}; ${(history.secondsPerStep * 1000).toFixed(1)} ms a step`);
    expect(history.train[0][1]).toBeGreaterThan(Math.log(corpus.tokenizer.vocabSize) - 0.5); // starts near uniform
    expect(val).toBeLessThan(corpus.unigramEntropy - 0.7);
    const ids = model.generate(corpus.tokenizer.encode('The '), 80, { temperature: 0.8, topK: 10 });
    expect(ids.length).toBe(84);
    const text = corpus.tokenizer.decode(ids);
    console.log(`sample: ${JSON.stringify(text)}`);
    expect(text.startsWith('The ')).toBe(true);
  });

  it('is causal: changing a later token leaves earlier logits unchanged', () => {
    const model = new GPT({ vocabSize: 11, contextLength: 16, nLayer: 2, nHead: 2, dModel: 16, dropout: 0 }).eval();
    const a = tf.randint(0, 11, [2, 12]);
    const b = tf.cat([a.narrow(1, 0, 7), tf.randint(0, 11, [2, 5])], 1);
    const la = model.forward(a), lb = model.forward(b);
    expect(la.narrow(1, 0, 7).sub(lb.narrow(1, 0, 7)).abs().max().item()).toBeLessThan(1e-5);
  });

  it('sampling helpers: top-k keeps the k best, unigram entropy of a uniform text', () => {
    expect(sampleTopK([0, 5, 1, 4], 1, 1, 0.99)).toBe(1);
    expect([1, 3]).toContain(sampleTopK([0, 5, 1, 4.9], 1, 2, 0.7));
    expect(unigramEntropy(Int32Array.from([0, 1, 2, 3, 0, 1, 2, 3]), 4)).toBeCloseTo(Math.log(4), 12);
  });
});
