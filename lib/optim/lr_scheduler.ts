// Learning-rate schedulers (PyTorch 1.13's torch/optim/lr_scheduler.py). A scheduler sets `lr` in
// its optimizer's paramGroups: construct it after the optimizer (that applies the epoch-0 rate), then
// call optimizer.step() and scheduler.step() once per epoch (or per batch, for OneCycleLR).
//
// step() uses PyTorch's chainable (recursive) forms, so two schedulers can act on one optimizer;
// step(epoch) uses the closed forms where they exist (SequentialLR relies on it). The first
// construction records each group's starting rate as `initialLr` in its paramGroup, as PyTorch's
// `initial_lr`.
import { Optimizer, type ParamGroup } from './optimizer';

function checkOptions(op: string, options: unknown, known: string[], required: string[] = []): Record<string, unknown> {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) throw new TypeError(`${op}: options must be an object`);
  const o = options as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (!known.includes(k)) throw new Error(`${op}: unknown option ${JSON.stringify(k)} (options: ${known.join(', ')})`);
  }
  for (const k of required) if (o[k] === undefined) throw new Error(`${op}: option ${k} is required`);
  return o;
}

function num(op: string, name: string, v: unknown, ok: (x: number) => boolean, expected: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || !ok(v)) throw new Error(`${op}: ${name} must be ${expected}, got ${String(v)}`);
  return v;
}
const positiveInt = (x: number): boolean => Number.isInteger(x) && x > 0;

/** Python's bisect_right on a sorted array: the number of items <= x. */
function bisectRight(sorted: readonly number[], x: number): number {
  let lo = 0, hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (x < sorted[mid]) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** A per-group value: one number for every group, or an array with one per group. */
function perGroup(op: string, name: string, optimizer: Optimizer, v: unknown): number[] {
  const n = optimizer.paramGroups.length;
  const list = Array.isArray(v) ? v : Array<unknown>(n).fill(v);
  if (list.length !== n) throw new Error(`${op}: ${name} has ${list.length} values, but the optimizer has ${n} param groups`);
  return list.map((x, i) => num(op, `${name}[${i}]`, x, () => true, 'a finite number'));
}

export interface SchedulerOptions {
  /** The index of the last epoch when resuming (default -1: start afresh). */
  lastEpoch?: number;
}

/** The base class: subclasses give computeLr() (and closedFormLr() where PyTorch has one). */
export abstract class LRScheduler {
  readonly optimizer: Optimizer;
  /** Steps taken (the epoch index of the current rates). */
  lastEpoch: number;
  /** Each group's initialLr. */
  baseLrs: number[];
  protected lastLr: number[] = [];
  protected stepCount = 0;
  protected readonly name: string;

  protected constructor(name: string, optimizer: Optimizer, lastEpoch: number | undefined) {
    this.name = name;
    if (!(optimizer instanceof Optimizer)) throw new TypeError(`${name}: expected an Optimizer, got ${String(optimizer)}`);
    this.optimizer = optimizer;
    const last = lastEpoch ?? -1;
    num(name, 'lastEpoch', last, (x) => Number.isInteger(x) && x >= -1, 'an integer >= -1');
    optimizer.paramGroups.forEach((g, i) => {
      if (last === -1) {
        if (g.initialLr === undefined) g.initialLr = g.lr;
      } else if (typeof g.initialLr !== 'number') {
        throw new Error(`${name}: paramGroups[${i}] has no initialLr, needed when resuming (lastEpoch = ${last})`);
      }
    });
    this.baseLrs = optimizer.paramGroups.map((g) => g.initialLr as number);
    this.lastEpoch = last;
  }

  /** @internal Called last by each subclass constructor: applies the rate of epoch lastEpoch + 1. */
  _initialStep(): void {
    this.stepCount = 0;
    this.step();
  }

  /** The rates of epoch lastEpoch from the current ones (the chainable form). */
  protected abstract computeLr(): number[];
  /** The rates of epoch lastEpoch from baseLrs alone, where PyTorch has a closed form. */
  protected closedFormLr(): number[] | null {
    return null;
  }

  /**
   * Advances one epoch and sets the groups' lr. step(epoch) jumps to that epoch with the closed form
   * where there is one (deprecated in PyTorch; SequentialLR uses it).
   */
  step(epoch?: number): void {
    this.stepCount++;
    let values: number[];
    if (epoch === undefined) {
      this.lastEpoch++;
      values = this.computeLr();
    } else {
      num(this.name, 'epoch', epoch, (x) => Number.isInteger(x) && x >= 0, 'a non-negative integer');
      this.lastEpoch = epoch;
      values = this.closedFormLr() ?? this.computeLr();
    }
    const groups = this.optimizer.paramGroups;
    groups.forEach((g, i) => {
      g.lr = values[i];
    });
    this.lastLr = groups.map((g) => g.lr);
  }

  /** The rates the last step() set, one per group. */
  getLastLr(): number[] {
    return this.lastLr.slice();
  }

  protected groups(): ParamGroup[] {
    return this.optimizer.paramGroups;
  }

  /** Every field but the optimizer, as plain data (PyTorch's state_dict). */
  stateDict(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(this)) if (k !== 'optimizer' && k !== 'name') out[k] = structuredClone(v);
    return out;
  }

  /** Restores a stateDict() (unknown entries, or entries of another type, are an Error). */
  loadStateDict(stateDict: Record<string, unknown>): void {
    const op = `${this.name}.loadStateDict`;
    if (stateDict === null || typeof stateDict !== 'object') throw new TypeError(`${op}: expected an object`);
    const self = this as unknown as Record<string, unknown>;
    for (const [k, v] of Object.entries(stateDict)) {
      if (k === 'optimizer' || k === 'name' || !Object.prototype.hasOwnProperty.call(this, k)) {
        throw new Error(`${op}: unexpected entry ${JSON.stringify(k)}`);
      }
      const cur = self[k];
      if (typeof cur !== typeof v || Array.isArray(cur) !== Array.isArray(v)) {
        throw new Error(`${op}: entry ${JSON.stringify(k)} should be ${Array.isArray(cur) ? 'an array' : typeof cur}`);
      }
    }
    for (const [k, v] of Object.entries(stateDict)) self[k] = structuredClone(v);
  }
}

