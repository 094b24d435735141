// dtype conversion: to(dtype) and its shorthands. Between floating types the gradient is cast back.
import { record } from '../autograd';
import { checkDType, isFloating, type DType } from '../dtype';
import { meta, native } from '../native';
import { Tensor } from '../tensor';
import { empty } from './util';

/** A copy in another dtype (the tensor itself when the dtype already matches, as PyTorch). */
export function to(x: Tensor, dtypeOrDevice: DType | 'cpu', opts: { copy?: boolean } = {}): Tensor {
  const op = 'to';
  x._check(op);
  if (dtypeOrDevice === 'cpu') return opts.copy ? x.clone() : x;
  if ((dtypeOrDevice as string) === 'cuda' || (dtypeOrDevice as string) === 'auto') {
    throw new Error(`${op}: device '${dtypeOrDevice}' is not available: this build of tensorforge has no CUDA backend yet`);
  }
  const dtype = checkDType(op, dtypeOrDevice);
  if (dtype === x.dtype && !opts.copy) return x;
  const out = empty(x._shape.slice(), dtype);
  meta();
  out._meta();
  x._meta();
  native.copy();
  if (!isFloating(dtype) || !isFloating(x.dtype)) return out;
  const from = x.dtype;
  return record(out, 'ToCopyBackward', [x], (g) => [g.to(from)]);
}
