// Recurrent layers with PyTorch's semantics: nn.RNN (tanh or relu), nn.LSTM (with projections) and
// nn.GRU, stacked and optionally bidirectional, and the single-step cells nn.RNNCell, nn.LSTMCell and
// nn.GRUCell.
//
// Parameters carry PyTorch's exact (snake_case) names, registered by string key, so stateDict()
// exchanges weights with PyTorch checkpoints: weight_ih_l{k}[_reverse] [G*H, I_k], weight_hh_l{k}
// [G*H, P], bias_ih_l{k}, bias_hh_l{k} [G*H], weight_hr_l{k} [P, H] (LSTM with projSize), where G is
// 1 / 4 (i, f, g, o) / 3 (r, z, n) and P = projSize || hiddenSize; all drawn from
// U(-1/sqrt(hiddenSize), 1/sqrt(hiddenSize)). The layers' time loop runs natively, one call per
// layer and direction (lib/ops/rnn.ts).
import { checkDType, isFloating, type Device, type DType } from '../dtype';
import { empty, tensor, zeros } from '../ops/creation';
import { cat, stack } from '../ops/join';
import { rnnGates, rnnLayer, type RnnLayerWeights, type RnnMode } from '../ops/rnn';
import { shapeStr } from '../shape';
import { Tensor } from '../tensor';
import * as F from './functional_basic';
import * as init from './init';
import { Module, parameter } from './module';

export interface RNNBaseOptions {
  /** Stacked layers (default 1). */
  numLayers?: number;
  /** Whether the layers have bias_ih / bias_hh (default true). */
  bias?: boolean;
  /** Input and output as [B, T, features] instead of [T, B, features] (default false). */
  batchFirst?: boolean;
  /** Dropout probability on the outputs of every layer but the last, in training mode (default 0). */
  dropout?: number;
  /** Run a second, reversed direction per layer and concatenate the outputs (default false). */
  bidirectional?: boolean;
  dtype?: DType;
}
export interface RNNOptions extends RNNBaseOptions {
  nonlinearity?: 'tanh' | 'relu';
}
export interface LSTMOptions extends RNNBaseOptions {
  /** Projects h_t to this size with weight_hr (0: no projection); must be below hiddenSize. */
  projSize?: number;
}
export type GRUOptions = RNNBaseOptions;

export interface RNNForwardOptions {
  /**
   * Valid steps per batch element (1..T): later steps give zeros in the output and leave the state
   * alone, so the final states are those at each sequence's last valid step (PyTorch's packed
   * sequences); the reverse direction starts at each sequence's own last valid step.
   */
  lengths?: readonly number[] | Int32Array | Tensor | null;
}

function positiveInt(op: string, name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) throw new RangeError(`${op}: ${name} must be a positive integer, got ${v}`);
  return v;
}

function checkInput(op: string, x: unknown, name: string): Tensor {
  if (!(x instanceof Tensor)) throw new TypeError(`${op}: expected ${name} to be a Tensor, got ${x === null ? 'null' : typeof x}`);
  x._check(op);
  return x;
}

function checkState(op: string, name: string, t: unknown, shape: number[], dtype: DType): Tensor {
  const s = checkInput(op, t, name);
  if (s._shape.length !== shape.length || s._shape.some((v, i) => v !== shape[i])) {
    throw new Error(`${op}: expected ${name} of shape ${shapeStr(shape)}, got ${shapeStr(s._shape)}`);
  }
  if (s.dtype !== dtype) throw new TypeError(`${op}: ${name} is ${s.dtype}, expected ${dtype} (the input's dtype)`);
  return s;
}

/** The lengths option as an int32 tensor [B], each checked to lie in 1..T. */
function lengthsTensor(op: string, v: RNNForwardOptions['lengths'], B: number, T: number, device: Device): Tensor | null {
  if (v === undefined || v === null) return null;
  let values: ArrayLike<number>;
  if (v instanceof Tensor) {
    v._check(op);
    if (v.ndim !== 1) throw new Error(`${op}: lengths must be 1-D [batch], got shape ${shapeStr(v._shape)}`);
    values = v.dataSync() as ArrayLike<number>;
  } else if (Array.isArray(v) || v instanceof Int32Array) {
    values = v;
  } else {
    throw new TypeError(`${op}: lengths must be an array of integers, an Int32Array or a Tensor`);
  }
  if (values.length !== B) throw new Error(`${op}: got ${values.length} lengths for a batch of ${B}`);
  const out = new Int32Array(B);
  for (let b = 0; b < B; b++) {
    const n = Number(values[b]);
    if (!Number.isInteger(n) || n < 1 || n > T) {
      throw new RangeError(`${op}: lengths[${b}] = ${values[b]} must be an integer in 1..${T} (the sequence length)`);
    }
    out[b] = n;
  }
  return tensor(out, { device });
}

