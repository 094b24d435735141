// Tensor methods: each forwards to the op function of the same name in lib/ops/, so the op's code
// (forward and backward) lives in one place and `x.add(y)` and `add(x, y)` are the same call.
import { backward as runBackward, type BackwardOptions } from './autograd';
import type { Device, DType } from './dtype';
import { formatTensor } from './format';
import * as B from './ops/binary';
import { to } from './ops/cast';
import * as I from './ops/inplace';
import * as X from './ops/indexing';
import * as J from './ops/join';
import * as M from './ops/matmul';
import * as K from './ops/masking';
import * as R from './ops/reduce';
import * as S from './ops/softmax';
import * as U from './ops/unary';
import * as V from './ops/views';
import { Tensor } from './tensor';

type Operand = Tensor | number | boolean;
type Dims = R.Dims;

declare module './tensor' {
  interface Tensor {
    add(other: Operand, opts?: { alpha?: number }): Tensor;
    sub(other: Operand, opts?: { alpha?: number }): Tensor;
    mul(other: Operand): Tensor;
    div(other: Operand): Tensor;
    pow(exponent: Operand): Tensor;
    remainder(other: Operand): Tensor;
    atan2(other: Operand): Tensor;
    maximum(other: Operand): Tensor;
    minimum(other: Operand): Tensor;
    eq(other: Operand): Tensor;
    ne(other: Operand): Tensor;
    lt(other: Operand): Tensor;
    le(other: Operand): Tensor;
    gt(other: Operand): Tensor;
    ge(other: Operand): Tensor;
    logicalAnd(other: Operand): Tensor;
    logicalOr(other: Operand): Tensor;
    logicalNot(): Tensor;
    /** where(cond, this, other), as Tensor.where in PyTorch. */
    where(condition: Tensor, other: Operand): Tensor;
    /** this with value where mask is true (Tensor.masked_fill). */
    maskedFill(mask: Tensor, value: number): Tensor;
    tril(diagonal?: number): Tensor;
    triu(diagonal?: number): Tensor;

    neg(): Tensor;
    abs(): Tensor;
    exp(): Tensor;
    log(): Tensor;
    log1p(): Tensor;
    expm1(): Tensor;
    sqrt(): Tensor;
    rsqrt(): Tensor;
    square(): Tensor;
    reciprocal(): Tensor;
    sin(): Tensor;
    cos(): Tensor;
    tanh(): Tensor;
    sigmoid(): Tensor;
    relu(): Tensor;
    gelu(opts?: { approximate?: 'none' | 'tanh' }): Tensor;
    silu(): Tensor;
    leakyRelu(negativeSlope?: number): Tensor;
    sign(): Tensor;
    floor(): Tensor;
    ceil(): Tensor;
    round(): Tensor;
    clamp(min?: number | null, max?: number | null): Tensor;

    sum(dim?: Dims, opts?: R.ReduceOptions): Tensor;
    mean(dim?: Dims, opts?: R.ReduceOptions): Tensor;
    prod(dim?: Dims, opts?: R.ReduceOptions): Tensor;
    max(dim?: Dims, opts?: R.ReduceOptions): Tensor;
    min(dim?: Dims, opts?: R.ReduceOptions): Tensor;
    amax(dim?: Dims, opts?: R.ReduceOptions): Tensor;
    amin(dim?: Dims, opts?: R.ReduceOptions): Tensor;
    argmax(dim?: number | null, opts?: R.ReduceOptions): Tensor;
    argmin(dim?: number | null, opts?: R.ReduceOptions): Tensor;
    var(dim?: Dims, opts?: R.VarOptions): Tensor;
    std(dim?: Dims, opts?: R.VarOptions): Tensor;
    logsumexp(dim: Dims, opts?: R.ReduceOptions): Tensor;
    any(dim?: Dims, opts?: R.ReduceOptions): Tensor;
    all(dim?: Dims, opts?: R.ReduceOptions): Tensor;
    softmax(dim: number): Tensor;
    logSoftmax(dim: number): Tensor;

    matmul(other: Tensor): Tensor;
    mm(other: Tensor): Tensor;
    bmm(other: Tensor): Tensor;
    /** Transpose of the last two dims. */
    mT(): Tensor;
    t(): Tensor;

