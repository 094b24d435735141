// Learning-rate schedulers: getLastLr() sequences against PyTorch 1.13's closed forms (worked out
// here by hand from torch/optim/lr_scheduler.py), chaining, SequentialLR, OneCycleLR's phases and
// momentum cycling, state dicts and option checks.
import { describe, expect, test } from 'vitest';
import * as tf from '../lib';

const { StepLR, MultiStepLR, ExponentialLR, CosineAnnealingLR, LinearLR, OneCycleLR, SequentialLR } = tf.optim.lrScheduler;
type Scheduler = tf.optim.lrScheduler.LRScheduler;

/** An SGD optimizer with two groups (lr 1 and 0.5), so per-group rates are checked too. */
function sgd(extra: Record<string, unknown> = {}): tf.optim.SGD {
  return new tf.optim.SGD([{ params: [tf.tensor([1])] }, { params: [tf.tensor([2]), tf.tensor([3])], lr: 0.5 }], { lr: 1, ...extra });
}
const BASE = [1, 0.5];

/** getLastLr() after construction and after each of `steps` steps. */
function run(s: Scheduler, steps: number): number[][] {
  const out = [s.getLastLr()];
  for (let i = 0; i < steps; i++) {
    s.optimizer.step();
    s.step();
    out.push(s.getLastLr());
  }
  return out;
}

function expectSeq(actual: number[][], expected: (epoch: number, base: number, group: number) => number, tol = 1e-12): void {
  actual.forEach((lrs, e) =>
    lrs.forEach((lr, g) => {
      const want = expected(e, BASE[g], g);
      if (!(Math.abs(lr - want) <= tol * Math.max(1, Math.abs(want)))) throw new Error(`epoch ${e} group ${g}: lr ${lr}, expected ${want}`);
    }),
  );
}

describe('closed forms', () => {
  test('StepLR: base * gamma^floor(e / stepSize)', () => {
    const opt = sgd();
    const s = new StepLR(opt, { stepSize: 3, gamma: 0.5 });
    const seq = run(s, 10);
    expectSeq(seq, (e, b) => b * 0.5 ** Math.floor(e / 3));
    expect(seq.slice(0, 7).map((l) => l[0])).toEqual([1, 1, 1, 0.5, 0.5, 0.5, 0.25]);
    expect(opt.paramGroups.map((g) => g.lr)).toEqual(s.getLastLr());
    expect(opt.paramGroups.map((g) => g.initialLr)).toEqual(BASE);
  });

  test('MultiStepLR: base * gamma^(milestones <= e), repeats counted', () => {
    const s = new MultiStepLR(sgd(), { milestones: [5, 2, 8, 5], gamma: 0.1 });
    expectSeq(run(s, 10), (e, b) => b * 0.1 ** [2, 5, 5, 8].filter((m) => m <= e).length);
  });

  test('ExponentialLR: base * gamma^e', () => {
    expectSeq(run(new ExponentialLR(sgd(), { gamma: 0.9 }), 12), (e, b) => b * 0.9 ** e);
  });

  test('CosineAnnealingLR: etaMin + (base - etaMin)(1 + cos(pi e / tMax)) / 2, past tMax too', () => {
    const s = new CosineAnnealingLR(sgd(), { tMax: 10, etaMin: 0.01 });
    const seq = run(s, 35);
    expectSeq(seq, (e, b) => 0.01 + ((b - 0.01) * (1 + Math.cos((Math.PI * e) / 10))) / 2, 1e-10);
    expect(seq[10][0]).toBeCloseTo(0.01, 12);
    expect(seq[20][0]).toBeCloseTo(1, 12);
  });

  test('LinearLR: base * (start + (end - start) * min(e, n) / n), up and down', () => {
    expectSeq(run(new LinearLR(sgd(), { startFactor: 0.25, totalIters: 4 }), 8), (e, b) => b * (0.25 + (0.75 * Math.min(e, 4)) / 4));
    expectSeq(run(new LinearLR(sgd(), { startFactor: 1, endFactor: 0.5, totalIters: 3 }), 6), (e, b) => b * (1 - (0.5 * Math.min(e, 3)) / 3));
    // Defaults: 1/3 -> 1 over 5 epochs.
    expectSeq(run(new LinearLR(sgd()), 7), (e, b) => b * (1 / 3 + ((2 / 3) * Math.min(e, 5)) / 5));
  });

  test('two schedulers chain (the recursive forms multiply)', () => {
    const opt = sgd();
    const a = new ExponentialLR(opt, { gamma: 0.9 });
    const b = new StepLR(opt, { stepSize: 2, gamma: 0.5 });
    const seq = [b.getLastLr()];
    for (let i = 0; i < 8; i++) {
      a.step();
      b.step();
      seq.push(b.getLastLr());
    }
    expectSeq(seq, (e, base) => base * 0.9 ** e * 0.5 ** Math.floor(e / 2));
  });

  test('step(epoch) uses the closed form', () => {
    const s = new StepLR(sgd(), { stepSize: 3, gamma: 0.5 });
    s.step(7);
    expect(s.getLastLr()).toEqual([0.25, 0.125]);
    expect(s.lastEpoch).toBe(7);
  });
});

