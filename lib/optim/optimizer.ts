// The Optimizer base class: parameter groups, per-parameter state, zeroGrad, stateDict /
// loadStateDict (PyTorch's layout), and the step loop. Subclasses validate their options and run one
// fused native update per parameter (native/kernels/optim.cpp).
//
// Updates write the parameters' storages in place, record nothing for autograd and bump each
// parameter's storage version (as the in-place ops do). State tensors are the optimizer's own: they
// are taken out of any tidy() scope, so `tidy(() => { ...; optimizer.step(); })` keeps them.
import { enableGrad, noGrad } from '../autograd';
import { keep } from '../memory';
import { callee, meta, metaNum, native } from '../native';
import { sameShape, shapeStr } from '../shape';
import { Tensor } from '../tensor';

/** One parameter group: its parameters and its options (lr and the optimizer's own). */
export interface ParamGroup {
  params: Tensor[];
  lr: number;
  /** Options of the optimizer, and keys schedulers add (initialLr, ...). */
  [option: string]: unknown;
}

/** A parameter group as given to a constructor: params plus any options that differ from the defaults. */
export interface ParamGroupSpec {
  params: Iterable<Tensor> | Tensor;
  [option: string]: unknown;
}

/** What an optimizer takes: parameters (e.g. `model.parameters()`) or parameter groups. */
export type Params = Iterable<Tensor> | Iterable<ParamGroupSpec>;

/** Per-parameter state: a step count and state tensors (names as in PyTorch, in camelCase). */
export type ParamState = Record<string, Tensor | number>;

/**
 * PyTorch's layout: `state` keyed by parameter index (counting through the groups in order),
 * `paramGroups` with each group's options and its parameters' indices. The tensors are the
 * optimizer's own (not copies): save or clone them, do not dispose them.
 */
export interface OptimizerStateDict {
  state: Record<string, ParamState>;
  paramGroups: Record<string, unknown>[];
}

/** What a subclass's state looks like for a group's options (used to validate loadStateDict). */
export interface StateSpec {
  /** Tensors that must be present once a parameter has state. */
  required: string[];
  /** Tensors that may be present. */
  optional: string[];
  /** Whether a step count is kept. */
  step: boolean;
}

const plainObject = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Tensor);

const snakeToCamel = (k: string): string => k.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

function hint(key: string, known: string[]): string {
  const camel = snakeToCamel(key);
  if (camel !== key && known.includes(camel)) return ` (did you mean ${JSON.stringify(camel)}?)`;
  return ` (options: ${known.join(', ')})`;
}

function cloneValue(v: unknown): unknown {
  return Array.isArray(v) ? v.map(cloneValue) : plainObject(v) ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, cloneValue(x)])) : v;
}

/** A contiguous copy of src in dtype/shape of `like`, outside every tidy scope. */
function stateCopy(src: Tensor, like: Tensor): Tensor {
  const t = keep(Tensor._empty(like._shape.slice(), like.dtype, false, like.device));
  meta();
  t._meta();
  src._meta();
  callee().copy();
  return t;
}

export abstract class Optimizer<G extends ParamGroup = ParamGroup> {
  /** The groups; schedulers and users may change options (lr, ...) between steps. */
  paramGroups: G[] = [];
  /** Per-parameter state (created on a parameter's first update). */
  state = new Map<Tensor, ParamState>();
  /** The constructor's options, filled with this optimizer's defaults. */
  readonly defaults: Readonly<Record<string, unknown>>;
  /** The name used in error messages (the class name). */
  protected readonly name: string;

  /**
   * @param defaults every option with its default (`undefined` for a required option, e.g. SGD's lr)
   * @param options the user's options, checked against `defaults`' keys
   */
  protected constructor(name: string, params: Params, defaults: Record<string, unknown>, options: object | undefined) {
    this.name = name;
    if (options !== undefined && !plainObject(options)) throw new TypeError(`${name}: options must be an object`);
    const resolved: Record<string, unknown> = { ...defaults };
    for (const [k, v] of Object.entries(options ?? {})) {
      if (!(k in defaults)) throw new Error(`${name}: unknown option ${JSON.stringify(k)}${hint(k, Object.keys(defaults))}`);
      if (v !== undefined) resolved[k] = cloneValue(v);
    }
    this.defaults = resolved;
    if (params instanceof Tensor || params === null || typeof params !== 'object' || !(Symbol.iterator in params)) {
      throw new TypeError(`${name}: params must be an iterable of Tensors or of parameter groups ({ params, ...options })`);
    }
    const list = [...(params as Iterable<unknown>)];
    if (list.length === 0) throw new Error(`${name}: got an empty parameter list`);
    const groups = list.every((p) => p instanceof Tensor) ? [{ params: list as Tensor[] }] : list;
    for (const g of groups) this.addParamGroup(g as ParamGroupSpec);
  }

