// The activations a kernel can apply to its own output as it writes it (native/kernels/activation.h):
// the GEMM epilogue of linear, and the convolutions' forward kernels. Codes match kernel_types.h.
import { gelu, relu, silu } from './unary';
import type { Tensor } from '../tensor';

export type Activation = 'relu' | 'gelu' | 'gelu-tanh' | 'silu';
export const ACTIVATION_CODE: Record<Activation | 'none', number> = { none: 0, relu: 1, gelu: 2, 'gelu-tanh': 3, silu: 4 };

/** The activation named by an op's options, or null; throws on an unknown name. */
export function activationOption(op: string, act: Activation | null | undefined): Activation | null {
  if (act === null || act === undefined) return null;
  if (typeof act !== 'string' || (act as string) === 'none' || !(act in ACTIVATION_CODE)) {
    throw new Error(`${op}: unknown activation '${String(act)}' (relu, gelu, gelu-tanh, silu)`);
  }
  return act;
}

/** The same activation as a separate op (where a kernel cannot fuse it, or its backward needs the input). */
export function applyActivation(x: Tensor, act: Activation): Tensor {
  switch (act) {
    case 'relu': return relu(x);
    case 'gelu': return gelu(x);
    case 'gelu-tanh': return gelu(x, { approximate: 'tanh' });
    default: return silu(x);
  }
}
