// Ownership of native memory.
//
// A StorageRef counts the tensors that view one native buffer; the buffer is freed when the last of
// them is disposed (or garbage collected: a FinalizationRegistry is the safety net, since V8 runs
// finalizers late and never inside a synchronous loop). tidy() scopes collect every tensor created
// inside them and dispose the ones not returned; keep() takes a tensor out of its scope.
import type { Device } from './dtype';
import { native, type Binding } from './native';
import type { Tensor } from './tensor';

export class StorageRef {
  refs = 0;
  /** Bumped by every in-place write; autograd checks it to catch saved tensors modified in place. */
  version = 0;
  /**
   * handle: the native storage's name (native/storage.h) in `backend`, the addon that owns it;
   * numel: its element count; device: where the memory lives.
   */
  constructor(
    readonly handle: number,
    readonly numel: number,
    readonly backend: Binding = native,
    readonly device: Device = 'cpu',
  ) {}
  retain(): void {
    this.refs++;
  }
  release(): void {
    if (--this.refs === 0) this.backend.free(this.handle);
  }
}

let liveTensors = 0;

const finalizer = new FinalizationRegistry<StorageRef>((storage) => {
  liveTensors--;
  storage.release();
});

const scopes: Set<Tensor>[] = [];

/** Called by the Tensor constructor. */
export function trackTensor(t: Tensor, storage: StorageRef): void {
  liveTensors++;
  storage.retain();
  finalizer.register(t, storage, t);
  if (scopes.length > 0) scopes[scopes.length - 1].add(t);
}

/** Points t at another storage (module.to moves parameters in place, keeping their identity). */
export function retargetTensor(t: Tensor, from: StorageRef, to: StorageRef): void {
  to.retain();
  finalizer.unregister(t);
  finalizer.register(t, to, t);
  from.release();
}

/** Called by Tensor.dispose(). */
export function releaseTensor(t: Tensor, storage: StorageRef): void {
  liveTensors--;
  finalizer.unregister(t);
  for (let i = scopes.length - 1; i >= 0; i--) if (scopes[i].delete(t)) break;
  storage.release();
}

type Container = Tensor | Container[] | { [key: string]: Container } | unknown;

function collectTensors(value: Container, out: Set<Tensor>, isTensor: (v: unknown) => v is Tensor, depth = 0): void {
  if (depth > 64 || value === null || typeof value !== 'object') return;
  if (isTensor(value)) {
    out.add(value);
    return;
  }
  if (Array.isArray(value)) {
    for (const v of value) collectTensors(v, out, isTensor, depth + 1);
    return;
  }
  if (Object.getPrototypeOf(value) === Object.prototype || value instanceof Map) {
    const values = value instanceof Map ? [...value.values()] : Object.values(value as object);
    for (const v of values) collectTensors(v, out, isTensor, depth + 1);
  }
}

let tensorCheck: (v: unknown) => v is Tensor = (v): v is Tensor => false;
export function setTensorCheck(check: (v: unknown) => v is Tensor): void {
  tensorCheck = check;
}

/**
 * Runs fn and disposes every tensor created during it, except those in its result (a tensor, or
 * arrays / plain objects / Maps of them), which move to the enclosing scope.
 */
export function tidy<T>(fn: () => T): T {
  if (typeof fn !== 'function') throw new TypeError('tidy: expected a function');
  const scope = new Set<Tensor>();
  scopes.push(scope);
  let result: T;
  try {
    result = fn();
  } catch (e) {
    scopes.pop();
    for (const t of scope) t.dispose();
    throw e;
  }
  scopes.pop();
  if (result instanceof Promise) {
    // The caller never sees this promise: keep a rejection from surfacing as an unhandled one.
    result.catch(() => {});
    for (const t of scope) t.dispose();
    throw new Error('tidy: fn returned a Promise; tidy only supports synchronous functions');
  }
  const keepSet = new Set<Tensor>();
  collectTensors(result, keepSet, tensorCheck);
  const parent = scopes.length > 0 ? scopes[scopes.length - 1] : null;
  for (const t of scope) {
    if (keepSet.has(t)) parent?.add(t);
    else t.dispose();
  }
  return result;
}

/** Removes t from every tidy scope, so it outlives them; returns t. */
export function keep<T extends Tensor>(t: T): T {
  for (const s of scopes) s.delete(t);
  return t;
}

/** Disposes a tensor, or every tensor in an array / plain object. */
export function dispose(value: Container): void {
  const set = new Set<Tensor>();
  collectTensors(value, set, tensorCheck);
  for (const t of set) t.dispose();
}

/**
 * Live tensors (created, not yet disposed or collected), live native bytes and buffers, and the
 * bytes kept by the allocator's cache for reuse (not live; emptyCache() returns them).
 */
export function memory(): { tensors: number; bytes: number; storages: number; cachedBytes: number } {
  const s = native.stats();
  return { tensors: liveTensors, bytes: s.bytes, storages: s.storages, cachedBytes: s.cachedBytes };
}

/** Returns the allocator's cached free blocks to the system. */
export function emptyCache(): void {
  native.emptyCache();
}
