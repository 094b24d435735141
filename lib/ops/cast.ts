// dtype and device conversion: to(dtype), to(device) and their shorthands. Between floating types
// the gradient is cast back; across devices it is copied back.
import { record } from '../autograd';
import { backendFor, parseDevice } from '../backend';
import { checkDType, isFloating, type Device, type DType } from '../dtype';
import { Tensor } from '../tensor';
import { contiguousRaw } from './views';

const DEVICE_NAMES = ['cpu', 'cuda', 'cuda:0', 'auto'];

/** A copy of x on `device` (x itself when it is there already); differentiable (the gradient goes back). */
export function toDevice(x: Tensor, device: Device, op = 'to'): Tensor {
  x._check(op);
  if (x.device === device) return x;
  backendFor(device, op);  // an Error naming the op when the device is unusable
  const host = x._rawSync(op);  // a contiguous host copy, from either device
  const out = Tensor._empty(x._shape.slice(), x.dtype, false, device);
  if (host.length > 0) out._storage.backend.write(out._storage.handle, 0, host);
  if (!isFloating(x.dtype)) return out;
  const from = x.device;
  return record(out, 'ToCopyBackward', [x], (g) => [toDevice(g, from)]);
}

/**
 * A copy in another dtype, or on another device ('cpu', 'cuda', 'auto'); the tensor itself when it
 * already matches, as PyTorch.
 */
export function to(x: Tensor, dtypeOrDevice: DType | Device | 'auto' | 'cuda:0', opts: { copy?: boolean } = {}): Tensor {
  const op = 'to';
  x._check(op);
  if (DEVICE_NAMES.includes(dtypeOrDevice)) {
    const device = parseDevice(op, dtypeOrDevice);
    if (device !== x.device) return toDevice(x, device, op);
    return opts.copy ? x.clone() : x;
  }
  const dtype = checkDType(op, dtypeOrDevice);
  if (dtype === x.dtype && !opts.copy) return x;
  const out = contiguousRaw(x, dtype);
  if (!isFloating(dtype) || !isFloating(x.dtype)) return out;
  const from = x.dtype;
  return record(out, 'ToCopyBackward', [x], (g) => [g.to(from)]);
}