/** What stacked recurrent layers share: parameters, argument checks and the layer loop. */
abstract class RNNBase extends Module {
  readonly numLayers: number;
  readonly bias: boolean;
  readonly batchFirst: boolean;
  readonly dropout: number;
  readonly bidirectional: boolean;
  readonly projSize: number;
  /** @internal Parameter names per layer and direction (index layer * numDirections + direction). */
  private readonly _weightNames: string[][] = [];

  constructor(
    /** @internal */ readonly _op: string,
    /** @internal */ readonly _mode: RnnMode,
    readonly inputSize: number,
    readonly hiddenSize: number,
    opts: RNNBaseOptions,
    projSize: number,
  ) {
    super();
    positiveInt(_op, 'inputSize', inputSize);
    positiveInt(_op, 'hiddenSize', hiddenSize);
    this.numLayers = positiveInt(_op, 'numLayers', opts.numLayers ?? 1);
    this.bias = opts.bias ?? true;
    this.batchFirst = opts.batchFirst ?? false;
    this.bidirectional = opts.bidirectional ?? false;
    const p = opts.dropout ?? 0;
    if (typeof p !== 'number' || !(p >= 0 && p <= 1)) {
      throw new RangeError(`${_op}: dropout should be a number in [0, 1] representing the probability of an element being zeroed, got ${p}`);
    }
    this.dropout = p;
    if (!Number.isInteger(projSize) || projSize < 0) throw new RangeError(`${_op}: projSize must be a non-negative integer, got ${projSize}`);
    if (projSize >= hiddenSize) throw new RangeError(`${_op}: projSize (${projSize}) has to be smaller than hiddenSize (${hiddenSize})`);
    this.projSize = projSize;
    const dtype = checkDType(_op, opts.dtype ?? 'float32');
    if (!isFloating(dtype)) throw new TypeError(`${_op}: parameters must be float32 or float64, got ${dtype}`);

    const GH = rnnGates(_mode) * hiddenSize, P = projSize || hiddenSize, D = this.bidirectional ? 2 : 1;
    const bound = 1 / Math.sqrt(hiddenSize);
    const self = this as unknown as Record<string, Tensor>;
    const make = (name: string, shape: number[]): string => {
      self[name] = parameter(init.uniform_(empty(shape, { dtype }), -bound, bound));
      return name;
    };
    for (let l = 0; l < this.numLayers; l++) {
      const inSize = l === 0 ? inputSize : P * D;
      for (let d = 0; d < D; d++) {
        const sfx = `_l${l}${d === 1 ? '_reverse' : ''}`;
        const names = [make(`weight_ih${sfx}`, [GH, inSize]), make(`weight_hh${sfx}`, [GH, P])];
        if (this.bias) names.push(make(`bias_ih${sfx}`, [GH]), make(`bias_hh${sfx}`, [GH]));
        if (projSize > 0) names.push(make(`weight_hr${sfx}`, [P, hiddenSize]));
        this._weightNames.push(names);
      }
    }
  }

  /** The parameters of every layer and direction, in PyTorch's order (as its all_weights). */
  get allWeights(): Tensor[][] {
    const self = this as unknown as Record<string, Tensor>;
    return this._weightNames.map((names) => names.map((n) => self[n]));
  }

  /** No-op (PyTorch compacts cuDNN weights here); kept so ported code runs. */
  flattenParameters(): void {}

  private layerWeights(k: number): RnnLayerWeights {
    const self = this as unknown as Record<string, Tensor>;
    const sfx = `_l${Math.floor(k / (this.bidirectional ? 2 : 1))}${this.bidirectional && k % 2 === 1 ? '_reverse' : ''}`;
    return {
      wIh: self[`weight_ih${sfx}`],
      wHh: self[`weight_hh${sfx}`],
      bIh: this.bias ? self[`bias_ih${sfx}`] : null,
      bHh: this.bias ? self[`bias_hh${sfx}`] : null,
      wHr: this.projSize > 0 ? self[`weight_hr${sfx}`] : null,
    };
  }