describe('OneCycleLR', () => {
  // PyTorch's phases: up from initialLr = maxLr / divFactor to maxLr until step pct * T - 1, then down
  // to minLr = initialLr / finalDivFactor at step T - 1; cos anneal: end + (start - end)(1 + cos(pi t)) / 2.
  const cos = (a: number, b: number, t: number) => b + ((a - b) / 2) * (1 + Math.cos(Math.PI * t));
  const lin = (a: number, b: number, t: number) => (b - a) * t + a;

  test('cos and linear, two groups, momentum cycling (SGD)', () => {
    for (const [strategy, f] of [['cos', cos], ['linear', lin]] as const) {
      const opt = sgd({ momentum: 0.9 });
      const T = 20, pct = 0.25, div = 10, finalDiv = 100, maxLr = [2, 0.4];
      const s = new OneCycleLR(opt, { maxLr, totalSteps: T, pctStart: pct, divFactor: div, finalDivFactor: finalDiv, annealStrategy: strategy });
      const momenta = [opt.paramGroups[0].momentum];
      const seq = [s.getLastLr()];
      for (let i = 1; i < T; i++) {
        s.step();
        seq.push(s.getLastLr());
        momenta.push(opt.paramGroups[0].momentum);
      }
      const e1 = pct * T - 1, e2 = T - 1;
      seq.forEach((lrs, step) =>
        lrs.forEach((lr, g) => {
          const init = maxLr[g] / div, min = init / finalDiv;
          const want = step <= e1 ? f(init, maxLr[g], step / e1) : f(maxLr[g], min, (step - e1) / (e2 - e1));
          expect(lr).toBeCloseTo(want, 12);
        }),
      );
      momenta.forEach((m, step) => {
        const want = step <= e1 ? f(0.95, 0.85, step / e1) : f(0.85, 0.95, (step - e1) / (e2 - e1));
        expect(m).toBeCloseTo(want, 12);
      });
      expect(seq[0][0]).toBeCloseTo(0.2, 15);
      expect(seq[0][1]).toBeCloseTo(0.04, 15);
      expect(seq[e1][0]).toBeCloseTo(2, 12);
      expect(seq[T - 1][0]).toBeCloseTo(0.002, 12);
      expect(() => {
        s.step(); // step T: still allowed (PyTorch raises past total_steps)
        s.step();
      }).toThrow(/tried to step 22 times; the specified number of total steps is 20/);
    }
  });

  test('defaults (pctStart 0.3, div 25, final 1e4), betas cycling (Adam), epochs * stepsPerEpoch', () => {
    const opt = new tf.optim.Adam([tf.tensor([1])], { betas: [0.9, 0.99] });
    const s = new OneCycleLR(opt, { maxLr: 1, epochs: 2, stepsPerEpoch: 5 });
    expect(s.totalSteps).toBe(10);
    expect(opt.paramGroups[0].betas).toEqual([0.95, 0.99]);
    const seq = run(s, 9).map((l) => l[0]);
    const e1 = 0.3 * 10 - 1; // 2.0000000000000004, as in Python
    seq.forEach((lr, step) => {
      const want = step <= e1 ? cos(0.04, 1, step / e1) : cos(1, 0.04 / 1e4, (step - e1) / (9 - e1));
      expect(lr).toBeCloseTo(want, 12);
    });
    expect(opt.paramGroups[0].betas[0]).toBeCloseTo(0.95, 12);
    expect(opt.paramGroups[0].betas[1]).toBe(0.99);
  });

  test('three phases', () => {
    const opt = sgd();
    const s = new OneCycleLR(opt, { maxLr: 1, totalSteps: 20, threePhase: true, annealStrategy: 'linear', cycleMomentum: false });
    const seq = run(s, 19).map((l) => l[0]);
    const e1 = 0.3 * 20 - 1, e2 = 2 * 0.3 * 20 - 2, e3 = 19;
    seq.forEach((lr, step) => {
      const want = step <= e1 ? lin(0.04, 1, step / e1) : step <= e2 ? lin(1, 0.04, (step - e1) / (e2 - e1)) : lin(0.04, 4e-6, (step - e2) / (e3 - e2));
      expect(lr).toBeCloseTo(want, 12);
    });
    expect(opt.paramGroups[0].momentum).toBe(0); // cycleMomentum: false leaves it alone
  });
});