export interface StepLROptions extends SchedulerOptions {
  /** Decay every stepSize epochs. */
  stepSize: number;
  gamma?: number;
}

/** lr = initialLr * gamma^floor(epoch / stepSize). */
export class StepLR extends LRScheduler {
  stepSize: number;
  gamma: number;
  constructor(optimizer: Optimizer, options: StepLROptions) {
    const op = 'StepLR';
    const o = checkOptions(op, options, ['stepSize', 'gamma', 'lastEpoch'], ['stepSize']);
    const stepSize = num(op, 'stepSize', o.stepSize, positiveInt, 'a positive integer');
    const gamma = num(op, 'gamma', o.gamma ?? 0.1, () => true, 'a finite number');
    super(op, optimizer, o.lastEpoch as number | undefined);
    this.stepSize = stepSize;
    this.gamma = gamma;
    this._initialStep();
  }
  protected override computeLr(): number[] {
    const e = this.lastEpoch;
    if (e === 0 || e % this.stepSize !== 0) return this.groups().map((g) => g.lr);
    return this.groups().map((g) => g.lr * this.gamma);
  }
  protected override closedFormLr(): number[] {
    return this.baseLrs.map((b) => b * this.gamma ** Math.floor(this.lastEpoch / this.stepSize));
  }
}

export interface MultiStepLROptions extends SchedulerOptions {
  /** Epochs at which lr is multiplied by gamma (a repeated epoch multiplies once per repeat). */
  milestones: number[];
  gamma?: number;
}

/** lr = initialLr * gamma^(number of milestones <= epoch). */
export class MultiStepLR extends LRScheduler {
  milestones: number[];
  gamma: number;
  constructor(optimizer: Optimizer, options: MultiStepLROptions) {
    const op = 'MultiStepLR';
    const o = checkOptions(op, options, ['milestones', 'gamma', 'lastEpoch'], ['milestones']);
    if (!Array.isArray(o.milestones)) throw new TypeError(`${op}: milestones must be an array of integers`);
    const milestones = (o.milestones as unknown[])
      .map((m, i) => num(op, `milestones[${i}]`, m, (x) => Number.isInteger(x) && x >= 0, 'a non-negative integer'))
      .sort((a, b) => a - b);
    const gamma = num(op, 'gamma', o.gamma ?? 0.1, () => true, 'a finite number');
    super(op, optimizer, o.lastEpoch as number | undefined);
    this.milestones = milestones;
    this.gamma = gamma;
    this._initialStep();
  }
  protected override computeLr(): number[] {
    const hits = this.milestones.filter((m) => m === this.lastEpoch).length;
    return this.groups().map((g) => (hits === 0 ? g.lr : g.lr * this.gamma ** hits));
  }
  protected override closedFormLr(): number[] {
    return this.baseLrs.map((b) => b * this.gamma ** bisectRight(this.milestones, this.lastEpoch));
  }
}

