// Layers: nn.Module subclasses over the functional ops, with PyTorch's constructor arguments
// (required ones positional, optional ones in an options object) and default initialisation.
import { checkDType, type DType } from '../dtype';
import { empty, ones, zeros } from '../ops/creation';
import { softmax } from '../ops/softmax';
import { Tensor } from '../tensor';
import * as F from './functional_basic';
import * as init from './init';
import { Module, parameter } from './module';

interface DTypeOption {
  dtype?: DType;
}

function dtypeOf(opts: DTypeOption): DType {
  return checkDType('nn', opts.dtype ?? 'float32');
}

function positiveInt(op: string, name: string, v: number): number {
  if (!Number.isInteger(v) || v <= 0) throw new RangeError(`${op}: ${name} must be a positive integer, got ${v}`);
  return v;
}

/** y = x W^T + b. weight [outFeatures, inFeatures], initialised U(-1/sqrt(in), 1/sqrt(in)) like bias. */
export class Linear extends Module {
  weight: Tensor;
  bias: Tensor | null;
  constructor(readonly inFeatures: number, readonly outFeatures: number, opts: { bias?: boolean } & DTypeOption = {}) {
    super();
    positiveInt('Linear', 'inFeatures', inFeatures);
    positiveInt('Linear', 'outFeatures', outFeatures);
    const dtype = dtypeOf(opts);
    this.weight = parameter(init.kaimingUniform_(empty([outFeatures, inFeatures], { dtype }), { a: Math.sqrt(5) }));
    const bound = 1 / Math.sqrt(inFeatures);
    this.bias = opts.bias ?? true ? parameter(init.uniform_(empty([outFeatures], { dtype }), -bound, bound)) : null;
  }
  forward(x: Tensor): Tensor {
    return F.linear(x, this.weight, this.bias);
  }
  override extraRepr(): string {
    return `inFeatures=${this.inFeatures}, outFeatures=${this.outFeatures}, bias=${this.bias !== null}`;
  }
}

/** Runs its modules in order, each on the previous one's output. */
export class Sequential extends Module {
  readonly layers: Module[];
  constructor(...layers: Module[]) {
    super();
    layers.forEach((m, i) => {
      if (!(m instanceof Module)) throw new TypeError(`Sequential: argument ${i} is not a Module`);
    });
    this.layers = layers;
  }
  override *namedChildren(): Generator<[string, Module]> {
    for (let i = 0; i < this.layers.length; i++) yield [String(i), this.layers[i]];
  }
  forward(x: unknown): unknown {
    let y = x;
    for (const m of this.layers) y = m.forward(y);
    return y;
  }
  get length(): number {
    return this.layers.length;
  }
  at(i: number): Module {
    const m = this.layers.at(i);
    if (!m) throw new RangeError(`Sequential: index ${i} out of range for ${this.layers.length} layers`);
    return m;
  }
}

export class Identity extends Module {
  forward(x: Tensor): Tensor {
    return x;
  }
}

export class Flatten extends Module {
  constructor(readonly startDim = 1, readonly endDim = -1) {
    super();
  }
  forward(x: Tensor): Tensor {
    return x.flatten(this.startDim, this.endDim);
  }
}

export class Dropout extends Module {
  constructor(readonly p = 0.5) {
    super();
    if (!(p >= 0 && p <= 1)) throw new RangeError(`Dropout: probability has to be between 0 and 1, but got ${p}`);
  }
  forward(x: Tensor): Tensor {
    return F.dropout(x, { p: this.p, training: this.training });
  }
  override extraRepr(): string {
    return `p=${this.p}`;
  }
}