  /**
   * Runs every layer and direction. input [T, B, I] ([B, T, I] with batchFirst) or unbatched [T, I];
   * h0 [L*D, B, P] and c0 [L*D, B, H] (no B when unbatched), or null for zeros.
   */
  protected run(input: unknown, h0In: unknown, c0In: unknown, opts: RNNForwardOptions): { output: Tensor; hN: Tensor; cN: Tensor | null } {
    const op = this._op;
    const x0 = checkInput(op, input, 'input');
    const dtype = this.layerWeights(0).wIh.dtype;
    if (x0.dtype !== dtype) {
      throw new TypeError(`${op}: input is ${x0.dtype} but the parameters are ${dtype} (convert one with .to())`);
    }
    if (x0.ndim !== 2 && x0.ndim !== 3) {
      throw new Error(
        `${op}: expected input of 3 dims (${this.batchFirst ? '[B, T, inputSize]' : '[T, B, inputSize]'}) or 2 dims ` +
          `(unbatched [T, inputSize]), got shape ${shapeStr(x0._shape)}`,
      );
    }
    const unbatched = x0.ndim === 2;
    const x = unbatched ? x0.unsqueeze(1) : this.batchFirst ? x0.transpose(0, 1) : x0;
    const [T, B, I] = x._shape;
    if (I !== this.inputSize) {
      throw new Error(`${op}: input ${shapeStr(x0._shape)} has ${I} features, expected inputSize ${this.inputSize}`);
    }
    if (T === 0 || B === 0) throw new Error(`${op}: input ${shapeStr(x0._shape)} is empty (no steps or no batch)`);
    const D = this.bidirectional ? 2 : 1, L = this.numLayers, H = this.hiddenSize, P = this.projSize || H;
    const stateShape = (size: number): number[] => (unbatched ? [L * D, size] : [L * D, B, size]);
    const batched = (t: Tensor | null): Tensor | null => (t && unbatched ? t.unsqueeze(1) : t);
    const h0 = h0In === undefined || h0In === null ? null : batched(checkState(op, 'h0', h0In, stateShape(P), dtype));
    const c0 = c0In === undefined || c0In === null ? null : batched(checkState(op, 'c0', c0In, stateShape(H), dtype));
    const lengths = lengthsTensor(op, opts.lengths, B, T, x.device);

    let layerInput = x;
    const hs: Tensor[] = [], cs: Tensor[] = [];
    try {
      for (let l = 0; l < L; l++) {
        const outs: Tensor[] = [];
        for (let d = 0; d < D; d++) {
          const k = l * D + d;
          const r = rnnLayer(this._mode, layerInput, h0 ? h0.select(0, k) : null, c0 ? c0.select(0, k) : null, this.layerWeights(k), d === 1, lengths);
          outs.push(r.out);
          hs.push(r.hN);
          if (r.cN) cs.push(r.cN);
        }
        let y = D === 2 ? cat(outs, 2) : outs[0];
        if (this.dropout > 0 && l < L - 1) y = F.dropout(y, { p: this.dropout, training: this.training });
        layerInput = y;
      }
    } catch (e) {
      lengths?.dispose();
      throw e;
    }
    // The lengths stay alive while a backward node holds them.
    if (!layerInput.requiresGrad) lengths?.dispose();
    let output = layerInput, hN = stack(hs, 0), cN = cs.length ? stack(cs, 0) : null;
    if (unbatched) {
      output = output.squeeze(1);
      hN = hN.squeeze(1);
      cN = cN ? cN.squeeze(1) : null;
    } else if (this.batchFirst) {
      output = output.transpose(0, 1);
    }
    return { output, hN, cN };
  }

  override extraRepr(): string {
    const parts = [`${this.inputSize}, ${this.hiddenSize}`];
    if (this.projSize) parts.push(`projSize=${this.projSize}`);
    if (this.numLayers !== 1) parts.push(`numLayers=${this.numLayers}`);
    if (!this.bias) parts.push('bias=false');
    if (this.batchFirst) parts.push('batchFirst=true');
    if (this.dropout) parts.push(`dropout=${this.dropout}`);
    if (this.bidirectional) parts.push('bidirectional=true');
    return parts.join(', ');
  }
}

/**
 * Elman RNN: h_t = act(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh), act tanh (default) or relu.
 * forward(input, h0?, { lengths? }) returns [output, hN]: output [T, B, D*H] (the last layer's h_t,
 * both directions concatenated), hN [numLayers*D, B, H].
 */
