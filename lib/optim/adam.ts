// Adam and AdamW (PyTorch 1.13's torch/optim/adam.py and adamw.py), per parameter at step t:
//   g = grad (negated when maximize);  Adam: g += weightDecay * p;  AdamW: p *= 1 - lr * weightDecay
//   m = beta1 * m + (1 - beta1) * g;   v = beta2 * v + (1 - beta2) * g^2
//   amsgrad: vmax = max(vmax, v), used in place of v
//   p -= lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
import { callee, meta, metaNum } from '../native';
import type { Tensor } from '../tensor';
import { checkBool, checkNumber, Optimizer, type ParamGroup, type ParamState, type Params, type StateSpec } from './optimizer';

export interface AdamOptions {
  lr?: number;
  betas?: [number, number];
  eps?: number;
  weightDecay?: number;
  amsgrad?: boolean;
  maximize?: boolean;
}

export interface AdamGroup extends ParamGroup {
  betas: [number, number];
  eps: number;
  weightDecay: number;
  amsgrad: boolean;
  maximize: boolean;
}

abstract class AdamBase extends Optimizer<AdamGroup> {
  protected abstract readonly decoupled: boolean;

  protected override checkGroup(g: AdamGroup): void {
    const op = this.name;
    checkNumber(op, 'learning rate (lr)', g.lr);
    checkNumber(op, 'epsilon (eps)', g.eps);
    if (!Array.isArray(g.betas) || g.betas.length !== 2) throw new TypeError(`${op}: betas must be an array of two numbers`);
    checkNumber(op, 'beta parameter at index 0', g.betas[0], 0, 1);
    checkNumber(op, 'beta parameter at index 1', g.betas[1], 0, 1);
    checkNumber(op, 'weightDecay', g.weightDecay);
    checkBool(op, 'amsgrad', g.amsgrad);
    checkBool(op, 'maximize', g.maximize);
  }

  protected override stateSpec(g: AdamGroup): StateSpec {
    return g.amsgrad
      ? { required: ['expAvg', 'expAvgSq', 'maxExpAvgSq'], optional: [], step: true }
      : { required: ['expAvg', 'expAvgSq'], optional: ['maxExpAvgSq'], step: true };
  }

  protected override update(p: Tensor, grad: Tensor, state: ParamState, g: AdamGroup): void {
    if (state.step === undefined) {
      state.step = 0;
      state.expAvg = this.newState(p);
      state.expAvgSq = this.newState(p);
    }
    if (g.amsgrad && state.maxExpAvgSq === undefined) state.maxExpAvgSq = this.newState(p);
    const step = (state.step as number) + 1;
    state.step = step;
    const [beta1, beta2] = g.betas;
    const biasCorrection1 = 1 - beta1 ** step;
    const biasCorrection2 = 1 - beta2 ** step;
    const bufs = [state.expAvg as Tensor, state.expAvgSq as Tensor];
    if (g.amsgrad) bufs.push(state.maxExpAvgSq as Tensor);
    meta();
    metaNum(
      beta1, beta2, g.eps, g.weightDecay, g.lr / biasCorrection1, Math.sqrt(biasCorrection2), 1 - g.lr * g.weightDecay,
      +g.amsgrad, +this.decoupled, +g.maximize,
    );
    p._meta();
    grad._meta();
    for (const b of bufs) {
      b._meta();
      b._storage.version++;
    }
    callee().adamStep();
  }
}

export class Adam extends AdamBase {
  protected override readonly decoupled = false;
  constructor(params: Params, options: AdamOptions = {}) {
    super('Adam', params, { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, amsgrad: false, maximize: false }, options);
  }
}

/** Adam with decoupled weight decay (Loshchilov & Hutter): p *= 1 - lr * weightDecay each step. */
export class AdamW extends AdamBase {
  protected override readonly decoupled = true;
  constructor(params: Params, options: AdamOptions = {}) {
    super('AdamW', params, { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 1e-2, amsgrad: false, maximize: false }, options);
  }
}
