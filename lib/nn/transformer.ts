// The Transformer layers of torch.nn: TransformerEncoderLayer, TransformerDecoderLayer, their stacks
// TransformerEncoder / TransformerDecoder, and nn.Transformer. Submodule names follow PyTorch's
// (self_attn, multihead_attn, linear1, linear2, norm1..3) so state dicts exchange with PyTorch.
//   post-norm (default): x = norm1(x + sa(x));        x = norm2(x + ff(x))
//   pre-norm (normFirst): x = x + sa(norm1(x));        x = x + ff(norm2(x))
//   ff(x) = linear2(dropout(activation(linear1(x))))
import { type DType } from '../dtype';
import { generateSquareSubsequentMask } from '../ops/masking';
import { Tensor } from '../tensor';
import * as init from './init';
import { Dropout, LayerNorm, Linear } from './layers';
import { Module } from './module';
import { MultiheadAttention } from './multihead_attention';

export type TransformerActivation = 'relu' | 'gelu' | ((x: Tensor) => Tensor);

export interface TransformerLayerOptions {
  dimFeedforward?: number;
  dropout?: number;
  activation?: TransformerActivation;
  layerNormEps?: number;
  batchFirst?: boolean;
  normFirst?: boolean;
  bias?: boolean;
  dtype?: DType;
}

function activationFn(a: TransformerActivation): (x: Tensor) => Tensor {
  if (a === 'relu') return (x) => x.relu();
  if (a === 'gelu') return (x) => x.gelu();
  if (typeof a === 'function') return a;
  throw new Error(`Transformer: activation must be 'relu', 'gelu' or a function, got ${String(a)}`);
}

/** Layers that nn.TransformerEncoder / Decoder can stack: a fresh copy with the same weights. */
interface Clonable<T extends Module> extends Module {
  clone(): T;
}

abstract class TransformerLayerBase extends Module {
  linear1: Linear;
  dropout: Dropout;
  linear2: Linear;
  readonly normFirst: boolean;
  readonly batchFirst: boolean;
  protected readonly act: (x: Tensor) => Tensor;

  constructor(readonly dModel: number, readonly nhead: number, protected readonly opts: TransformerLayerOptions) {
    super();
    const dff = opts.dimFeedforward ?? 2048, bias = opts.bias ?? true, dtype = opts.dtype;
    this.linear1 = new Linear(dModel, dff, { bias, dtype });
    this.dropout = new Dropout(opts.dropout ?? 0.1);
    this.linear2 = new Linear(dff, dModel, { bias, dtype });
    this.normFirst = opts.normFirst ?? false;
    this.batchFirst = opts.batchFirst ?? false;
    this.act = activationFn(opts.activation ?? 'relu');
  }
  protected norm(): LayerNorm {
    return new LayerNorm(this.dModel, { eps: this.opts.layerNormEps ?? 1e-5, bias: this.opts.bias ?? true, dtype: this.opts.dtype });
  }
  protected attention(): MultiheadAttention {
    return new MultiheadAttention(this.dModel, this.nhead, {
      dropout: this.opts.dropout ?? 0.1, bias: this.opts.bias ?? true, batchFirst: this.batchFirst, dtype: this.opts.dtype,
    });
  }
  protected feedForward(x: Tensor, drop: Dropout): Tensor {
    return drop.forward(this.linear2.forward(this.dropout.forward(this.act(this.linear1.forward(x)))));
  }
  /** A new layer of the same configuration holding copies of this one's weights. */
  protected copyInto<T extends Module>(fresh: T): T {
    fresh.loadStateDict(this.stateDict());
    fresh.train(this.training);
    return fresh;
  }
}

export interface EncoderLayerForwardOptions {
  srcMask?: Tensor | null;
  srcKeyPaddingMask?: Tensor | null;
  isCausal?: boolean;
}

export class TransformerEncoderLayer extends TransformerLayerBase implements Clonable<TransformerEncoderLayer> {
  self_attn: MultiheadAttention;
  norm1: LayerNorm;
  norm2: LayerNorm;
  dropout1: Dropout;
  dropout2: Dropout;