describe('SequentialLR', () => {
  test('linear warm-up then exponential decay', () => {
    const opt = sgd();
    const warm = new LinearLR(opt, { startFactor: 0.1, totalIters: 2 });
    const decay = new ExponentialLR(opt, { gamma: 0.9 });
    const s = new SequentialLR(opt, { schedulers: [warm, decay], milestones: [2] });
    // Epochs 0, 1: warm-up 0.1, 0.55 (x base); from epoch 2 the decay restarts at its epoch 0.
    expectSeq(run(s, 6), (e, b) => b * [0.1, 0.55, 1, 0.9, 0.81, 0.729, 0.6561][e]);
  });

  test('three stages with cosine', () => {
    const opt = sgd();
    const s = new SequentialLR(opt, {
      schedulers: [new LinearLR(opt, { startFactor: 0.5, totalIters: 2 }), new StepLR(opt, { stepSize: 100, gamma: 1 }), new CosineAnnealingLR(opt, { tMax: 4 })],
      milestones: [2, 4],
    });
    const want = [0.5, 0.75, 1, 1, ...[0, 1, 2, 3, 4].map((k) => (1 + Math.cos((Math.PI * k) / 4)) / 2)];
    expectSeq(run(s, 8), (e, b) => b * want[e]);
  });
});

