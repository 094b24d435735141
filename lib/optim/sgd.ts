// Stochastic gradient descent with momentum (PyTorch 1.13's torch/optim/sgd.py):
//   d = grad (negated when maximize) + weightDecay * p
//   momentum: buf = d on the first step, then momentum * buf + (1 - dampening) * d;
//             d = nesterov ? d + momentum * buf : buf
//   p -= lr * d
import { callee, meta, metaNum } from '../native';
import type { Tensor } from '../tensor';
import { checkBool, checkNumber, Optimizer, type ParamGroup, type ParamState, type Params, type StateSpec } from './optimizer';

export interface SGDOptions {
  /** Learning rate (required, here or in every group). */
  lr?: number;
  momentum?: number;
  dampening?: number;
  weightDecay?: number;
  nesterov?: boolean;
  /** Maximise the objective instead of minimising it. */
  maximize?: boolean;
}

export interface SGDGroup extends ParamGroup {
  momentum: number;
  dampening: number;
  weightDecay: number;
  nesterov: boolean;
  maximize: boolean;
}

export class SGD extends Optimizer<SGDGroup> {
  constructor(params: Params, options: SGDOptions = {}) {
    super(
      'SGD',
      params,
      { lr: undefined, momentum: 0, dampening: 0, weightDecay: 0, nesterov: false, maximize: false },
      options,
    );
  }

  protected override checkGroup(g: SGDGroup): void {
    const op = 'SGD';
    checkNumber(op, 'learning rate (lr)', g.lr);
    checkNumber(op, 'momentum', g.momentum);
    checkNumber(op, 'dampening', g.dampening, -Infinity);
    checkNumber(op, 'weightDecay', g.weightDecay);
    checkBool(op, 'nesterov', g.nesterov);
    checkBool(op, 'maximize', g.maximize);
    if (g.nesterov && (g.momentum <= 0 || g.dampening !== 0)) {
      throw new Error(`${op}: Nesterov momentum requires a momentum and zero dampening`);
    }
  }

  protected override stateSpec(): StateSpec {
    return { required: [], optional: ['momentumBuffer'], step: false };
  }

  protected override update(p: Tensor, grad: Tensor, state: ParamState, g: SGDGroup): void {
    let buf = state.momentumBuffer as Tensor | undefined;
    const init = g.momentum !== 0 && buf === undefined;
    if (init) buf = state.momentumBuffer = this.newState(p);
    meta();
    metaNum(g.lr, g.momentum, g.dampening, g.weightDecay, +g.nesterov, +g.maximize, +init);
    p._meta();
    grad._meta();
    if (g.momentum !== 0) {
      buf!._meta();
      buf!._storage.version++;
    }
    callee().sgdStep();
  }
}