export class RNN extends RNNBase {
  readonly nonlinearity: 'tanh' | 'relu';
  constructor(inputSize: number, hiddenSize: number, opts: RNNOptions = {}) {
    const nl = opts.nonlinearity ?? 'tanh';
    if (nl !== 'tanh' && nl !== 'relu') throw new Error(`RNN: unknown nonlinearity '${String(nl)}' (expected 'tanh' or 'relu')`);
    super('RNN', nl === 'tanh' ? 'RNN_TANH' : 'RNN_RELU', inputSize, hiddenSize, opts, 0);
    this.nonlinearity = nl;
  }
  forward(input: Tensor, hx?: Tensor | null, opts: RNNForwardOptions = {}): [Tensor, Tensor] {
    const r = this.run(input, hx, null, opts);
    return [r.output, r.hN];
  }
  override extraRepr(): string {
    return super.extraRepr() + (this.nonlinearity === 'relu' ? ", nonlinearity='relu'" : '');
  }
}

/**
 * LSTM with PyTorch's gates i, f, g, o: c_t = f * c_{t-1} + i * g, h_t = o * tanh(c_t) (then
 * h_t = h_t W_hr^T with projSize). forward(input, [h0, c0]?, { lengths? }) returns
 * [output, [hN, cN]]: output [T, B, D*P], hN [numLayers*D, B, P], cN [numLayers*D, B, H].
 */
export class LSTM extends RNNBase {
  constructor(inputSize: number, hiddenSize: number, opts: LSTMOptions = {}) {
    super('LSTM', 'LSTM', inputSize, hiddenSize, opts, opts.projSize ?? 0);
  }
  forward(input: Tensor, hx?: readonly [Tensor, Tensor] | null, opts: RNNForwardOptions = {}): [Tensor, [Tensor, Tensor]] {
    if (hx !== undefined && hx !== null && (!Array.isArray(hx) || hx.length !== 2)) {
      throw new TypeError('LSTM: hx must be a pair [h0, c0]');
    }
    const r = this.run(input, hx ? hx[0] : null, hx ? hx[1] : null, opts);
    return [r.output, [r.hN, r.cN!]];
  }
}

/**
 * GRU with PyTorch's gates r, z, n: n = tanh(W_in x + b_in + r * (W_hn h + b_hn)),
 * h_t = (1 - z) * n + z * h_{t-1}. forward(input, h0?, { lengths? }) returns [output, hN].
 */
export class GRU extends RNNBase {
  constructor(inputSize: number, hiddenSize: number, opts: GRUOptions = {}) {
    super('GRU', 'GRU', inputSize, hiddenSize, opts, 0);
  }
  forward(input: Tensor, hx?: Tensor | null, opts: RNNForwardOptions = {}): [Tensor, Tensor] {
    const r = this.run(input, hx, null, opts);
    return [r.output, r.hN];
  }
}

// ---- cells: one step, composed from tensor ops ----------------------------------------------------

export interface RNNCellOptions {
  bias?: boolean;
  dtype?: DType;
}

abstract class RNNCellBase extends Module {
  readonly bias: boolean;
  constructor(readonly _op: string, readonly inputSize: number, readonly hiddenSize: number, gates: number, opts: RNNCellOptions) {
    super();
    positiveInt(_op, 'inputSize', inputSize);
    positiveInt(_op, 'hiddenSize', hiddenSize);
    this.bias = opts.bias ?? true;
    const dtype = checkDType(_op, opts.dtype ?? 'float32');
    if (!isFloating(dtype)) throw new TypeError(`${_op}: parameters must be float32 or float64, got ${dtype}`);
    const bound = 1 / Math.sqrt(hiddenSize);
    const self = this as unknown as Record<string, Tensor | null>;
    const make = (shape: number[]): Tensor => parameter(init.uniform_(empty(shape, { dtype }), -bound, bound));
    self.weight_ih = make([gates * hiddenSize, inputSize]);
    self.weight_hh = make([gates * hiddenSize, hiddenSize]);
    self.bias_ih = this.bias ? make([gates * hiddenSize]) : null;
    self.bias_hh = this.bias ? make([gates * hiddenSize]) : null;
  }

  /** @internal [weight_ih, weight_hh, bias_ih, bias_hh] */
  protected params(): [Tensor, Tensor, Tensor | null, Tensor | null] {
    const self = this as unknown as Record<string, Tensor | null>;
    return [self.weight_ih!, self.weight_hh!, self.bias_ih, self.bias_hh];
  }