describe('state and options', () => {
  test('stateDict / loadStateDict resumes the sequence', () => {
    const opt1 = sgd();
    const s1 = new CosineAnnealingLR(opt1, { tMax: 7, etaMin: 0.05 });
    run(s1, 4);
    const sd = s1.stateDict();
    expect(sd.lastEpoch).toBe(4);
    expect(sd.optimizer).toBeUndefined();
    const opt2 = sgd();
    opt2.loadStateDict(opt1.stateDict());
    const s2 = new CosineAnnealingLR(opt2, { tMax: 1 });
    s2.loadStateDict(sd);
    expect(s2.tMax).toBe(7);
    expect(run(s2, 5)).toEqual(run(s1, 5));
    expect(() => s2.loadStateDict({ nope: 1 })).toThrow(/unexpected entry "nope"/);
    expect(() => s2.loadStateDict({ lastEpoch: 'x' })).toThrow(/lastEpoch/);
  });

  test('SequentialLR and OneCycleLR state dicts', () => {
    const make = () => {
      const opt = sgd();
      return new SequentialLR(opt, { schedulers: [new LinearLR(opt, { totalIters: 3 }), new ExponentialLR(opt, { gamma: 0.8 })], milestones: [3] });
    };
    const a = make();
    run(a, 4);
    const b = make();
    b.optimizer.loadStateDict(a.optimizer.stateDict());
    b.loadStateDict(a.stateDict());
    expect(run(b, 3)).toEqual(run(a, 3));

    const o1 = sgd();
    const c = new OneCycleLR(o1, { maxLr: 1, totalSteps: 10 });
    run(c, 3);
    const o2 = sgd();
    o2.loadStateDict(o1.stateDict()); // carries initialLr, maxLr, minLr, momenta in the groups
    const d = new OneCycleLR(o2, { maxLr: 5, totalSteps: 99, lastEpoch: 3 });
    d.loadStateDict(c.stateDict());
    expect(run(d, 6)).toEqual(run(c, 6));
  });

  test('resuming needs initialLr in the groups', () => {
    expect(() => new StepLR(sgd(), { stepSize: 2, lastEpoch: 3 })).toThrow(/paramGroups\[0\] has no initialLr/);
    const opt = sgd();
    new StepLR(opt, { stepSize: 2 });
    const s = new StepLR(opt, { stepSize: 2, gamma: 0.5, lastEpoch: 3 });
    expect(s.lastEpoch).toBe(4);
    expect(s.getLastLr()).toEqual([0.5, 0.25]); // chainable step at epoch 4 from lr 1
  });

  test('bad options are rejected', () => {
    const opt = sgd();
    expect(() => new StepLR(opt, {} as never)).toThrow(/stepSize is required/);
    expect(() => new StepLR(opt, { stepSize: 0 })).toThrow(/stepSize must be a positive integer/);
    expect(() => new StepLR(opt, { stepSize: 2, step_size: 2 } as never)).toThrow(/unknown option "step_size"/);
    expect(() => new ExponentialLR(opt, {} as never)).toThrow(/gamma is required/);
    expect(() => new CosineAnnealingLR(opt, { tMax: 0 })).toThrow(/tMax must be a positive number/);
    expect(() => new LinearLR(opt, { startFactor: 0 })).toThrow(/startFactor must be in \(0, 1\]/);
    expect(() => new LinearLR(opt, { endFactor: 1.5 })).toThrow(/endFactor must be in \[0, 1\]/);
    expect(() => new MultiStepLR(opt, { milestones: [1.5] })).toThrow(/milestones\[0\]/);
    expect(() => new OneCycleLR(opt, { maxLr: 1 })).toThrow(/totalSteps or \(epochs and stepsPerEpoch\)/);
    expect(() => new OneCycleLR(opt, { maxLr: 1, totalSteps: 10, pctStart: 1.5 })).toThrow(/pctStart must be in \[0, 1\]/);
    expect(() => new OneCycleLR(opt, { maxLr: 1, totalSteps: 10, annealStrategy: 'exp' as never })).toThrow(/annealStrategy/);
    expect(() => new OneCycleLR(opt, { maxLr: [1, 2, 3], totalSteps: 10 })).toThrow(/maxLr has 3 values, but the optimizer has 2 param groups/);
    expect(() => new OneCycleLR(new tf.optim.Adagrad([tf.tensor([1])]), { maxLr: 1, totalSteps: 10 })).toThrow(/momentum or betas/);
    expect(() => new StepLR({} as never, { stepSize: 1 })).toThrow(/expected an Optimizer/);
    const other = sgd();
    const s = new StepLR(opt, { stepSize: 1 });
    expect(() => new SequentialLR(opt, { schedulers: [s, new StepLR(other, { stepSize: 1 })], milestones: [1] })).toThrow(/different optimizer/);
    expect(() => new SequentialLR(opt, { schedulers: [s, s], milestones: [] })).toThrow(/expected 1 milestones/);
  });
});
