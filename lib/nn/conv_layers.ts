// Convolution and pooling layers over the functional ops in lib/ops/conv.ts and lib/ops/pool.ts,
// with PyTorch's arguments and default initialisation (kaiming-uniform a = sqrt(5) weights, bias
// U(-1/sqrt(fanIn), 1/sqrt(fanIn))).
import { checkDType, type DType } from '../dtype';
import { empty } from '../ops/creation';
import { conv1d, conv2d } from '../ops/conv';
import { convTranspose1d, convTranspose2d, convTransposeOutputPadding } from '../ops/conv_transpose';
import { adaptiveAvgPool2d, adaptiveMaxPool2d, avgPool2d, maxPool2d } from '../ops/pool';
import { Tensor } from '../tensor';
import * as init from './init';
import { Module, parameter } from './module';

type Pair = number | [number, number];
export type Padding = number | [number, number] | 'same' | 'valid';

export interface ConvOptions {
  stride?: Pair;
  padding?: Padding;
  dilation?: Pair;
  groups?: number;
  bias?: boolean;
  dtype?: DType;
}

function pair(v: Pair): [number, number] {
  return typeof v === 'number' ? [v, v] : [v[0], v[1]];
}

abstract class ConvNd extends Module {
  weight: Tensor;
  bias: Tensor | null;
  readonly stride: Pair;
  readonly padding: Padding;
  readonly dilation: Pair;
  readonly groups: number;
  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    readonly kernelSize: number[],
    opts: ConvOptions,
  ) {
    super();
    const name = this.constructor.name;
    this.groups = opts.groups ?? 1;
    for (const [k, v] of [['inChannels', inChannels], ['outChannels', outChannels], ['groups', this.groups]] as const) {
      if (!Number.isInteger(v) || v <= 0) throw new RangeError(`${name}: ${k} must be a positive integer, got ${v}`);
    }
    if (inChannels % this.groups !== 0 || outChannels % this.groups !== 0) {
      throw new Error(`${name}: inChannels ${inChannels} and outChannels ${outChannels} must be divisible by groups ${this.groups}`);
    }
    this.stride = opts.stride ?? 1;
    this.padding = opts.padding ?? 0;
    this.dilation = opts.dilation ?? 1;
    const dtype = checkDType(name, opts.dtype ?? 'float32');
    const w = empty([outChannels, inChannels / this.groups, ...kernelSize], { dtype });
    this.weight = parameter(init.kaimingUniform_(w, { a: Math.sqrt(5) }));
    const fanIn = (inChannels / this.groups) * kernelSize.reduce((a, b) => a * b, 1);
    const bound = 1 / Math.sqrt(fanIn);
    this.bias = opts.bias ?? true ? parameter(init.uniform_(empty([outChannels], { dtype }), -bound, bound)) : null;
  }
  override extraRepr(): string {
    return `${this.inChannels}, ${this.outChannels}, kernelSize=[${this.kernelSize.join(', ')}], stride=${JSON.stringify(this.stride)}, padding=${JSON.stringify(this.padding)}`;
  }
}

export class Conv1d extends ConvNd {
  constructor(inChannels: number, outChannels: number, kernelSize: number, opts: ConvOptions = {}) {
    super(inChannels, outChannels, [kernelSize], opts);
  }
  forward(x: Tensor): Tensor {
    const s = (v: Pair): number => (typeof v === 'number' ? v : v[0]);
    const p = typeof this.padding === 'string' ? this.padding : s(this.padding as Pair);
    return conv1d(x, this.weight, this.bias, { stride: s(this.stride), padding: p, dilation: s(this.dilation), groups: this.groups });
  }
}

export class Conv2d extends ConvNd {
  constructor(inChannels: number, outChannels: number, kernelSize: Pair, opts: ConvOptions = {}) {
    super(inChannels, outChannels, pair(kernelSize), opts);
  }
  forward(x: Tensor): Tensor {
    return conv2d(x, this.weight, this.bias, { stride: this.stride, padding: this.padding, dilation: this.dilation, groups: this.groups });
  }
}

export class MaxPool2d extends Module {
  constructor(readonly kernelSize: Pair, readonly opts: { stride?: Pair; padding?: Pair; dilation?: Pair; ceilMode?: boolean } = {}) {
    super();
  }
  forward(x: Tensor): Tensor {
    return maxPool2d(x, this.kernelSize, this.opts);
  }
}

export class AvgPool2d extends Module {
  constructor(readonly kernelSize: Pair, readonly opts: { stride?: Pair; padding?: Pair; ceilMode?: boolean; countIncludePad?: boolean } = {}) {
    super();
  }
  forward(x: Tensor): Tensor {
    return avgPool2d(x, this.kernelSize, this.opts);
  }
}

export class AdaptiveAvgPool2d extends Module {
  constructor(readonly outputSize: Pair) {
    super();
  }
  forward(x: Tensor): Tensor {
    return adaptiveAvgPool2d(x, this.outputSize);
  }
}

export class AdaptiveMaxPool2d extends Module {
  constructor(readonly outputSize: Pair) {
    super();
  }
  forward(x: Tensor): Tensor {
    return adaptiveMaxPool2d(x, this.outputSize);
  }
}

export interface ConvTransposeOptions {
  stride?: Pair;
  padding?: Pair;
  outputPadding?: Pair;
  groups?: number;
  bias?: boolean;
  dilation?: Pair;
  dtype?: DType;
}

