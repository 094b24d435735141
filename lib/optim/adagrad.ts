// Adagrad (PyTorch 1.13's torch/optim/adagrad.py), at step t:
//   g = grad (negated when maximize) + weightDecay * p
//   sum += g^2;   p -= lr / (1 + (t - 1) * lrDecay) * g / (sqrt(sum) + eps)
// As in PyTorch, every parameter's state (step 0, sum = initialAccumulatorValue) exists from the start.
import { callee, meta, metaNum } from '../native';
import type { Tensor } from '../tensor';
import { checkBool, checkNumber, Optimizer, type ParamGroup, type ParamGroupSpec, type ParamState, type Params, type StateSpec } from './optimizer';

export interface AdagradOptions {
  lr?: number;
  lrDecay?: number;
  weightDecay?: number;
  initialAccumulatorValue?: number;
  eps?: number;
  maximize?: boolean;
}

export interface AdagradGroup extends ParamGroup {
  lrDecay: number;
  weightDecay: number;
  initialAccumulatorValue: number;
  eps: number;
  maximize: boolean;
}

export class Adagrad extends Optimizer<AdagradGroup> {
  constructor(params: Params, options: AdagradOptions = {}) {
    super(
      'Adagrad',
      params,
      { lr: 1e-2, lrDecay: 0, weightDecay: 0, initialAccumulatorValue: 0, eps: 1e-10, maximize: false },
      options,
    );
  }

  override addParamGroup(spec: ParamGroupSpec): void {
    super.addParamGroup(spec);
    this.initState(this.paramGroups[this.paramGroups.length - 1]);
  }

  private initState(g: AdagradGroup): void {
    for (const p of g.params) {
      if (!this.state.has(p)) this.state.set(p, { step: 0, sum: this.newState(p, g.initialAccumulatorValue) });
    }
  }

  protected override checkGroup(g: AdagradGroup): void {
    const op = 'Adagrad';
    checkNumber(op, 'learning rate (lr)', g.lr);
    checkNumber(op, 'lrDecay', g.lrDecay);
    checkNumber(op, 'weightDecay', g.weightDecay);
    checkNumber(op, 'initialAccumulatorValue', g.initialAccumulatorValue);
    checkNumber(op, 'epsilon (eps)', g.eps);
    checkBool(op, 'maximize', g.maximize);
  }

  protected override stateSpec(): StateSpec {
    return { required: ['sum'], optional: [], step: true };
  }

  protected override update(p: Tensor, grad: Tensor, state: ParamState, g: AdagradGroup): void {
    if (state.sum === undefined) {
      state.step = 0;
      state.sum = this.newState(p, g.initialAccumulatorValue);
    }
    const step = (state.step as number) + 1;
    state.step = step;
    const sum = state.sum as Tensor;
    meta();
    metaNum(g.lr / (1 + (step - 1) * g.lrDecay), g.eps, g.weightDecay, +g.maximize);
    p._meta();
    grad._meta();
    sum._meta();
    sum._storage.version++;
    callee().adagradStep();
  }
}