export class ReLU extends Module {
  forward(x: Tensor): Tensor {
    return x.relu();
  }
}
export class GELU extends Module {
  constructor(readonly opts: { approximate?: 'none' | 'tanh' } = {}) {
    super();
  }
  forward(x: Tensor): Tensor {
    return x.gelu(this.opts);
  }
}
export class SiLU extends Module {
  forward(x: Tensor): Tensor {
    return x.silu();
  }
}
export class Tanh extends Module {
  forward(x: Tensor): Tensor {
    return x.tanh();
  }
}
export class Sigmoid extends Module {
  forward(x: Tensor): Tensor {
    return x.sigmoid();
  }
}
export class LeakyReLU extends Module {
  constructor(readonly negativeSlope = 0.01) {
    super();
  }
  forward(x: Tensor): Tensor {
    return x.leakyRelu(this.negativeSlope);
  }
}
export class Softmax extends Module {
  constructor(readonly dim: number) {
    super();
  }
  forward(x: Tensor): Tensor {
    return softmax(x, this.dim);
  }
}
export class LogSoftmax extends Module {
  constructor(readonly dim: number) {
    super();
  }
  forward(x: Tensor): Tensor {
    return x.logSoftmax(this.dim);
  }
}

export interface BatchNormOptions extends DTypeOption {
  eps?: number;
  momentum?: number;
  affine?: boolean;
  trackRunningStats?: boolean;
}

class BatchNormBase extends Module {
  weight: Tensor | null;
  bias: Tensor | null;
  runningMean: Tensor | null = null;
  runningVar: Tensor | null = null;
  numBatchesTracked: Tensor | null = null;
  readonly eps: number;
  readonly momentum: number;
  constructor(readonly numFeatures: number, private readonly wantDims: number[], opts: BatchNormOptions) {
    super();
    positiveInt(this.constructor.name, 'numFeatures', numFeatures);
    const dtype = dtypeOf(opts);
    this.eps = opts.eps ?? 1e-5;
    this.momentum = opts.momentum ?? 0.1;
    const affine = opts.affine ?? true;
    this.weight = affine ? parameter(ones([numFeatures], { dtype })) : null;
    this.bias = affine ? parameter(zeros([numFeatures], { dtype })) : null;
    if (opts.trackRunningStats ?? true) {
      this.registerBuffer('runningMean', zeros([numFeatures], { dtype }));
      this.registerBuffer('runningVar', ones([numFeatures], { dtype }));
      this.registerBuffer('numBatchesTracked', zeros([], { dtype: 'int32' }));
    }
  }
  forward(x: Tensor): Tensor {
    if (!this.wantDims.includes(x.ndim)) {
      throw new Error(`${this.constructor.name}: expected ${this.wantDims.join('-D or ')}-D input, got shape [${x.shape.join(', ')}]`);
    }
    if (x._shape[1] !== this.numFeatures) {
      throw new Error(`${this.constructor.name}: expected ${this.numFeatures} channels in dim 1, got shape [${x.shape.join(', ')}]`);
    }
    const useBatchStats = this.training || this.runningMean === null;
    if (this.training && this.numBatchesTracked) this.numBatchesTracked.add_(1);
    return F.batchNorm(x, this.runningMean, this.runningVar, {
      weight: this.weight,
      bias: this.bias,
      training: useBatchStats,
      momentum: this.momentum,
      eps: this.eps,
    });
  }
  override extraRepr(): string {
    return `${this.numFeatures}, eps=${this.eps}, momentum=${this.momentum}`;
  }
}

/** Batch norm over [N, C] or [N, C, L]. */
export class BatchNorm1d extends BatchNormBase {
  constructor(numFeatures: number, opts: BatchNormOptions = {}) {
    super(numFeatures, [2, 3], opts);
  }
}
/** Batch norm over [N, C, H, W]. */
export class BatchNorm2d extends BatchNormBase {
  constructor(numFeatures: number, opts: BatchNormOptions = {}) {
    super(numFeatures, [4], opts);
  }
}

export class LayerNorm extends Module {
  weight: Tensor | null;
  bias: Tensor | null;
  readonly normalizedShape: number[];
  readonly eps: number;
  constructor(normalizedShape: number | number[], opts: { eps?: number; elementwiseAffine?: boolean; bias?: boolean } & DTypeOption = {}) {
    super();
    this.normalizedShape = typeof normalizedShape === 'number' ? [normalizedShape] : [...normalizedShape];
    this.normalizedShape.forEach((s) => positiveInt('LayerNorm', 'normalizedShape', s));
    this.eps = opts.eps ?? 1e-5;
    const dtype = dtypeOf(opts);
    const affine = opts.elementwiseAffine ?? true;
    this.weight = affine ? parameter(ones(this.normalizedShape, { dtype })) : null;
    this.bias = affine && (opts.bias ?? true) ? parameter(zeros(this.normalizedShape, { dtype })) : null;
  }
  forward(x: Tensor): Tensor {
    return F.layerNorm(x, this.normalizedShape, { weight: this.weight, bias: this.bias, eps: this.eps });
  }
  override extraRepr(): string {
    return `[${this.normalizedShape.join(', ')}], eps=${this.eps}`;
  }
}