    reshape(shape: readonly number[]): Tensor;
    reshape(...shape: number[]): Tensor;
    view(shape: readonly number[]): Tensor;
    view(...shape: number[]): Tensor;
    contiguous(): Tensor;
    clone(): Tensor;
    permute(dims: readonly number[]): Tensor;
    permute(...dims: number[]): Tensor;
    transpose(dim0: number, dim1: number): Tensor;
    narrow(dim: number, start: number, length: number): Tensor;
    slice(dim: number, start?: number | null, end?: number | null, step?: number): Tensor;
    select(dim: number, index: number): Tensor;
    expand(shape: readonly number[]): Tensor;
    expand(...shape: number[]): Tensor;
    broadcastTo(shape: readonly number[]): Tensor;
    expandAs(other: Tensor): Tensor;
    squeeze(dim?: number | number[]): Tensor;
    unsqueeze(dim: number): Tensor;
    flatten(startDim?: number, endDim?: number): Tensor;
    unflatten(dim: number, sizes: readonly number[]): Tensor;
    split(splitSizeOrSections: number | readonly number[], dim?: number): Tensor[];
    chunk(chunks: number, dim?: number): Tensor[];
    unbind(dim?: number): Tensor[];

    gather(dim: number, index: Tensor): Tensor;
    indexSelect(dim: number, index: Tensor): Tensor;
    scatterAdd(dim: number, index: Tensor, src: Tensor): Tensor;
    indexAdd(dim: number, index: Tensor, source: Tensor, opts?: { alpha?: number }): Tensor;

    /** A copy in another dtype or on another device ('cpu', 'cuda', 'auto'); this tensor when it matches. */
    to(dtypeOrDevice: DType | Device | 'auto' | 'cuda:0', opts?: { copy?: boolean }): Tensor;
    /** to('cuda') */
    cuda(): Tensor;
    /** to('cpu') */
    cpu(): Tensor;
    float(): Tensor;
    double(): Tensor;
    /** to('float16') */
    half(): Tensor;
    /** to('bfloat16') */
    bfloat16(): Tensor;
    int(): Tensor;
    bool(): Tensor;
    /** A view that shares memory but is cut from the graph. */
    detach(): Tensor;

    copy_(src: Tensor | number): this;
    fill_(value: number | boolean): this;
    zero_(): this;
    add_(other: Tensor | number, opts?: { alpha?: number }): this;
    sub_(other: Tensor | number, opts?: { alpha?: number }): this;
    mul_(other: Tensor | number): this;
    div_(other: Tensor | number): this;
    clamp_(min?: number | null, max?: number | null): this;

    /** Computes gradients of this tensor w.r.t. the graph's leaves (see autograd.backward). */
    backward(gradient?: Tensor | null, opts?: BackwardOptions): void;
    toString(): string;
  }
}

// Accepts `f([2, 3])` and `f(2, 3)` alike.
const shapeArgs = (args: unknown[]): number[] =>
  (args.length === 1 && Array.isArray(args[0]) ? args[0] : args) as number[];

