// The default collate function: a list of items becomes one batch, recursively, like PyTorch's
// default_collate.
import { tensor } from '../ops/creation';
import { stack } from '../ops/join';
import { Tensor } from '../tensor';

/** The batch type defaultCollate makes from items of type T. */
export type Collated<T> = T extends Tensor
  ? Tensor
  : T extends number | boolean
    ? Tensor
    : T extends string
      ? string[]
      : T extends readonly unknown[]
        ? { -readonly [K in keyof T]: Collated<T[K]> }
        : T extends object
          ? { [K in keyof T]: Collated<T[K]> }
          : T[];

const INT32_MIN = -(2 ** 31), INT32_MAX = 2 ** 31 - 1;

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype;
}

function collateAt(items: unknown[], path: string, depth: number): unknown {
  const op = 'defaultCollate';
  if (depth > 32) throw new Error(`${op}: items nest deeper than 32 levels`);
  const first = items[0];
  const where = path ? ` at ${path}` : '';
  const same = (pred: (v: unknown) => boolean, what: string): void => {
    items.forEach((v, i) => {
      if (!pred(v)) throw new TypeError(`${op}: item 0${where} is ${what} but item ${i} is ${describe(v)}`);
    });
  };
  if (first instanceof Tensor) {
    same((v) => v instanceof Tensor, 'a Tensor');
    try {
      return stack(items as Tensor[], 0);
    } catch (e) {
      throw new Error(`${op}: cannot stack the tensors${where}: ${(e as Error).message}`);
    }
  }
  if (typeof first === 'number') {
    same((v) => typeof v === 'number', 'a number');
    const nums = items as number[];
    const ints = nums.every((v) => Number.isInteger(v) && v >= INT32_MIN && v <= INT32_MAX);
    return tensor(ints ? Int32Array.from(nums) : Float32Array.from(nums));
  }
  if (typeof first === 'boolean') {
    same((v) => typeof v === 'boolean', 'a boolean');
    return tensor(items as boolean[]);
  }
  if (typeof first === 'string') {
    same((v) => typeof v === 'string', 'a string');
    return items.slice();
  }
  if (Array.isArray(first)) {
    same((v) => Array.isArray(v) && v.length === first.length, `an array of ${first.length}`);
    return first.map((_, k) => collateAt(items.map((v) => (v as unknown[])[k]), `${path}[${k}]`, depth + 1));
  }
  if (isPlainObject(first)) {
    const keys = Object.keys(first);
    const sameKeys = (v: unknown): boolean =>
      isPlainObject(v) && Object.keys(v).length === keys.length && keys.every((k) => Object.prototype.hasOwnProperty.call(v, k));
    same(sameKeys, `an object with keys {${keys.join(', ')}}`);
    const out: Record<string, unknown> = {};
    for (const k of keys) out[k] = collateAt(items.map((v) => (v as Record<string, unknown>)[k]), path ? `${path}.${k}` : k, depth + 1);
    return out;
  }
  return items.slice();
}

function describe(v: unknown): string {
  if (v instanceof Tensor) return 'a Tensor';
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (v === null) return 'null';
  if (isPlainObject(v)) return `an object with keys {${Object.keys(v).join(', ')}}`;
  return `a ${typeof v}`;
}

/**
 * Merges a list of items into a batch:
 * - tensors are stacked along a new first dim (all must have the same shape);
 * - numbers become one 1-D tensor: int32 when every number in the batch is an integer that fits
 *   int32, float32 otherwise (JavaScript cannot tell 1 from 1.0; return tensors from `get` or pass a
 *   collateFn to fix the dtype);
 * - booleans become a bool tensor; strings stay an array of strings;
 * - arrays (tuples) are collated position by position, plain objects key by key;
 * - anything else is returned as the list of items.
 * The result holds fresh tensors; the items are not modified or disposed.
 */
export function defaultCollate<T>(items: readonly T[]): Collated<T> {
  if (!Array.isArray(items) || items.length === 0) throw new Error('defaultCollate: expected a non-empty array of items');
  return collateAt(items as unknown[], '', 0) as Collated<T>;
}