  constructor(dModel: number, nhead: number, opts: TransformerLayerOptions = {}) {
    super(dModel, nhead, opts);
    this.self_attn = this.attention();
    this.norm1 = this.norm();
    this.norm2 = this.norm();
    this.dropout1 = new Dropout(opts.dropout ?? 0.1);
    this.dropout2 = new Dropout(opts.dropout ?? 0.1);
  }
  forward(src: Tensor, opts: EncoderLayerForwardOptions = {}): Tensor {
    const sa = (x: Tensor): Tensor => {
      const [y] = this.self_attn.forward(x, x, x, { attnMask: opts.srcMask, keyPaddingMask: opts.srcKeyPaddingMask, isCausal: opts.isCausal });
      return this.dropout1.forward(y);
    };
    let x = src;
    if (this.normFirst) {
      x = x.add(sa(this.norm1.forward(x)));
      return x.add(this.feedForward(this.norm2.forward(x), this.dropout2));
    }
    x = this.norm1.forward(x.add(sa(x)));
    return this.norm2.forward(x.add(this.feedForward(x, this.dropout2)));
  }
  clone(): TransformerEncoderLayer {
    return this.copyInto(new TransformerEncoderLayer(this.dModel, this.nhead, this.opts));
  }
}

export interface DecoderLayerForwardOptions {
  tgtMask?: Tensor | null;
  memoryMask?: Tensor | null;
  tgtKeyPaddingMask?: Tensor | null;
  memoryKeyPaddingMask?: Tensor | null;
  tgtIsCausal?: boolean;
  memoryIsCausal?: boolean;
}

export class TransformerDecoderLayer extends TransformerLayerBase implements Clonable<TransformerDecoderLayer> {
  self_attn: MultiheadAttention;
  multihead_attn: MultiheadAttention;
  norm1: LayerNorm;
  norm2: LayerNorm;
  norm3: LayerNorm;
  dropout1: Dropout;
  dropout2: Dropout;
  dropout3: Dropout;

  constructor(dModel: number, nhead: number, opts: TransformerLayerOptions = {}) {
    super(dModel, nhead, opts);
    this.self_attn = this.attention();
    this.multihead_attn = this.attention();
    this.norm1 = this.norm();
    this.norm2 = this.norm();
    this.norm3 = this.norm();
    this.dropout1 = new Dropout(opts.dropout ?? 0.1);
    this.dropout2 = new Dropout(opts.dropout ?? 0.1);
    this.dropout3 = new Dropout(opts.dropout ?? 0.1);
  }
  forward(tgt: Tensor, memory: Tensor, opts: DecoderLayerForwardOptions = {}): Tensor {
    const sa = (x: Tensor): Tensor => {
      const [y] = this.self_attn.forward(x, x, x, { attnMask: opts.tgtMask, keyPaddingMask: opts.tgtKeyPaddingMask, isCausal: opts.tgtIsCausal });
      return this.dropout1.forward(y);
    };
    const mha = (x: Tensor): Tensor => {
      const [y] = this.multihead_attn.forward(x, memory, memory, {
        attnMask: opts.memoryMask, keyPaddingMask: opts.memoryKeyPaddingMask, isCausal: opts.memoryIsCausal,
      });
      return this.dropout2.forward(y);
    };
    let x = tgt;
    if (this.normFirst) {
      x = x.add(sa(this.norm1.forward(x)));
      x = x.add(mha(this.norm2.forward(x)));
      return x.add(this.feedForward(this.norm3.forward(x), this.dropout3));
    }
    x = this.norm1.forward(x.add(sa(x)));
    x = this.norm2.forward(x.add(mha(x)));
    return this.norm3.forward(x.add(this.feedForward(x, this.dropout3)));
  }
  clone(): TransformerDecoderLayer {
    return this.copyInto(new TransformerDecoderLayer(this.dModel, this.nhead, this.opts));
  }
}

function stackLayers<T extends Module>(op: string, layer: Clonable<T>, numLayers: number): T[] {
  if (!layer || typeof (layer as { clone?: unknown }).clone !== 'function') {
    throw new TypeError(`${op}: the layer must be a TransformerEncoderLayer / TransformerDecoderLayer (or have a clone() method)`);
  }
  if (!Number.isInteger(numLayers) || numLayers <= 0) throw new RangeError(`${op}: numLayers must be a positive integer, got ${numLayers}`);
  // Like PyTorch's deep copies: every layer starts from the given layer's weights.
  return Array.from({ length: numLayers }, () => layer.clone());
}