  /** Checks a group's options (throws an Error naming the bad one). */
  protected abstract checkGroup(group: G): void;
  /** The state a parameter of this group keeps. */
  protected abstract stateSpec(group: G): StateSpec;
  /**
   * Updates one parameter: `p` and `grad` are contiguous, of one shape and dtype; `state` is the
   * parameter's (empty before its first update). Runs with gradient recording off.
   */
  protected abstract update(p: Tensor, grad: Tensor, state: ParamState, group: G): void;

  /** Adds a group; options it leaves out come from the defaults. */
  addParamGroup(spec: ParamGroupSpec): void {
    const name = this.name;
    if (!plainObject(spec) || !('params' in spec)) {
      throw new TypeError(`${name}: a parameter group must be an object { params, ...options }`);
    }
    const raw = spec.params;
    if (raw === null || typeof raw !== 'object') throw new TypeError(`${name}: a group's params must be a Tensor or an iterable of Tensors`);
    const params = raw instanceof Tensor ? [raw] : Symbol.iterator in raw ? [...(raw as Iterable<unknown>)] : null;
    if (params === null) throw new TypeError(`${name}: a group's params must be a Tensor or an iterable of Tensors`);
    const gi = this.paramGroups.length;
    const seen = new Set<Tensor>();
    params.forEach((p, i) => {
      if (!(p instanceof Tensor)) throw new TypeError(`${name}: params[${i}] of group ${gi} is not a Tensor`);
      p._check(name);
      if (p.dtype !== 'float32' && p.dtype !== 'float64') {
        const why = p.dtype === 'float16' || p.dtype === 'bfloat16'
          ? ' (the fused updates take float32 or float64: keep float32 parameters and cast to 16 bits inside forward)'
          : '';
        throw new Error(`${name}: can only optimize float32 or float64 tensors, got ${p.dtype} (params[${i}] of group ${gi})${why}`);
      }
      if (!p.isLeaf) throw new Error(`${name}: can't optimize a non-leaf Tensor (params[${i}] of group ${gi})`);
      if (seen.has(p)) throw new Error(`${name}: group ${gi} lists a parameter twice (params[${i}])`);
      seen.add(p);
    });
    for (const g of this.paramGroups) {
      for (const p of g.params) if (seen.has(p)) throw new Error(`${name}: some parameters appear in more than one parameter group`);
    }
    const group: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(spec)) {
      if (k === 'params') continue;
      const camel = snakeToCamel(k);
      if (camel !== k && camel in this.defaults) throw new Error(`${name}: group ${gi} has option ${JSON.stringify(k)}; did you mean ${JSON.stringify(camel)}?`);
      if (v !== undefined) group[k] = cloneValue(v);
    }
    for (const [k, v] of Object.entries(this.defaults)) {
      if (group[k] === undefined) {
        if (v === undefined) throw new Error(`${name}: parameter group ${gi} didn't specify a value of required option ${JSON.stringify(k)}`);
        group[k] = cloneValue(v);
      }
    }
    group.params = params as Tensor[];
    this.checkGroup(group as G);
    this.paramGroups.push(group as G);
  }

  /** Drops every parameter's gradient (setToNone, the default) or zeroes it in place. */
  zeroGrad(opts: { setToNone?: boolean } = {}): void {
    const setToNone = opts.setToNone ?? true;
    for (const group of this.paramGroups) {
      for (const p of group.params) {
        const g = p.grad;
        if (!g) continue;
        if (setToNone) {
          g.dispose();
          p.grad = null;
        } else if (!g.isDisposed) {
          noGrad(() => g.zero_());
        }
      }
    }
  }

  /**
   * Updates every parameter that has a gradient (parameters whose .grad is null are skipped). With a
   * closure, calls it first (with gradient recording on) and returns what it returns, e.g. the loss.
   */
  step<T = undefined>(closure?: () => T): T | undefined {
    let loss: T | undefined;
    if (closure !== undefined) {
      if (typeof closure !== 'function') throw new TypeError(`${this.name}.step: closure must be a function`);
      loss = enableGrad(closure);
    }
    noGrad(() => {
      for (const group of this.paramGroups) {
        this.checkGroup(group);
        for (const p of group.params) {
          if (p.grad === null) continue;
          this.stepParam(p, p.grad, group);
        }
      }
    });
    return loss;
  }

  private stepParam(p: Tensor, grad: Tensor, group: G): void {
    const op = `${this.name}.step`;
    p._check(op);
    if (!(grad instanceof Tensor)) throw new TypeError(`${op}: a parameter's .grad is not a Tensor`);
    grad._check(`${op} (a parameter's .grad)`);
    if (!sameShape(grad._shape, p._shape)) {
      throw new Error(`${op}: gradient shape ${shapeStr(grad._shape)} does not match parameter shape ${shapeStr(p._shape)}`);
    }
    for (let d = 0; d < p.ndim; d++) {
      if (p._strides[d] === 0 && p._shape[d] > 1) throw new Error(`${op}: cannot update an expanded tensor (shape ${shapeStr(p._shape)} has a broadcast dim)`);
    }
    // The kernels take contiguous buffers of one dtype: bring the gradient to p's layout and dtype,
    // and update a contiguous copy of a strided parameter (written back below).
    const g = grad.dtype === p.dtype && grad.isContiguous() ? grad : stateCopy(grad, p);
    const pc = p.isContiguous() ? p : stateCopy(p, p);
    let state = this.state.get(p);
    if (state === undefined) {
      state = {};
      this.state.set(p, state);
    }
    try {
      this.update(pc, g, state, group);
      if (pc !== p) {
        meta();
        p._meta();
        pc._meta();
        callee().copy();
      }
    } finally {
      if (g !== grad) g.dispose();
      if (pc !== p) pc.dispose();
    }
    p._storage.version++;
  }

  /** A zero (or `value`-filled) state tensor shaped like p, kept outside every tidy scope. */
  protected newState(p: Tensor, value = 0): Tensor {
    const t = keep(Tensor._empty(p._shape.slice(), p.dtype, value === 0, p.device));
    if (value !== 0) {
      meta();
      t._meta();
      metaNum(value);
      callee().fill();
    }
    return t;
  }

  /** The optimizer's state in PyTorch's layout (see OptimizerStateDict); tensors are not copied. */
  stateDict(): OptimizerStateDict {
    const index = new Map<Tensor, number>();
    const paramGroups = this.paramGroups.map((g) => {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(g)) if (k !== 'params') out[k] = cloneValue(v);
      out.params = g.params.map((p) => {
        if (!index.has(p)) index.set(p, index.size);
        return index.get(p)!;
      });
      return out;
    });
    const state: Record<string, ParamState> = {};
    for (const [p, s] of this.state) {
      const i = index.get(p);
      if (i !== undefined && Object.keys(s).length > 0) state[String(i)] = { ...s };
    }
    return { state, paramGroups };
  }

  /**
   * Loads a stateDict(): group options and state tensors (copied, converted to each parameter's
   * dtype). Everything is validated first (group and parameter counts, state names, shapes), so a
   * bad dict throws an Error and leaves the optimizer unchanged.
   */
  loadStateDict(stateDict: OptimizerStateDict): void {
    const op = `${this.name}.loadStateDict`;
    if (!plainObject(stateDict)) throw new TypeError(`${op}: expected an object { state, paramGroups }`);
    const sd = stateDict as unknown as Record<string, unknown>;
    const groups = sd.paramGroups ?? sd.param_groups;
    const state = sd.state ?? {};
    if (!Array.isArray(groups)) throw new Error(`${op}: the state dict has no paramGroups array`);
    if (!plainObject(state)) throw new Error(`${op}: the state dict's state must be an object keyed by parameter index`);
    if (groups.length !== this.paramGroups.length) {
      throw new Error(`${op}: the state dict has ${groups.length} parameter groups, the optimizer has ${this.paramGroups.length}`);
    }
    // Group options, checked on copies; parameter index -> (parameter, its new group).
    const byIndex = new Map<number, [Tensor, G]>();
    const newGroups = groups.map((saved, gi) => {
      if (!plainObject(saved) || !Array.isArray(saved.params)) throw new Error(`${op}: paramGroups[${gi}] must be an object with a params array`);
      const own = this.paramGroups[gi];
      if (saved.params.length !== own.params.length) {
        throw new Error(
          `${op}: paramGroups[${gi}] has ${saved.params.length} parameters in the state dict but ${own.params.length} in the optimizer`,
        );
      }
      const group: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(saved)) if (k !== 'params') group[k] = cloneValue(v);
      for (const [k, v] of Object.entries(this.defaults)) if (group[k] === undefined) group[k] = cloneValue(v);
      group.params = own.params;
      try {
        this.checkGroup(group as G);
      } catch (e) {
        throw new Error(`${op}: paramGroups[${gi}]: ${e instanceof Error ? e.message : String(e)}`);
      }
      (saved.params as unknown[]).forEach((id, i) => {
        if (typeof id !== 'number' || !Number.isInteger(id) || id < 0) throw new Error(`${op}: paramGroups[${gi}].params[${i}] is not a parameter index`);
        if (byIndex.has(id)) throw new Error(`${op}: parameter index ${id} appears twice in paramGroups`);
        byIndex.set(id, [own.params[i], group as G]);
      });
      return group as G;
    });
    // State: names, steps and shapes.
    const loaded: [Tensor, Record<string, unknown>][] = [];
    for (const [key, entry] of Object.entries(state)) {
      const id = Number(key);
      const target = Number.isInteger(id) ? byIndex.get(id) : undefined;
      if (target === undefined) throw new Error(`${op}: state has an entry for parameter ${JSON.stringify(key)}, which no group lists`);
      const [p, group] = target;
      if (!plainObject(entry)) throw new Error(`${op}: state[${key}] must be an object`);
      const spec = this.stateSpec(group);
      const where = `state[${key}] (parameter of shape ${shapeStr(p._shape)})`;
      for (const [name, v] of Object.entries(entry)) {
        if (name === 'step' && spec.step) {
          if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw new Error(`${op}: ${where}: step must be a non-negative integer, got ${String(v)}`);
          continue;
        }
        if (!spec.required.includes(name) && !spec.optional.includes(name)) {
          throw new Error(`${op}: ${where}: unexpected entry ${JSON.stringify(name)} for ${this.name} (expected ${[...(spec.step ? ['step'] : []), ...spec.required, ...spec.optional].join(', ')})`);
        }
        if (!(v instanceof Tensor)) throw new Error(`${op}: ${where}: ${name} must be a Tensor`);
        v._check(op);
        if (v.dtype !== 'float32' && v.dtype !== 'float64') throw new Error(`${op}: ${where}: ${name} must be floating point, got ${v.dtype}`);
        if (!sameShape(v._shape, p._shape)) throw new Error(`${op}: ${where}: ${name} has shape ${shapeStr(v._shape)}, expected ${shapeStr(p._shape)}`);
      }
      for (const name of spec.required) if (!(name in entry)) throw new Error(`${op}: ${where}: missing ${name}`);
      if (spec.step && !('step' in entry)) throw new Error(`${op}: ${where}: missing step`);
      loaded.push([p, entry]);
    }
    // Apply (nothing can fail from here on).
    this.paramGroups = newGroups;
    this.state = new Map();
    for (const [p, entry] of loaded) {
      const s: ParamState = {};
      for (const [name, v] of Object.entries(entry)) s[name] = v instanceof Tensor ? stateCopy(v, p) : (v as number);
      this.state.set(p, s);
    }
  }

  /** Frees the state tensors now (the optimizer starts over if used again). */
  dispose(): void {
    for (const s of this.state.values()) for (const v of Object.values(s)) if (v instanceof Tensor) v.dispose();
    this.state.clear();
  }
}

// Small option checks shared by the optimizers; each throws an Error naming the option.
export function checkNumber(op: string, name: string, v: unknown, lo = 0, hiExclusive?: number): number {
  if (typeof v !== 'number' || Number.isNaN(v)) throw new TypeError(`${op}: ${name} must be a number, got ${String(v)}`);
  if (v < lo || (hiExclusive !== undefined && v >= hiExclusive) || (!Number.isFinite(v) && hiExclusive === undefined)) {
    const range = hiExclusive !== undefined ? `in [${lo}, ${hiExclusive})` : `a finite number >= ${lo}`;
    throw new Error(`${op}: invalid ${name}: ${v} (expected ${range})`);
  }
  return v;
}
export function checkBool(op: string, name: string, v: unknown): boolean {
  if (typeof v !== 'boolean') throw new TypeError(`${op}: ${name} must be a boolean, got ${String(v)}`);
  return v;
}