const P = Tensor.prototype;
Object.assign(P, {
  add(this: Tensor, o: Operand, opts?: { alpha?: number }) { return B.add(this, o, opts); },
  sub(this: Tensor, o: Operand, opts?: { alpha?: number }) { return B.sub(this, o, opts); },
  mul(this: Tensor, o: Operand) { return B.mul(this, o); },
  div(this: Tensor, o: Operand) { return B.div(this, o); },
  pow(this: Tensor, e: Operand) { return typeof e === 'number' ? U.powScalar(this, e) : B.pow(this, e); },
  remainder(this: Tensor, o: Operand) { return B.remainder(this, o); },
  atan2(this: Tensor, o: Operand) { return B.atan2(this, o); },
  maximum(this: Tensor, o: Operand) { return B.maximum(this, o); },
  minimum(this: Tensor, o: Operand) { return B.minimum(this, o); },
  eq(this: Tensor, o: Operand) { return B.eq(this, o); },
  ne(this: Tensor, o: Operand) { return B.ne(this, o); },
  lt(this: Tensor, o: Operand) { return B.lt(this, o); },
  le(this: Tensor, o: Operand) { return B.le(this, o); },
  gt(this: Tensor, o: Operand) { return B.gt(this, o); },
  ge(this: Tensor, o: Operand) { return B.ge(this, o); },
  logicalAnd(this: Tensor, o: Operand) { return B.logicalAnd(this, o); },
  logicalOr(this: Tensor, o: Operand) { return B.logicalOr(this, o); },
  logicalNot(this: Tensor) { return U.logicalNot(this); },
  where(this: Tensor, cond: Tensor, other: Operand) { return B.where(cond, this, other); },
  maskedFill(this: Tensor, mask: Tensor, value: number) { return K.maskedFill(this, mask, value); },
  tril(this: Tensor, diagonal?: number) { return K.tril(this, diagonal); },
  triu(this: Tensor, diagonal?: number) { return K.triu(this, diagonal); },

  neg(this: Tensor) { return U.neg(this); },
  abs(this: Tensor) { return U.abs(this); },
  exp(this: Tensor) { return U.exp(this); },
  log(this: Tensor) { return U.log(this); },
  log1p(this: Tensor) { return U.log1p(this); },
  expm1(this: Tensor) { return U.expm1(this); },
  sqrt(this: Tensor) { return U.sqrt(this); },
  rsqrt(this: Tensor) { return U.rsqrt(this); },
  square(this: Tensor) { return U.square(this); },
  reciprocal(this: Tensor) { return U.reciprocal(this); },
  sin(this: Tensor) { return U.sin(this); },
  cos(this: Tensor) { return U.cos(this); },
  tanh(this: Tensor) { return U.tanh(this); },
  sigmoid(this: Tensor) { return U.sigmoid(this); },
  relu(this: Tensor) { return U.relu(this); },
  gelu(this: Tensor, opts?: { approximate?: 'none' | 'tanh' }) { return U.gelu(this, opts); },
  silu(this: Tensor) { return U.silu(this); },
  leakyRelu(this: Tensor, slope?: number) { return U.leakyRelu(this, slope); },
  sign(this: Tensor) { return U.sign(this); },
  floor(this: Tensor) { return U.floor(this); },
  ceil(this: Tensor) { return U.ceil(this); },
  round(this: Tensor) { return U.round(this); },
  clamp(this: Tensor, lo?: number | null, hi?: number | null) { return U.clamp(this, lo, hi); },

  sum(this: Tensor, dim?: Dims, opts?: R.ReduceOptions) { return R.sum(this, dim, opts); },
  mean(this: Tensor, dim?: Dims, opts?: R.ReduceOptions) { return R.mean(this, dim, opts); },
  prod(this: Tensor, dim?: Dims, opts?: R.ReduceOptions) { return R.prod(this, dim, opts); },
  max(this: Tensor, dim?: Dims, opts?: R.ReduceOptions) { return R.max(this, dim, opts); },
  min(this: Tensor, dim?: Dims, opts?: R.ReduceOptions) { return R.min(this, dim, opts); },
  amax(this: Tensor, dim?: Dims, opts?: R.ReduceOptions) { return R.amax(this, dim, opts); },
  amin(this: Tensor, dim?: Dims, opts?: R.ReduceOptions) { return R.amin(this, dim, opts); },
  argmax(this: Tensor, dim?: number | null, opts?: R.ReduceOptions) { return R.argmax(this, dim, opts); },
  argmin(this: Tensor, dim?: number | null, opts?: R.ReduceOptions) { return R.argmin(this, dim, opts); },
  var(this: Tensor, dim?: Dims, opts?: R.VarOptions) { return R.variance(this, dim, opts); },
  std(this: Tensor, dim?: Dims, opts?: R.VarOptions) { return R.std(this, dim, opts); },
  logsumexp(this: Tensor, dim: Dims, opts?: R.ReduceOptions) { return R.logsumexp(this, dim, opts); },
  any(this: Tensor, dim?: Dims, opts?: R.ReduceOptions) { return R.any(this, dim, opts); },
  all(this: Tensor, dim?: Dims, opts?: R.ReduceOptions) { return R.all(this, dim, opts); },
  softmax(this: Tensor, dim: number) { return S.softmax(this, dim); },
  logSoftmax(this: Tensor, dim: number) { return S.logSoftmax(this, dim); },

  matmul(this: Tensor, o: Tensor) { return M.matmul(this, o); },
  mm(this: Tensor, o: Tensor) { return M.mm(this, o); },
  bmm(this: Tensor, o: Tensor) { return M.bmm(this, o); },
  mT(this: Tensor) { return M.mT(this); },
  t(this: Tensor) { return V.t(this); },

  reshape(this: Tensor, ...s: unknown[]) { return V.reshape(this, shapeArgs(s)); },
  view(this: Tensor, ...s: unknown[]) { return V.view(this, shapeArgs(s)); },
  contiguous(this: Tensor) { return V.contiguous(this); },
  clone(this: Tensor) { return V.clone(this); },
  permute(this: Tensor, ...d: unknown[]) { return V.permute(this, shapeArgs(d)); },
  transpose(this: Tensor, a: number, b: number) { return V.transpose(this, a, b); },
  narrow(this: Tensor, d: number, start: number, len: number) { return V.narrow(this, d, start, len); },
  slice(this: Tensor, d: number, s?: number | null, e?: number | null, step?: number) { return V.slice(this, d, s, e, step); },
  select(this: Tensor, d: number, i: number) { return V.select(this, d, i); },
  expand(this: Tensor, ...s: unknown[]) { return V.expand(this, shapeArgs(s)); },
  broadcastTo(this: Tensor, s: readonly number[]) { return V.expand(this, s); },
  expandAs(this: Tensor, o: Tensor) { return V.expand(this, o._shape); },
  squeeze(this: Tensor, d?: number | number[]) { return V.squeeze(this, d); },
  unsqueeze(this: Tensor, d: number) { return V.unsqueeze(this, d); },
  flatten(this: Tensor, s?: number, e?: number) { return V.flatten(this, s, e); },
  unflatten(this: Tensor, d: number, sizes: readonly number[]) { return V.unflatten(this, d, sizes); },
  split(this: Tensor, s: number | readonly number[], d?: number) { return J.split(this, s, d); },
  chunk(this: Tensor, c: number, d?: number) { return J.chunk(this, c, d); },
  unbind(this: Tensor, d?: number) { return J.unbind(this, d); },

  gather(this: Tensor, d: number, i: Tensor) { return X.gather(this, d, i); },
  indexSelect(this: Tensor, d: number, i: Tensor) { return X.indexSelect(this, d, i); },
  scatterAdd(this: Tensor, d: number, i: Tensor, s: Tensor) { return X.scatterAdd(this, d, i, s); },
  indexAdd(this: Tensor, d: number, i: Tensor, s: Tensor, opts?: { alpha?: number }) { return X.indexAdd(this, d, i, s, opts); },

  to(this: Tensor, d: DType | Device | 'auto' | 'cuda:0', opts?: { copy?: boolean }) { return to(this, d, opts); },
  cuda(this: Tensor) { return to(this, 'cuda'); },
  cpu(this: Tensor) { return to(this, 'cpu'); },
  float(this: Tensor) { return to(this, 'float32'); },
  double(this: Tensor) { return to(this, 'float64'); },
  half(this: Tensor) { return to(this, 'float16'); },
  bfloat16(this: Tensor) { return to(this, 'bfloat16'); },
  int(this: Tensor) { return to(this, 'int32'); },
  bool(this: Tensor) { return to(this, 'bool'); },
  detach(this: Tensor) { return this._view(this._shape.slice(), this._strides.slice(), this._offset); },

  copy_(this: Tensor, src: Tensor | number) { return I.copy_(this, src); },
  fill_(this: Tensor, v: number | boolean) { return I.fill_(this, v); },
  zero_(this: Tensor) { return I.zero_(this); },
  add_(this: Tensor, o: Tensor | number, opts?: { alpha?: number }) { return I.add_(this, o, opts); },
  sub_(this: Tensor, o: Tensor | number, opts?: { alpha?: number }) { return I.sub_(this, o, opts); },
  mul_(this: Tensor, o: Tensor | number) { return I.mul_(this, o); },
  div_(this: Tensor, o: Tensor | number) { return I.div_(this, o); },
  clamp_(this: Tensor, lo?: number | null, hi?: number | null) { return I.clamp_(this, lo, hi); },

  backward(this: Tensor, gradient?: Tensor | null, opts?: BackwardOptions) { runBackward(this, gradient, opts); },
  toString(this: Tensor) { return formatTensor(this); },
});

// Node's util.inspect (console.log) shows the PyTorch-style text too.
Object.defineProperty(P, Symbol.for('nodejs.util.inspect.custom'), {
  value(this: Tensor) {
    return formatTensor(this);
  },
});
