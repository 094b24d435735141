// nn.Module: the base of every layer. Like PyTorch, parameters and submodules are registered by
// assignment: any own property holding a Parameter (a tensor made by `new Parameter(...)` or
// `parameter(...)`) or a Module is found by parameters()/children() in assignment order; buffers
// (running statistics) are registered with registerBuffer so stateDict() includes them.
import { noGrad } from '../autograd';
import { parseDevice } from '../backend';
import { DTYPES, isFloating, type Device, type DType } from '../dtype';
import { keep, retargetTensor } from '../memory';
import { toDevice } from '../ops/cast';
import { shapeStr, sameShape } from '../shape';
import { Tensor } from '../tensor';

const PARAMETER = Symbol('tensorforge.parameter');

/** Marks a tensor as a module parameter (requiresGrad on, kept out of tidy scopes) and returns it. */
export function parameter(t: Tensor, requiresGrad = true): Tensor {
  if (!(t instanceof Tensor)) throw new TypeError('parameter: expected a Tensor');
  const p = t.isLeaf ? t : noGrad(() => t.detach());
  if (requiresGrad) p.requiresGrad_(true);
  (p as unknown as Record<symbol, boolean>)[PARAMETER] = true;
  return keep(p);
}

export function isParameter(v: unknown): v is Tensor {
  return v instanceof Tensor && (v as unknown as Record<symbol, boolean>)[PARAMETER] === true;
}

export type StateDict = Record<string, Tensor>;

export interface LoadStateDictResult {
  missingKeys: string[];
  unexpectedKeys: string[];
}

// Gives t (contiguous after the move) the storage of a copy on `device`.
// Points t at `moved`'s storage (a converted copy of it), so parameters keep their identity through
// module.to(), as in PyTorch: optimizers built before still hold them.
function replaceStorage(t: Tensor, moved: Tensor): void {
  retargetTensor(t, t._storage, moved._storage);
  t._storage = moved._storage;
  t._strides = moved._strides.slice();
  t._offset = 0;
  (t as { dtype: DType }).dtype = moved.dtype;
  moved.dispose();
}
function moveInPlace(t: Tensor, device: Device): void {
  if (t.device !== device) replaceStorage(t, noGrad(() => toDevice(t, device, 'Module.to')));
}
// Only floating tensors change dtype (an int32 buffer stays int32), as in PyTorch.
function castInPlace(t: Tensor, dtype: DType): void {
  if (isFloating(t.dtype) && t.dtype !== dtype) replaceStorage(t, noGrad(() => t.to(dtype)));
}

export abstract class Module {
  /** Training mode (dropout active, batch norm uses batch statistics); see train()/eval(). */
  training = true;
  /** @internal Names of the own properties that are buffers. */
  private readonly _buffers = new Set<string>();

  abstract forward(...inputs: unknown[]): unknown;

  /** Registers (or replaces) a buffer: state that is saved but not trained, e.g. running means. */
  registerBuffer(name: string, tensor: Tensor | null): void {
    this._buffers.add(name);
    if (tensor) keep(tensor);
    (this as unknown as Record<string, unknown>)[name] = tensor;
  }

  /** Direct submodules, with their names, in assignment order. */
  *namedChildren(): Generator<[string, Module]> {
    for (const [k, v] of Object.entries(this)) {
      if (v instanceof Module) yield [k, v];
      else if (Array.isArray(v)) {
        for (let i = 0; i < v.length; i++) if (v[i] instanceof Module) yield [`${k}.${i}`, v[i]];
      }
    }
  }
  *children(): Generator<Module> {
    for (const [, m] of this.namedChildren()) yield m;
  }
  /** This module and every descendant, depth first. */
  *namedModules(prefix = ''): Generator<[string, Module]> {
    yield [prefix, this];
    for (const [name, child] of this.namedChildren()) yield* child.namedModules(prefix ? `${prefix}.${name}` : name);
  }
  *modules(): Generator<Module> {
    for (const [, m] of this.namedModules()) yield m;
  }

  /** Own parameters (not recursive), in assignment order. */
  private *ownParameters(): Generator<[string, Tensor]> {
    for (const [k, v] of Object.entries(this)) if (isParameter(v)) yield [k, v];
  }

  *namedParameters(prefix = ''): Generator<[string, Tensor]> {
    const seen = new Set<Tensor>();
    for (const [modName, m] of this.namedModules(prefix)) {
      for (const [k, p] of m.ownParameters()) {
        if (seen.has(p)) continue; // shared (tied) parameters are listed once, as PyTorch
        seen.add(p);
        yield [modName ? `${modName}.${k}` : k, p];
      }
    }
  }
  /** Every parameter of this module and its descendants (what an optimizer takes). */
  parameters(): Tensor[] {
    return [...this.namedParameters()].map(([, p]) => p);
  }

