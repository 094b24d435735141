// tensorforge.optim: optimizers (fused native updates) and learning-rate schedulers.
export {
  Optimizer, type ParamGroup, type ParamGroupSpec, type Params, type ParamState, type OptimizerStateDict, type StateSpec,
} from './optimizer';
export { SGD, type SGDOptions, type SGDGroup } from './sgd';
export { Adam, AdamW, type AdamOptions, type AdamGroup } from './adam';
export { RMSprop, type RMSpropOptions, type RMSpropGroup } from './rmsprop';
export { Adagrad, type AdagradOptions, type AdagradGroup } from './adagrad';
export * as lrScheduler from './lr_scheduler';