export interface ExponentialLROptions extends SchedulerOptions {
  gamma: number;
}

/** lr = initialLr * gamma^epoch. */
export class ExponentialLR extends LRScheduler {
  gamma: number;
  constructor(optimizer: Optimizer, options: ExponentialLROptions) {
    const op = 'ExponentialLR';
    const o = checkOptions(op, options, ['gamma', 'lastEpoch'], ['gamma']);
    const gamma = num(op, 'gamma', o.gamma, () => true, 'a finite number');
    super(op, optimizer, o.lastEpoch as number | undefined);
    this.gamma = gamma;
    this._initialStep();
  }
  protected override computeLr(): number[] {
    if (this.lastEpoch === 0) return this.groups().map((g) => g.lr);
    return this.groups().map((g) => g.lr * this.gamma);
  }
  protected override closedFormLr(): number[] {
    return this.baseLrs.map((b) => b * this.gamma ** this.lastEpoch);
  }
}

export interface CosineAnnealingLROptions extends SchedulerOptions {
  /** Half-period, in epochs. */
  tMax: number;
  /** The minimum rate (default 0). */
  etaMin?: number;
}

/**
 * lr = etaMin + (initialLr - etaMin) * (1 + cos(pi * epoch / tMax)) / 2, computed by PyTorch's
 * recursion (which keeps following the cosine past tMax, back up to initialLr at 2 tMax).
 */
export class CosineAnnealingLR extends LRScheduler {
  tMax: number;
  etaMin: number;
  constructor(optimizer: Optimizer, options: CosineAnnealingLROptions) {
    const op = 'CosineAnnealingLR';
    const o = checkOptions(op, options, ['tMax', 'etaMin', 'lastEpoch'], ['tMax']);
    const tMax = num(op, 'tMax', o.tMax, (x) => x > 0, 'a positive number');
    const etaMin = num(op, 'etaMin', o.etaMin ?? 0, () => true, 'a finite number');
    super(op, optimizer, o.lastEpoch as number | undefined);
    this.tMax = tMax;
    this.etaMin = etaMin;
    this._initialStep();
  }
  protected override computeLr(): number[] {
    const e = this.lastEpoch, T = this.tMax, eta = this.etaMin;
    const groups = this.groups();
    if (e === 0) return groups.map((g) => g.lr);
    if (this.stepCount === 1 && e > 0) {
      return this.baseLrs.map((b) => eta + ((b - eta) * (1 + Math.cos((e * Math.PI) / T))) / 2);
    }
    if ((e - 1 - T) % (2 * T) === 0) {
      return groups.map((g, i) => g.lr + ((this.baseLrs[i] - eta) * (1 - Math.cos(Math.PI / T))) / 2);
    }
    return groups.map(
      (g) => ((1 + Math.cos((Math.PI * e) / T)) / (1 + Math.cos((Math.PI * (e - 1)) / T))) * (g.lr - eta) + eta,
    );
  }
  protected override closedFormLr(): number[] {
    const e = this.lastEpoch, T = this.tMax, eta = this.etaMin;
    return this.baseLrs.map((b) => eta + ((b - eta) * (1 + Math.cos((Math.PI * e) / T))) / 2);
  }
}

export interface LinearLROptions extends SchedulerOptions {
  /** Factor at epoch 0, in (0, 1] (default 1/3). */
  startFactor?: number;
  /** Factor from totalIters on, in [0, 1] (default 1). */
  endFactor?: number;
  /** Epochs to go from startFactor to endFactor (default 5). */
  totalIters?: number;
}