/** y = x / sqrt(mean(x^2) + eps) * weight over the trailing normalizedShape dims (torch.nn.RMSNorm). */
export class RMSNorm extends Module {
  weight: Tensor | null;
  readonly normalizedShape: number[];
  readonly eps: number | null;
  constructor(normalizedShape: number | number[], opts: { eps?: number | null; elementwiseAffine?: boolean } & DTypeOption = {}) {
    super();
    this.normalizedShape = typeof normalizedShape === 'number' ? [normalizedShape] : [...normalizedShape];
    this.normalizedShape.forEach((s) => positiveInt('RMSNorm', 'normalizedShape', s));
    this.eps = opts.eps ?? null;
    this.weight = opts.elementwiseAffine ?? true ? parameter(ones(this.normalizedShape, { dtype: dtypeOf(opts) })) : null;
  }
  forward(x: Tensor): Tensor {
    return F.rmsNorm(x, this.normalizedShape, { weight: this.weight, eps: this.eps });
  }
  override extraRepr(): string {
    return `[${this.normalizedShape.join(', ')}], eps=${this.eps}`;
  }
}

export class GroupNorm extends Module {
  weight: Tensor | null;
  bias: Tensor | null;
  readonly eps: number;
  constructor(readonly numGroups: number, readonly numChannels: number, opts: { eps?: number; affine?: boolean } & DTypeOption = {}) {
    super();
    positiveInt('GroupNorm', 'numGroups', numGroups);
    positiveInt('GroupNorm', 'numChannels', numChannels);
    if (numChannels % numGroups !== 0) throw new Error(`GroupNorm: numChannels ${numChannels} must be divisible by numGroups ${numGroups}`);
    this.eps = opts.eps ?? 1e-5;
    const dtype = dtypeOf(opts);
    const affine = opts.affine ?? true;
    this.weight = affine ? parameter(ones([numChannels], { dtype })) : null;
    this.bias = affine ? parameter(zeros([numChannels], { dtype })) : null;
  }
  forward(x: Tensor): Tensor {
    return F.groupNorm(x, this.numGroups, { weight: this.weight, bias: this.bias, eps: this.eps });
  }
}

/** A lookup table [numEmbeddings, embeddingDim], initialised N(0, 1) (the padding row zero). */
export class Embedding extends Module {
  weight: Tensor;
  readonly paddingIdx: number | null;
  constructor(readonly numEmbeddings: number, readonly embeddingDim: number, opts: { paddingIdx?: number | null } & DTypeOption = {}) {
    super();
    positiveInt('Embedding', 'numEmbeddings', numEmbeddings);
    positiveInt('Embedding', 'embeddingDim', embeddingDim);
    const dtype = dtypeOf(opts);
    let pad = opts.paddingIdx ?? null;
    if (pad !== null) {
      if (!Number.isInteger(pad) || pad < -numEmbeddings || pad >= numEmbeddings) {
        throw new RangeError(`Embedding: paddingIdx ${pad} must be within [${-numEmbeddings}, ${numEmbeddings})`);
      }
      if (pad < 0) pad += numEmbeddings;
    }
    this.paddingIdx = pad;
    const w = init.normal_(empty([numEmbeddings, embeddingDim], { dtype }));
    if (pad !== null) {
      const row = w.select(0, pad);
      row.fill_(0);
      row.dispose();
    }
    this.weight = parameter(w);
  }
  forward(indices: Tensor): Tensor {
    return F.embedding(indices, this.weight, { paddingIdx: this.paddingIdx });
  }
  override extraRepr(): string {
    return `${this.numEmbeddings}, ${this.embeddingDim}`;
  }
}