  *namedBuffers(prefix = ''): Generator<[string, Tensor]> {
    for (const [modName, m] of this.namedModules(prefix)) {
      for (const k of m._buffers) {
        const b = (m as unknown as Record<string, unknown>)[k];
        if (b instanceof Tensor) yield [modName ? `${modName}.${k}` : k, b];
      }
    }
  }
  buffers(): Tensor[] {
    return [...this.namedBuffers()].map(([, b]) => b);
  }

  /** Sets training mode on this module and its descendants. */
  train(mode = true): this {
    for (const m of this.modules()) m.training = mode;
    return this;
  }
  eval(): this {
    return this.train(false);
  }

  /** Drops every parameter's gradient (setToNone, the PyTorch 2 default) or zeroes it in place. */
  zeroGrad(opts: { setToNone?: boolean } = {}): void {
    const setToNone = opts.setToNone ?? true;
    for (const p of this.parameters()) {
      if (!p.grad) continue;
      if (setToNone) {
        p.grad.dispose();
        p.grad = null;
      } else noGrad(() => p.grad!.zero_());
    }
  }

  /** Parameters and buffers by dotted name. The tensors are the module's own (not copies). */
  stateDict(): StateDict {
    const out: StateDict = {};
    for (const [k, p] of this.namedParameters()) out[k] = p;
    for (const [k, b] of this.namedBuffers()) out[k] = b;
    return out;
  }

  /**
   * Copies values from a state dict into this module's parameters and buffers. With strict (the
   * default) any missing or unexpected key is an Error listing them all; a shape mismatch always is.
   */
  loadStateDict(state: StateDict, opts: { strict?: boolean } = {}): LoadStateDictResult {
    const strict = opts.strict ?? true;
    const own = this.stateDict();
    const missingKeys = Object.keys(own).filter((k) => !(k in state));
    const unexpectedKeys = Object.keys(state).filter((k) => !(k in own));
    const mismatched: string[] = [];
    for (const [k, t] of Object.entries(own)) {
      const src = state[k];
      if (src === undefined) continue;
      if (!(src instanceof Tensor)) throw new TypeError(`loadStateDict: entry '${k}' is not a Tensor`);
      if (!sameShape(src._shape, t._shape)) {
        mismatched.push(`${k}: checkpoint ${shapeStr(src._shape)} vs model ${shapeStr(t._shape)}`);
      }
    }
    const problems: string[] = [];
    if (mismatched.length) problems.push(`size mismatch for ${mismatched.join('; ')}`);
    if (strict && missingKeys.length) problems.push(`missing keys: ${missingKeys.join(', ')}`);
    if (strict && unexpectedKeys.length) problems.push(`unexpected keys: ${unexpectedKeys.join(', ')}`);
    if (problems.length) throw new Error(`loadStateDict: ${problems.join('; ')}`);
    noGrad(() => {
      for (const [k, t] of Object.entries(own)) if (state[k] !== undefined) t.copy_(state[k]);
    });
    return { missingKeys, unexpectedKeys };
  }

  /**
   * Moves every parameter, gradient and buffer to `device` ('cpu', 'cuda', 'auto') in place: the
   * tensors keep their identity, so an optimizer made before the move still holds them (make it
   * after the move anyway: its state buffers stay where they were created).
   */
  /**
   * Moves every parameter and buffer (and gradient) to a device, or casts the floating ones to a
   * floating dtype, in place: the tensors keep their identity.
   */
  to(deviceOrDtype: Device | 'auto' | 'cuda:0' | DType): this {
    if ((DTYPES as readonly string[]).includes(deviceOrDtype)) {
      const dtype = deviceOrDtype as DType;
      if (!isFloating(dtype)) throw new TypeError(`Module.to: expected a floating dtype, got ${dtype}`);
      for (const t of [...this.parameters(), ...this.buffers()]) {
        castInPlace(t, dtype);
        if (t.grad) castInPlace(t.grad, dtype);
      }
      return this;
    }
    const target = parseDevice('Module.to', deviceOrDtype);
    for (const t of [...this.parameters(), ...this.buffers()]) {
      moveInPlace(t, target);
      if (t.grad) moveInPlace(t.grad, target);
    }
    return this;
  }
  /** to('float16') */
  half(): this {
    return this.to('float16');
  }
  /** to('bfloat16') */
  bfloat16(): this {
    return this.to('bfloat16');
  }
  /** to('float32') */
  float(): this {
    return this.to('float32');
  }
  /** to('float64') */
  double(): this {
    return this.to('float64');
  }

  /** Number of parameter elements. */
  numParameters(): number {
    return this.parameters().reduce((n, p) => n + p.numel(), 0);
  }

  toString(): string {
    const lines = [...this.namedChildren()].map(([k, m]) => `  (${k}): ${m.toString().replace(/\n/g, '\n  ')}`);
    const extra = this.extraRepr();
    const head = `${this.constructor.name}(${extra}`;
    return lines.length ? `${head}\n${lines.join('\n')}\n)` : `${head})`;
  }
  /** Extra text inside toString()'s parentheses (layers show their sizes). */
  extraRepr(): string {
    return '';
  }
}
