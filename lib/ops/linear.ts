// linear(input, weight, bias, { activation }) = act(input @ weight^T + bias) as one GEMM whose
// epilogue adds the bias and applies the activation while each tile of the output is still in cache
// (native/kernels/gemm.cpp): no second pass over the output, no intermediate tensor.
//
//   input [..., in]   weight [out, in]   bias [out]   ->   [..., out]
//
// Backward: with g' = g * act'(pre), dInput = g' @ weight, dWeight = g'^T @ input (summed over the
// batch dims), dBias = sum of g'. ReLU's derivative comes from the output; GELU and SiLU need the
// pre-activation, so when a gradient is wanted they run as a fused bias GEMM then the activation op.
// Devices without the epilogue kernel get the same through matmul and add.
import { needsGrad, record } from '../autograd';
import { deviceHas } from '../backend';
import { callee, meta, metaDevice, metaNum, metaView, UnaryOp } from '../native';
import { shapeStr } from '../shape';
import { Tensor } from '../tensor';
import { matmul } from './matmul';
import { ACTIVATION_CODE, activationOption, applyActivation, type Activation } from './activation';
import { unaryGrad } from './unary';
import { empty } from './util';
import { isFloating } from '../dtype';

export type LinearActivation = Activation;

export function linear(input: Tensor, weight: Tensor, bias?: Tensor | null, opts: { activation?: LinearActivation | null } = {}): Tensor {
  const op = 'linear';
  for (const [t, name] of [[input, 'input'], [weight, 'weight']] as const) {
    if (!(t instanceof Tensor)) throw new TypeError(`${op}: expected ${name} to be a Tensor`);
    t._check(op);
  }
  if (bias !== null && bias !== undefined) {
    if (!(bias instanceof Tensor)) throw new TypeError(`${op}: expected bias to be a Tensor`);
    bias._check(op);
  } else bias = null;
  const act = activationOption(op, opts.activation);
  if (weight.ndim !== 2) throw new Error(`${op}: weight must be 2-D [out, in], got ${shapeStr(weight._shape)}`);
  const [outF, inF] = weight._shape;
  if (input.ndim === 0 || input._shape[input.ndim - 1] !== inF) {
    throw new Error(
      `${op}: input ${shapeStr(input._shape)} has ${input.ndim ? input._shape[input.ndim - 1] : 0} features, weight ${shapeStr(weight._shape)} expects ${inF}`,
    );
  }
  if (bias && (bias.ndim !== 1 || bias._shape[0] !== outF)) {
    throw new Error(`${op}: bias must be [${outF}] for weight ${shapeStr(weight._shape)}, got ${shapeStr(bias._shape)}`);
  }
  if (weight.dtype !== input.dtype || (bias && bias.dtype !== input.dtype)) {
    throw new TypeError(`${op}: input (${input.dtype}), weight (${weight.dtype})${bias ? ` and bias (${bias.dtype})` : ''} must share a dtype`);
  }
  const grad = needsGrad(input, weight, ...(bias ? [bias] : []));
  // GELU/SiLU backwards need the pre-activation: keep it as a tensor then.
  const fuseAct = act !== null && (!grad || act === 'relu');
  if (!deviceHas(input.device, 'gemmEpilogue') || !isFloating(input.dtype)) {
    const y = matmul(input, weight.mT());
    const z = bias ? y.add(bias) : y;
    return act ? applyActivation(z, act) : z;
  }
  const pre = fused(input, weight, bias, fuseAct ? act : null, grad);
  return act && !fuseAct ? applyActivation(pre, act) : pre;
}

// The epilogue GEMM and its gradient; `act` is null or one whose derivative needs only the output.
function fused(input: Tensor, weight: Tensor, bias: Tensor | null, act: LinearActivation | null, grad: boolean): Tensor {
  const [outF, inF] = weight._shape;
  const batch = input._shape.slice(0, -1);
  const rows = batch.reduce((a, b) => a * b, 1);
  const x2 = input.ndim === 2 ? input : input.reshape([rows, inF]);
  const out = empty([...batch, outF], input.dtype, input.device);
  try {
    // C = out as [rows, out], A = input as [rows, in], B = weight^T (a transposed view, no copy).
    meta();
    metaDevice(out._storage.backend, out.device);
    metaView(out._storage.handle, out._offset, [rows, outF], [outF, 1]);
    x2._meta();
    metaDevice(weight._storage.backend, weight.device);
    metaView(weight._storage.handle, weight._offset, [inF, outF], [weight._strides[1], weight._strides[0]]);
    metaNum(1, 0, bias ? 1 : 0);
    if (bias) bias._meta();
    metaNum(0, ACTIVATION_CODE[act ?? 'none']);
    callee().gemmEpilogue();
  } finally {
    if (x2 !== input) x2.dispose();
  }
  if (!grad) return out;
  const inputs = bias ? [input, weight, bias] : [input, weight];
  return record(
    out,
    act === 'relu' ? 'LinearReluBackward' : 'LinearBackward',
    inputs,
    (g) => {
      // relu's own backward (one native pass): the output is positive where the pre-activation is.
      const gp = act === 'relu' ? unaryGrad(UnaryOp.Relu, g, out, out) : g;
      const g2 = gp.reshape([rows, outF]);
      const xi = input.reshape([rows, inF]);
      const dx = input.requiresGrad ? g2.matmul(weight).reshape(input._shape.slice()) : null;
      const dw = weight.requiresGrad ? g2.mT().matmul(xi) : null;
      const db = bias && bias.requiresGrad ? g2.sum(0) : null;
      return bias ? [dx, dw, db] : [dx, dw];
    },
    act === 'relu' ? [out] : [],
  );
}