/** numLayers copies of an encoder layer, then an optional final norm. */
export class TransformerEncoder extends Module {
  layers: TransformerEncoderLayer[];
  norm: Module | null;
  constructor(encoderLayer: TransformerEncoderLayer, readonly numLayers: number, opts: { norm?: Module | null } = {}) {
    super();
    this.layers = stackLayers('TransformerEncoder', encoderLayer, numLayers);
    this.norm = opts.norm ?? null;
  }
  forward(src: Tensor, opts: { mask?: Tensor | null; srcKeyPaddingMask?: Tensor | null; isCausal?: boolean } = {}): Tensor {
    let x = src;
    for (const l of this.layers) x = l.forward(x, { srcMask: opts.mask, srcKeyPaddingMask: opts.srcKeyPaddingMask, isCausal: opts.isCausal });
    return this.norm ? (this.norm.forward(x) as Tensor) : x;
  }
}

/** numLayers copies of a decoder layer, then an optional final norm. */
export class TransformerDecoder extends Module {
  layers: TransformerDecoderLayer[];
  norm: Module | null;
  constructor(decoderLayer: TransformerDecoderLayer, readonly numLayers: number, opts: { norm?: Module | null } = {}) {
    super();
    this.layers = stackLayers('TransformerDecoder', decoderLayer, numLayers);
    this.norm = opts.norm ?? null;
  }
  forward(tgt: Tensor, memory: Tensor, opts: DecoderLayerForwardOptions = {}): Tensor {
    let x = tgt;
    for (const l of this.layers) x = l.forward(x, memory, opts);
    return this.norm ? (this.norm.forward(x) as Tensor) : x;
  }
}

export interface TransformerOptions extends TransformerLayerOptions {
  dModel?: number;
  nhead?: number;
  numEncoderLayers?: number;
  numDecoderLayers?: number;
  customEncoder?: Module | null;
  customDecoder?: Module | null;
}

export interface TransformerForwardOptions {
  srcMask?: Tensor | null;
  tgtMask?: Tensor | null;
  memoryMask?: Tensor | null;
  srcKeyPaddingMask?: Tensor | null;
  tgtKeyPaddingMask?: Tensor | null;
  memoryKeyPaddingMask?: Tensor | null;
  srcIsCausal?: boolean;
  tgtIsCausal?: boolean;
  memoryIsCausal?: boolean;
}

/** The encoder-decoder model of "Attention Is All You Need", as torch.nn.Transformer. */
export class Transformer extends Module {
  encoder: Module;
  decoder: Module;
  readonly dModel: number;
  readonly nhead: number;
  readonly batchFirst: boolean;

  constructor(opts: TransformerOptions = {}) {
    super();
    this.dModel = opts.dModel ?? 512;
    this.nhead = opts.nhead ?? 8;
    this.batchFirst = opts.batchFirst ?? false;
    const layerOpts: TransformerLayerOptions = { ...opts };
    const finalNorm = (): LayerNorm => new LayerNorm(this.dModel, { eps: opts.layerNormEps ?? 1e-5, bias: opts.bias ?? true, dtype: opts.dtype });
    this.encoder = opts.customEncoder ??
      new TransformerEncoder(new TransformerEncoderLayer(this.dModel, this.nhead, layerOpts), opts.numEncoderLayers ?? 6, { norm: finalNorm() });
    this.decoder = opts.customDecoder ??
      new TransformerDecoder(new TransformerDecoderLayer(this.dModel, this.nhead, layerOpts), opts.numDecoderLayers ?? 6, { norm: finalNorm() });
    // PyTorch's _reset_parameters: Xavier-uniform for every matrix.
    for (const p of this.parameters()) if (p.ndim > 1) init.xavierUniform_(p);
  }

  forward(src: Tensor, tgt: Tensor, opts: TransformerForwardOptions = {}): Tensor {
    const memory = this.encoder.forward(src, { mask: opts.srcMask, srcKeyPaddingMask: opts.srcKeyPaddingMask, isCausal: opts.srcIsCausal }) as Tensor;
    return this.decoder.forward(tgt, memory, {
      tgtMask: opts.tgtMask, memoryMask: opts.memoryMask, tgtKeyPaddingMask: opts.tgtKeyPaddingMask,
      memoryKeyPaddingMask: opts.memoryKeyPaddingMask, tgtIsCausal: opts.tgtIsCausal, memoryIsCausal: opts.memoryIsCausal,
    }) as Tensor;
  }

  /** [sz, sz] float mask: -Infinity above the diagonal, 0 elsewhere. */
  static generateSquareSubsequentMask(sz: number, opts: { dtype?: 'float32' | 'float64' } = {}): Tensor {
    return generateSquareSubsequentMask(sz, opts);
  }
}