/** lr = initialLr * (startFactor + (endFactor - startFactor) * min(epoch, totalIters) / totalIters): warm-up. */
export class LinearLR extends LRScheduler {
  startFactor: number;
  endFactor: number;
  totalIters: number;
  constructor(optimizer: Optimizer, options: LinearLROptions = {}) {
    const op = 'LinearLR';
    const o = checkOptions(op, options, ['startFactor', 'endFactor', 'totalIters', 'lastEpoch']);
    const startFactor = num(op, 'startFactor', o.startFactor ?? 1 / 3, (x) => x > 0 && x <= 1, 'in (0, 1] (the starting multiplicative factor)');
    const endFactor = num(op, 'endFactor', o.endFactor ?? 1, (x) => x >= 0 && x <= 1, 'in [0, 1] (the ending multiplicative factor)');
    const totalIters = num(op, 'totalIters', o.totalIters ?? 5, positiveInt, 'a positive integer');
    super(op, optimizer, o.lastEpoch as number | undefined);
    this.startFactor = startFactor;
    this.endFactor = endFactor;
    this.totalIters = totalIters;
    this._initialStep();
  }
  protected override computeLr(): number[] {
    const e = this.lastEpoch, s = this.startFactor, f = this.endFactor, n = this.totalIters;
    if (e === 0) return this.groups().map((g) => g.lr * s);
    if (e > n) return this.groups().map((g) => g.lr);
    return this.groups().map((g) => g.lr * (1 + (f - s) / (n * s + (e - 1) * (f - s))));
  }
  protected override closedFormLr(): number[] {
    const e = this.lastEpoch, s = this.startFactor, f = this.endFactor, n = this.totalIters;
    return this.baseLrs.map((b) => b * (s + ((f - s) * Math.min(n, e)) / n));
  }
}

export interface OneCycleLROptions extends SchedulerOptions {
  /** The peak rate (one number, or one per group). */
  maxLr: number | number[];
  /** Steps in the cycle; or give epochs and stepsPerEpoch. */
  totalSteps?: number;
  epochs?: number;
  stepsPerEpoch?: number;
  /** Fraction of the cycle spent increasing the rate (default 0.3). */
  pctStart?: number;
  /** 'cos' (default) or 'linear'. */
  annealStrategy?: 'cos' | 'linear';
  /** Cycle momentum (SGD's momentum, Adam's beta1) inversely to the rate (default true). */
  cycleMomentum?: boolean;
  baseMomentum?: number | number[];
  maxMomentum?: number | number[];
  /** initialLr = maxLr / divFactor (default 25). */
  divFactor?: number;
  /** minLr = initialLr / finalDivFactor (default 1e4). */
  finalDivFactor?: number;
  /** A third phase annealing initialLr down to minLr (default false: two phases). */
  threePhase?: boolean;
}

interface Phase {
  endStep: number;
  startLr: string;
  endLr: string;
  startMomentum: string;
  endMomentum: string;
}

/**
 * The 1cycle policy (Smith & Topor): warm up from maxLr / divFactor to maxLr over pctStart of the
 * steps, then anneal to initialLr / finalDivFactor; step() once per batch, totalSteps times at most.
 */