/**
 * Transposed convolutions (PyTorch's nn.ConvTranspose1d/2d): weight [inC, outC / groups, *kernel],
 * initialised as PyTorch does (kaiming-uniform a = sqrt(5) on that shape, so fanIn =
 * outC / groups * prod(kernel); bias U(-1/sqrt(fanIn), 1/sqrt(fanIn))). forward(x, { outputSize })
 * picks the outputPadding that gives that output size.
 */
abstract class ConvTransposeNd extends Module {
  weight: Tensor;
  bias: Tensor | null;
  readonly stride: number[];
  readonly padding: number[];
  readonly outputPadding: number[];
  readonly dilation: number[];
  readonly groups: number;
  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    readonly kernelSize: number[],
    opts: ConvTransposeOptions,
  ) {
    super();
    const name = this.constructor.name;
    const ns = kernelSize.length;
    this.groups = opts.groups ?? 1;
    for (const [k, v] of [['inChannels', inChannels], ['outChannels', outChannels], ['groups', this.groups]] as const) {
      if (!Number.isInteger(v) || v <= 0) throw new RangeError(`${name}: ${k} must be a positive integer, got ${v}`);
    }
    if (inChannels % this.groups !== 0 || outChannels % this.groups !== 0) {
      throw new Error(`${name}: inChannels ${inChannels} and outChannels ${outChannels} must be divisible by groups ${this.groups}`);
    }
    const list = (key: string, v: Pair | undefined, dflt: number, min: number): number[] => {
      const l = v === undefined ? new Array<number>(ns).fill(dflt) : typeof v === 'number' ? new Array<number>(ns).fill(v) : [...v];
      if (l.length !== ns || !l.every((e) => Number.isInteger(e) && e >= min)) {
        throw new RangeError(`${name}: ${key} must be ${ns === 1 ? 'an integer' : `an integer or ${ns} integers`} >= ${min}, got ${JSON.stringify(v)}`);
      }
      return l;
    };
    if (!kernelSize.every((k) => Number.isInteger(k) && k >= 1)) {
      throw new RangeError(`${name}: kernelSize must be positive integers, got ${JSON.stringify(kernelSize)}`);
    }
    this.stride = list('stride', opts.stride, 1, 1);
    this.padding = list('padding', opts.padding, 0, 0);
    this.outputPadding = list('outputPadding', opts.outputPadding, 0, 0);
    this.dilation = list('dilation', opts.dilation, 1, 1);
    if (this.outputPadding.some((o, i) => o >= this.stride[i] && o >= this.dilation[i])) {
      throw new Error(
        `${name}: outputPadding must be smaller than either stride or dilation, got outputPadding ${JSON.stringify(this.outputPadding)}, ` +
          `stride ${JSON.stringify(this.stride)}, dilation ${JSON.stringify(this.dilation)}`,
      );
    }
    const dtype = checkDType(name, opts.dtype ?? 'float32');
    const w = empty([inChannels, outChannels / this.groups, ...kernelSize], { dtype });
    this.weight = parameter(init.kaimingUniform_(w, { a: Math.sqrt(5) }));
    const fanIn = (outChannels / this.groups) * kernelSize.reduce((a, b) => a * b, 1);
    const bound = 1 / Math.sqrt(fanIn);
    this.bias = opts.bias ?? true ? parameter(init.uniform_(empty([outChannels], { dtype }), -bound, bound)) : null;
  }
  /** The outputPadding for this call: the module's, or the one that reaches `outputSize`. */
  protected outputPaddingFor(x: Tensor, outputSize: readonly number[] | undefined): number[] {
    if (outputSize === undefined || outputSize === null) return this.outputPadding;
    const ns = this.kernelSize.length;
    return convTransposeOutputPadding(
      this.constructor.name, x.shape.slice(x.ndim - ns), outputSize, this.kernelSize, this.stride, this.padding, this.dilation,
    );
  }
  override extraRepr(): string {
    return (
      `${this.inChannels}, ${this.outChannels}, kernelSize=[${this.kernelSize.join(', ')}], stride=[${this.stride.join(', ')}], ` +
      `padding=[${this.padding.join(', ')}], outputPadding=[${this.outputPadding.join(', ')}]`
    );
  }
}

export class ConvTranspose1d extends ConvTransposeNd {
  constructor(inChannels: number, outChannels: number, kernelSize: number, opts: ConvTransposeOptions = {}) {
    super(inChannels, outChannels, [kernelSize], opts);
  }
  forward(x: Tensor, opts: { outputSize?: readonly number[] } = {}): Tensor {
    const outputPadding = this.outputPaddingFor(x, opts.outputSize);
    return convTranspose1d(x, this.weight, this.bias, {
      stride: this.stride, padding: this.padding, outputPadding, dilation: this.dilation, groups: this.groups,
    });
  }
}

export class ConvTranspose2d extends ConvTransposeNd {
  constructor(inChannels: number, outChannels: number, kernelSize: Pair, opts: ConvTransposeOptions = {}) {
    super(inChannels, outChannels, pair(kernelSize), opts);
  }
  forward(x: Tensor, opts: { outputSize?: readonly number[] } = {}): Tensor {
    const outputPadding = this.outputPaddingFor(x, opts.outputSize);
    return convTranspose2d(x, this.weight, this.bias, {
      stride: this.stride, padding: this.padding, outputPadding, dilation: this.dilation, groups: this.groups,
    });
  }
}