  /** Checks input [B, I] or [I] and a state [B, H] / [H] (null: zeros); returns them batched. */
  protected prepare(input: unknown, state: unknown, name: string): { x: Tensor; h: Tensor; unbatched: boolean } {
    const op = this._op;
    const x0 = checkInput(op, input, 'input');
    const dtype = this.params()[0].dtype;
    if (x0.dtype !== dtype) throw new TypeError(`${op}: input is ${x0.dtype} but the parameters are ${dtype}`);
    if ((x0.ndim !== 1 && x0.ndim !== 2) || x0._shape[x0.ndim - 1] !== this.inputSize) {
      throw new Error(`${op}: expected input [B, ${this.inputSize}] or [${this.inputSize}], got ${shapeStr(x0._shape)}`);
    }
    const unbatched = x0.ndim === 1;
    const x = unbatched ? x0.unsqueeze(0) : x0;
    const B = x._shape[0];
    const shape = unbatched ? [this.hiddenSize] : [B, this.hiddenSize];
    const h = state === undefined || state === null ? zeros([B, this.hiddenSize], { dtype }) : checkState(op, name, state, shape, dtype);
    return { x, h: unbatched && h.ndim === 1 ? h.unsqueeze(0) : h, unbatched };
  }

  /** x W_ih^T + b_ih and h W_hh^T + b_hh. */
  protected projections(x: Tensor, h: Tensor): [Tensor, Tensor] {
    const [wIh, wHh, bIh, bHh] = this.params();
    return [F.linear(x, wIh, bIh), F.linear(h, wHh, bHh)];
  }

  override extraRepr(): string {
    return `${this.inputSize}, ${this.hiddenSize}${this.bias ? '' : ', bias=false'}`;
  }
}

/** One step of an Elman RNN: h' = act(x W_ih^T + b_ih + h W_hh^T + b_hh). forward(input, hx?) -> h'. */
export class RNNCell extends RNNCellBase {
  readonly nonlinearity: 'tanh' | 'relu';
  constructor(inputSize: number, hiddenSize: number, opts: RNNCellOptions & { nonlinearity?: 'tanh' | 'relu' } = {}) {
    super('RNNCell', inputSize, hiddenSize, 1, opts);
    const nl = opts.nonlinearity ?? 'tanh';
    if (nl !== 'tanh' && nl !== 'relu') throw new Error(`RNNCell: unknown nonlinearity '${String(nl)}' (expected 'tanh' or 'relu')`);
    this.nonlinearity = nl;
  }
  forward(input: Tensor, hx?: Tensor | null): Tensor {
    const { x, h, unbatched } = this.prepare(input, hx, 'hx');
    const [gi, gh] = this.projections(x, h);
    const pre = gi.add(gh);
    const out = this.nonlinearity === 'tanh' ? pre.tanh() : pre.relu();
    return unbatched ? out.squeeze(0) : out;
  }
}

/** One LSTM step. forward(input, [h, c]?) -> [h', c']. */
export class LSTMCell extends RNNCellBase {
  constructor(inputSize: number, hiddenSize: number, opts: RNNCellOptions = {}) {
    super('LSTMCell', inputSize, hiddenSize, 4, opts);
  }
  forward(input: Tensor, hx?: readonly [Tensor, Tensor] | null): [Tensor, Tensor] {
    if (hx !== undefined && hx !== null && (!Array.isArray(hx) || hx.length !== 2)) {
      throw new TypeError('LSTMCell: hx must be a pair [h, c]');
    }
    const { x, h, unbatched } = this.prepare(input, hx ? hx[0] : null, 'h');
    const c = hx ? this.prepare(input, hx[1], 'c').h : zeros(h._shape.slice(), { dtype: h.dtype });
    const [gi, gh] = this.projections(x, h);
    const [i, f, g, o] = gi.add(gh).chunk(4, 1);
    const c2 = f.sigmoid().mul(c).add(i.sigmoid().mul(g.tanh()));
    const h2 = o.sigmoid().mul(c2.tanh());
    return unbatched ? [h2.squeeze(0), c2.squeeze(0)] : [h2, c2];
  }
}

/** One GRU step: n = tanh(W_in x + b_in + r * (W_hn h + b_hn)), h' = (1 - z) * n + z * h. forward(input, hx?) -> h'. */
export class GRUCell extends RNNCellBase {
  constructor(inputSize: number, hiddenSize: number, opts: RNNCellOptions = {}) {
    super('GRUCell', inputSize, hiddenSize, 3, opts);
  }
  forward(input: Tensor, hx?: Tensor | null): Tensor {
    const { x, h, unbatched } = this.prepare(input, hx, 'hx');
    const [gi, gh] = this.projections(x, h);
    const [ir, iz, inn] = gi.chunk(3, 1);
    const [hr, hz, hn] = gh.chunk(3, 1);
    const r = ir.add(hr).sigmoid(), z = iz.add(hz).sigmoid();
    const n = inn.add(r.mul(hn)).tanh();
    const out = n.add(z.mul(h.sub(n)));
    return unbatched ? out.squeeze(0) : out;
  }
}
