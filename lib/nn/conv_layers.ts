// Convolution and pooling layers over the functional ops in lib/ops/conv.ts and lib/ops/pool.ts,
// with PyTorch's arguments and default initialisation (kaiming-uniform a = sqrt(5) weights, bias
// U(-1/sqrt(fanIn), 1/sqrt(fanIn))).
import { checkDType, type DType } from '../dtype';
import { empty } from '../ops/creation';
import { conv1d, conv2d } from '../ops/conv';
import { adaptiveAvgPool2d, avgPool2d, maxPool2d } from '../ops/pool';
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