export class OneCycleLR extends LRScheduler {
  totalSteps: number;
  phases: Phase[];
  annealStrategy: 'cos' | 'linear';
  cycleMomentum: boolean;
  useBeta1: boolean;
  constructor(optimizer: Optimizer, options: OneCycleLROptions) {
    const op = 'OneCycleLR';
    const o = checkOptions(
      op,
      options,
      ['maxLr', 'totalSteps', 'epochs', 'stepsPerEpoch', 'pctStart', 'annealStrategy', 'cycleMomentum', 'baseMomentum',
        'maxMomentum', 'divFactor', 'finalDivFactor', 'threePhase', 'lastEpoch'],
      ['maxLr'],
    );
    if (!(optimizer instanceof Optimizer)) throw new TypeError(`${op}: expected an Optimizer, got ${String(optimizer)}`);
    let totalSteps: number;
    if (o.totalSteps !== undefined) {
      totalSteps = num(op, 'totalSteps', o.totalSteps, positiveInt, 'a positive integer');
    } else if (o.epochs !== undefined && o.stepsPerEpoch !== undefined) {
      totalSteps = num(op, 'epochs', o.epochs, positiveInt, 'a positive integer') * num(op, 'stepsPerEpoch', o.stepsPerEpoch, positiveInt, 'a positive integer');
    } else {
      throw new Error(`${op}: you must define either totalSteps or (epochs and stepsPerEpoch)`);
    }
    const pct = num(op, 'pctStart', o.pctStart ?? 0.3, (x) => x >= 0 && x <= 1, 'in [0, 1]');
    const strategy = o.annealStrategy ?? 'cos';
    if (strategy !== 'cos' && strategy !== 'linear') throw new Error(`${op}: annealStrategy must be 'cos' or 'linear', got ${String(strategy)}`);
    const divFactor = num(op, 'divFactor', o.divFactor ?? 25, (x) => x > 0, 'a positive number');
    const finalDivFactor = num(op, 'finalDivFactor', o.finalDivFactor ?? 1e4, (x) => x > 0, 'a positive number');
    const threePhase = o.threePhase ?? false;
    if (typeof threePhase !== 'boolean') throw new TypeError(`${op}: threePhase must be a boolean`);
    const cycleMomentum = o.cycleMomentum ?? true;
    if (typeof cycleMomentum !== 'boolean') throw new TypeError(`${op}: cycleMomentum must be a boolean`);
    const phases: Phase[] = threePhase
      ? [
          { endStep: pct * totalSteps - 1, startLr: 'initialLr', endLr: 'maxLr', startMomentum: 'maxMomentum', endMomentum: 'baseMomentum' },
          { endStep: 2 * pct * totalSteps - 2, startLr: 'maxLr', endLr: 'initialLr', startMomentum: 'baseMomentum', endMomentum: 'maxMomentum' },
          { endStep: totalSteps - 1, startLr: 'initialLr', endLr: 'minLr', startMomentum: 'maxMomentum', endMomentum: 'maxMomentum' },
        ]
      : [
          { endStep: pct * totalSteps - 1, startLr: 'initialLr', endLr: 'maxLr', startMomentum: 'maxMomentum', endMomentum: 'baseMomentum' },
          { endStep: totalSteps - 1, startLr: 'maxLr', endLr: 'minLr', startMomentum: 'baseMomentum', endMomentum: 'maxMomentum' },
        ];
    const resuming = o.lastEpoch !== undefined && o.lastEpoch !== -1;
    const groups = optimizer.paramGroups;
    const maxLrs = perGroup(op, 'maxLr', optimizer, o.maxLr);
    let useBeta1 = false;
    let maxMomenta: number[] = [], baseMomenta: number[] = [];
    if (cycleMomentum) {
      if (!('momentum' in optimizer.defaults) && !('betas' in optimizer.defaults)) {
        throw new Error(`${op}: the optimizer must have momentum or betas with cycleMomentum enabled`);
      }
      useBeta1 = 'betas' in optimizer.defaults;
      maxMomenta = perGroup(op, 'maxMomentum', optimizer, o.maxMomentum ?? 0.95);
      baseMomenta = perGroup(op, 'baseMomentum', optimizer, o.baseMomentum ?? 0.85);
    }
    if (!resuming) {
      groups.forEach((g, i) => {
        g.initialLr = maxLrs[i] / divFactor;
        g.maxLr = maxLrs[i];
        g.minLr = (g.initialLr as number) / finalDivFactor;
        if (cycleMomentum) {
          if (useBeta1) g.betas = [maxMomenta[i], (g.betas as number[])[1]];
          else g.momentum = maxMomenta[i];
          g.maxMomentum = maxMomenta[i];
          g.baseMomentum = baseMomenta[i];
        }
      });
    }
    super(op, optimizer, o.lastEpoch as number | undefined);
    this.totalSteps = totalSteps;
    this.phases = phases;
    this.annealStrategy = strategy;
    this.cycleMomentum = cycleMomentum;
    this.useBeta1 = useBeta1;
    this._initialStep();
  }

  private anneal(start: number, end: number, pct: number): number {
    if (this.annealStrategy === 'cos') return end + ((start - end) / 2) * (Math.cos(Math.PI * pct) + 1);
    return (end - start) * pct + start;
  }

  protected override computeLr(): number[] {
    const stepNum = this.lastEpoch;
    if (stepNum > this.totalSteps) {
      throw new Error(`${this.name}: tried to step ${stepNum + 1} times; the specified number of total steps is ${this.totalSteps}`);
    }
    return this.groups().map((g) => {
      let start = 0, lr = 0, momentum = 0;
      for (let i = 0; i < this.phases.length; i++) {
        const ph = this.phases[i];
        if (stepNum <= ph.endStep || i === this.phases.length - 1) {
          const pct = (stepNum - start) / (ph.endStep - start);
          lr = this.anneal(g[ph.startLr] as number, g[ph.endLr] as number, pct);
          if (this.cycleMomentum) momentum = this.anneal(g[ph.startMomentum] as number, g[ph.endMomentum] as number, pct);
          break;
        }
        start = ph.endStep;
      }
      if (this.cycleMomentum) {
        if (this.useBeta1) g.betas = [momentum, (g.betas as number[])[1]];
        else g.momentum = momentum;
      }
      return lr;
    });
  }
}

