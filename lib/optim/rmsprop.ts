// RMSprop (PyTorch 1.13's torch/optim/rmsprop.py):
//   g = grad (negated when maximize) + weightDecay * p
//   s = alpha * s + (1 - alpha) * g^2
//   centered: a = alpha * a + (1 - alpha) * g, avg = sqrt(s - a^2) + eps;  else avg = sqrt(s) + eps
//   momentum > 0: buf = momentum * buf + g / avg, p -= lr * buf;  else p -= lr * g / avg
import { callee, meta, metaNum } from '../native';
import type { Tensor } from '../tensor';
import { checkBool, checkNumber, Optimizer, type ParamGroup, type ParamState, type Params, type StateSpec } from './optimizer';

export interface RMSpropOptions {
  lr?: number;
  alpha?: number;
  eps?: number;
  weightDecay?: number;
  momentum?: number;
  centered?: boolean;
  maximize?: boolean;
}

export interface RMSpropGroup extends ParamGroup {
  alpha: number;
  eps: number;
  weightDecay: number;
  momentum: number;
  centered: boolean;
  maximize: boolean;
}

export class RMSprop extends Optimizer<RMSpropGroup> {
  constructor(params: Params, options: RMSpropOptions = {}) {
    super(
      'RMSprop',
      params,
      { lr: 1e-2, alpha: 0.99, eps: 1e-8, weightDecay: 0, momentum: 0, centered: false, maximize: false },
      options,
    );
  }

  protected override checkGroup(g: RMSpropGroup): void {
    const op = 'RMSprop';
    checkNumber(op, 'learning rate (lr)', g.lr);
    checkNumber(op, 'epsilon (eps)', g.eps);
    checkNumber(op, 'momentum', g.momentum);
    checkNumber(op, 'weightDecay', g.weightDecay);
    checkNumber(op, 'alpha', g.alpha);
    checkBool(op, 'centered', g.centered);
    checkBool(op, 'maximize', g.maximize);
  }

  protected override stateSpec(g: RMSpropGroup): StateSpec {
    const required = ['squareAvg'], optional: string[] = [];
    (g.momentum > 0 ? required : optional).push('momentumBuffer');
    (g.centered ? required : optional).push('gradAvg');
    return { required, optional, step: true };
  }

  protected override update(p: Tensor, grad: Tensor, state: ParamState, g: RMSpropGroup): void {
    if (state.step === undefined) {
      state.step = 0;
      state.squareAvg = this.newState(p);
    }
    if (g.momentum > 0 && state.momentumBuffer === undefined) state.momentumBuffer = this.newState(p);
    if (g.centered && state.gradAvg === undefined) state.gradAvg = this.newState(p);
    state.step = (state.step as number) + 1;
    const bufs = [state.squareAvg as Tensor];
    if (g.centered) bufs.push(state.gradAvg as Tensor);
    if (g.momentum > 0) bufs.push(state.momentumBuffer as Tensor);
    meta();
    metaNum(g.lr, g.alpha, g.eps, g.weightDecay, g.momentum, +g.centered, +g.maximize);
    p._meta();
    grad._meta();
    for (const b of bufs) {
      b._meta();
      b._storage.version++;
    }
    callee().rmspropStep();
  }
}