export interface SequentialLROptions extends SchedulerOptions {
  /** Schedulers of this optimizer, run one after the other. */
  schedulers: LRScheduler[];
  /** The epochs at which the next scheduler takes over (one fewer than schedulers). */
  milestones: number[];
}

/** Runs schedulers[i] from milestones[i - 1] on (restarted at its epoch 0 there), e.g. warm-up then decay. */
export class SequentialLR extends LRScheduler {
  schedulers: LRScheduler[];
  milestones: number[];
  constructor(optimizer: Optimizer, options: SequentialLROptions) {
    const op = 'SequentialLR';
    const o = checkOptions(op, options, ['schedulers', 'milestones', 'lastEpoch'], ['schedulers', 'milestones']);
    const schedulers = o.schedulers as LRScheduler[];
    if (!Array.isArray(schedulers) || schedulers.length === 0 || !schedulers.every((s) => s instanceof LRScheduler)) {
      throw new TypeError(`${op}: schedulers must be a non-empty array of schedulers`);
    }
    schedulers.forEach((s, i) => {
      if (s.optimizer !== optimizer) throw new Error(`${op}: schedulers[${i}] belongs to a different optimizer`);
      if (s instanceof SequentialLR) throw new Error(`${op}: schedulers[${i}] is a SequentialLR; nesting is not supported`);
    });
    if (!Array.isArray(o.milestones) || o.milestones.length !== schedulers.length - 1) {
      throw new Error(
        `${op}: expected ${schedulers.length - 1} milestones (one fewer than schedulers), got ${Array.isArray(o.milestones) ? o.milestones.length : String(o.milestones)}`,
      );
    }
    const milestones = (o.milestones as unknown[]).map((m, i) => num(op, `milestones[${i}]`, m, (x) => Number.isInteger(x) && x >= 0, 'a non-negative integer'));
    for (let i = 1; i < milestones.length; i++) {
      if (milestones[i] < milestones[i - 1]) throw new Error(`${op}: milestones must be increasing`);
    }
    super(op, optimizer, o.lastEpoch as number | undefined);
    this.schedulers = schedulers;
    this.milestones = milestones;
    this.lastEpoch += 1;
    // Back to the initial rates, undo the step each scheduler took when it was built, and take the
    // first scheduler's initial step only.
    for (const g of optimizer.paramGroups) g.lr = g.initialLr as number;
    for (const s of schedulers) s.lastEpoch -= 1;
    schedulers[0]._initialStep();
    this.lastLr = schedulers[0].getLastLr();
  }

  protected override computeLr(): number[] {
    return this.lastLr.slice();
  }

  override step(): void {
    this.lastEpoch += 1;
    const idx = bisectRight(this.milestones, this.lastEpoch);
    const s = this.schedulers[idx];
    if (idx > 0 && this.milestones[idx - 1] === this.lastEpoch) s.step(0);
    else s.step();
    this.lastLr = s.getLastLr();
  }

  override stateDict(): Record<string, unknown> {
    return {
      lastEpoch: this.lastEpoch,
      baseLrs: this.baseLrs.slice(),
      lastLr: this.lastLr.slice(),
      milestones: this.milestones.slice(),
      schedulers: this.schedulers.map((s) => s.stateDict()),
    };
  }

  override loadStateDict(stateDict: Record<string, unknown>): void {
    const op = `${this.name}.loadStateDict`;
    if (stateDict === null || typeof stateDict !== 'object') throw new TypeError(`${op}: expected an object`);
    const subs = stateDict.schedulers;
    if (!Array.isArray(subs) || subs.length !== this.schedulers.length) {
      throw new Error(`${op}: expected states for ${this.schedulers.length} schedulers`);
    }
    const { schedulers: _, ...rest } = stateDict;
    super.loadStateDict(rest);
    subs.forEach((s, i) => this.schedulers[i].loadStateDict(s as Record<string, unknown>));
  }
}
