// Saving and loading tensors in the safetensors format (https://github.com/huggingface/safetensors),
// and training checkpoints built on it.
//
// A .safetensors file is:
//   8 bytes      N, the header length, little-endian u64
//   N bytes      UTF-8 JSON: {"name": {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]},
//                ..., "__metadata__": {"key": "value"}}, padded with spaces (we pad to a multiple of 8)
//   the rest     the tensors' bytes, little-endian, row-major, packed; offsets are relative to here
//
// Written here: F32, F64, I32, BOOL, F16, BF16 (tensorforge's dtypes). Read: those, and also I64,
// I16, I8, U16, U8 (as int32; an I64 value outside int32 is an Error), which PyTorch files often hold. A file is read as untrusted input: the whole header is validated (lengths,
// JSON with no duplicate keys, dtypes, shapes, offsets that tile the data section exactly) before any
// tensor is created, and every problem is an Error naming the file.
//
// Writes are atomic: the file is written under a temporary name in the same directory, fsynced and
// renamed over the target, so a crash or an error mid-write leaves the old file as it was.
import { closeSync, fstatSync, openSync, readSync, writeSync } from 'node:fs';
import { endianness } from 'node:os';
import { atomicWrite } from './atomic_write';
import type { DType, TypedArray } from './dtype';
import { native } from './native';
import { MAX_DIMS, shapeStr } from './shape';
import { Tensor } from './tensor';

/** safetensors' own limit on the header size. */
export const MAX_HEADER_BYTES = 100_000_000;

const DTYPE_TO_ST: Record<DType, string> = { float32: 'F32', float64: 'F64', int32: 'I32', bool: 'BOOL', float16: 'F16', bfloat16: 'BF16' };

/** Every dtype name the format defines, with its element size; `to` is what we load it as. */
const ST_DTYPES: Record<string, { size: number; to?: DType }> = {
  F32: { size: 4, to: 'float32' },
  F64: { size: 8, to: 'float64' },
  I32: { size: 4, to: 'int32' },
  BOOL: { size: 1, to: 'bool' },
  I64: { size: 8, to: 'int32' },
  I16: { size: 2, to: 'int32' },
  I8: { size: 1, to: 'int32' },
  U16: { size: 2, to: 'int32' },
  U8: { size: 1, to: 'int32' },
  F16: { size: 2, to: 'float16' },
  BF16: { size: 2, to: 'bfloat16' },
  U32: { size: 4 },
  U64: { size: 8 },
  F8_E4M3: { size: 1 },
  F8_E5M2: { size: 1 },
};

function checkHost(op: string): void {
  if (endianness() !== 'LE') throw new Error(`${op}: safetensors I/O needs a little-endian host`);
}

// ---------------------------------------------------------------------------------------------
// A strict JSON parser for the header: JSON.parse keeps the last of duplicate keys silently, and a
// hostile header may use that to hide an entry. Objects come back as Maps (no prototype tricks).

class JsonError extends Error {}

function parseStrictJson(text: string): unknown {
  let pos = 0;
  const fail = (msg: string): never => {
    throw new JsonError(`${msg} at character ${pos}`);
  };
  const ws = (): void => {
    while (pos < text.length) {
      const c = text.charCodeAt(pos);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) pos++;
      else break;
    }
  };
  const NUM = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
  const str = (): string => {
    const start = pos;
    pos++; // opening quote
    for (;;) {
      if (pos >= text.length) fail('unterminated string');
      const c = text.charCodeAt(pos);
      if (c === 0x22) break;
      if (c < 0x20) fail('control character in string');
      pos += c === 0x5c ? 2 : 1;
    }
    pos++;
    try {
      return JSON.parse(text.slice(start, pos)) as string;
    } catch {
      pos = start;
      return fail('invalid escape in string');
    }
  };
  const value = (depth: number): unknown => {
    if (depth > 16) fail('nesting deeper than 16 levels');
    ws();
    const c = text[pos];
    if (c === '{') {
      pos++;
      const out = new Map<string, unknown>();
      ws();
      if (text[pos] === '}') {
        pos++;
        return out;
      }
      for (;;) {
        ws();
        if (text[pos] !== '"') fail('expected a string key');
        const keyAt = pos;
        const k = str();
        if (out.has(k)) {
          pos = keyAt;
          fail(`duplicate key ${JSON.stringify(k)}`);
        }
        ws();
        if (text[pos] !== ':') fail("expected ':'");
        pos++;
        out.set(k, value(depth + 1));
        ws();
        if (text[pos] === ',') pos++;
        else if (text[pos] === '}') {
          pos++;
          return out;
        } else fail("expected ',' or '}'");
      }
    }
    if (c === '[') {
      pos++;
      const out: unknown[] = [];
      ws();
      if (text[pos] === ']') {
        pos++;
        return out;
      }
      for (;;) {
        out.push(value(depth + 1));
        ws();
        if (text[pos] === ',') pos++;
        else if (text[pos] === ']') {
          pos++;
          return out;
        } else fail("expected ',' or ']'");
      }
    }
    if (c === '"') return str();
    for (const [lit, v] of [['true', true], ['false', false], ['null', null]] as const) {
      if (text.startsWith(lit, pos)) {
        pos += lit.length;
        return v;
      }
    }
    NUM.lastIndex = pos;
    const m = NUM.exec(text);
    if (!m) return fail(pos >= text.length ? 'unexpected end' : `unexpected ${JSON.stringify(text[pos])}`);
    pos += m[0].length;
    return Number(m[0]);
  };
  const v = value(0);
  ws();
  if (pos !== text.length) fail('unexpected data after the JSON value');
  return v;
}

// ---------------------------------------------------------------------------------------------
// Reading

interface Entry {
  name: string;
  st: string;
  dtype: DType;
  shape: number[];
  numel: number;
  begin: number;
  end: number;
}

interface Header {
  entries: Entry[];
  metadata: Record<string, string>;
  dataStart: number;
}

function readExactly(fd: number, buf: Uint8Array, position: number, what: string, fail: (m: string) => never): void {
  let done = 0;
  while (done < buf.length) {
    const chunk = Math.min(buf.length - done, 1 << 30);
    const n = readSync(fd, buf, done, chunk, position + done);
    if (n === 0) fail(`unexpected end of file while reading ${what} (file changed while reading?)`);
    done += n;
  }
}

function readHeader(fd: number, path: string): Header {
  const fail = (msg: string): never => {
    throw new Error(`safetensors file ${path}: ${msg}`);
  };
  const size = fstatSync(fd).size;
  if (size < 8) fail(`${size} bytes is too short: the file must start with an 8-byte header length`);
  const lenBuf = Buffer.alloc(8);
  readExactly(fd, lenBuf, 0, 'the header length', fail);
  const n64 = lenBuf.readBigUInt64LE(0);
  if (n64 > BigInt(MAX_HEADER_BYTES)) fail(`header length ${n64} is absurdly large (limit ${MAX_HEADER_BYTES} bytes)`);
  const n = Number(n64);
  if (8 + n > size) fail(`header length ${n} runs past the end of the file (${size} bytes)`);
  if (n < 2) fail(`header length ${n} is too small for a JSON object`);
  const hbuf = Buffer.alloc(n);
  readExactly(fd, hbuf, 8, 'the header', fail);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(hbuf);
  } catch {
    return fail('the header is not valid UTF-8');
  }
  if (text[0] !== '{') fail(`the header does not start with '{' (not a safetensors file?)`);
  let root: unknown;
  try {
    root = parseStrictJson(text);
  } catch (e) {
    if (e instanceof JsonError) return fail(`invalid JSON header: ${e.message}`);
    throw e;
  }
  if (!(root instanceof Map)) return fail('the header is not a JSON object');
  const dataStart = 8 + n;
  const dataLen = size - dataStart;
  let metadata: Record<string, string> = {};
  const entries: Entry[] = [];
  for (const [name, v] of root) {
    if (name === '__metadata__') {
      if (!(v instanceof Map)) fail('__metadata__ must be an object of strings');
      metadata = Object.create(null) as Record<string, string>;
      for (const [k, s] of v as Map<string, unknown>) {
        if (typeof s !== 'string') fail(`__metadata__ value for ${JSON.stringify(k)} is not a string`);
        metadata[k] = s as string;
      }
      continue;
    }
    const what = `tensor ${JSON.stringify(name)}`;
    if (name === '') fail('a tensor has an empty name');
    if (!(v instanceof Map)) fail(`${what}: expected an object with dtype, shape and data_offsets`);
    const info = v as Map<string, unknown>;
    const st = info.get('dtype');
    const shape = info.get('shape');
    const offsets = info.get('data_offsets');
    if (typeof st !== 'string') return fail(`${what}: dtype is missing or not a string`);
    const d = ST_DTYPES[st];
    if (!d) return fail(`${what}: unknown dtype ${JSON.stringify(st)}`);
    if (!d.to) return fail(`${what}: dtype ${st} is not supported by tensorforge (it reads F32, F64, I32, BOOL, I64, I16, I8, U16, U8, F16, BF16)`);
    if (!Array.isArray(shape)) return fail(`${what}: shape is missing or not an array`);
    if (shape.length > MAX_DIMS) fail(`${what}: ${shape.length} dims (tensorforge supports at most ${MAX_DIMS})`);
    let numel = 1;
    for (const s of shape) {
      if (typeof s !== 'number' || !Number.isSafeInteger(s) || s < 0) {
        fail(`${what}: invalid shape ${JSON.stringify(shape)} (sizes must be non-negative integers)`);
      }
      numel *= s as number;
      if (numel > dataLen) numel = Infinity; // too big for the file whatever follows (unless a 0 comes)
    }
    if (shape.includes(0)) numel = 0;
    if (!Array.isArray(offsets) || offsets.length !== 2) return fail(`${what}: data_offsets must be [begin, end]`);
    const [begin, end] = offsets as unknown[];
    for (const o of [begin, end]) {
      if (typeof o !== 'number' || !Number.isSafeInteger(o) || o < 0) fail(`${what}: invalid data_offsets ${JSON.stringify(offsets)} (expected non-negative integers)`);
    }
    const b = begin as number, e = end as number;
    if (b > e) fail(`${what}: data_offsets [${b}, ${e}] end before they begin`);
    if (e > dataLen) fail(`${what}: data_offsets [${b}, ${e}] run past the end of the data (${dataLen} bytes)`);
    const bytes = numel * d.size;
    if (e - b !== bytes) {
      fail(`${what}: data_offsets [${b}, ${e}] hold ${e - b} bytes but ${st} shape ${shapeStr(shape as number[])} needs ${Number.isFinite(bytes) ? bytes : 'more than the file has'}`);
    }
    entries.push({ name, st, dtype: d.to, shape: (shape as number[]).slice(), numel, begin: b, end: e });
  }
  // The tensors must tile the data section: sorted by offset, each begins where the last ended.
  const sorted = entries.slice().sort((x, y) => x.begin - y.begin || x.end - y.end);
  let at = 0;
  for (const en of sorted) {
    if (en.begin < at) fail(`tensor ${JSON.stringify(en.name)}: data_offsets [${en.begin}, ${en.end}] overlap another tensor's data`);
    if (en.begin > at) fail(`the data has a gap: bytes ${at}..${en.begin} belong to no tensor`);
    at = en.end;
  }
  if (at !== dataLen) fail(`the tensors cover ${at} bytes but the data section has ${dataLen} (trailing bytes or truncated)`);
  return { entries, metadata, dataStart };
}

/** Converts `n` elements of raw little-endian `st` bytes (a fresh, aligned buffer) to a typed array of the loaded dtype. */
function convert(st: string, raw: Uint8Array, n: number, first: number, fail: (m: string) => never): TypedArray | Uint16Array {
  const buf = raw.buffer;
  switch (st) {
    case 'F32': return new Float32Array(buf, 0, n);
    case 'F64': return new Float64Array(buf, 0, n);
    case 'I32': return new Int32Array(buf, 0, n);
    case 'BOOL': {
      for (let i = 0; i < n; i++) if (raw[i] > 1) raw[i] = 1;
      return raw.subarray(0, n);
    }
    case 'I64': {
      const src = new BigInt64Array(buf, 0, n);
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        const v = src[i];
        if (v < -2147483648n || v > 2147483647n) fail(`I64 value ${v} at element ${first + i} does not fit int32 (tensorforge has no int64)`);
        out[i] = Number(v);
      }
      return out;
    }
    case 'I16': return Int32Array.from(new Int16Array(buf, 0, n));
    case 'U16': return Int32Array.from(new Uint16Array(buf, 0, n));
    case 'I8': return Int32Array.from(new Int8Array(buf, 0, n));
    case 'U8': return Int32Array.from(raw.subarray(0, n));
    case 'F16':
    case 'BF16': return new Uint16Array(buf, 0, n);  // the storage's own bits
  }
  return fail(`unsupported dtype ${st}`);
}

const CHUNK_BYTES = 1 << 24;

/** Makes one entry's tensor, reading and converting its data in chunks of at most 16 MiB. */
function loadEntry(fd: number, en: Entry, dataStart: number, path: string): Tensor {
  const fail = (msg: string): never => {
    throw new Error(`safetensors file ${path}: tensor ${JSON.stringify(en.name)}: ${msg}`);
  };
  const size = ST_DTYPES[en.st].size;
  const t = Tensor._empty(en.shape, en.dtype);
  try {
    const per = Math.max(1, Math.floor(CHUNK_BYTES / size));
    const raw = new Uint8Array(Math.min(per, en.numel) * size);
    for (let first = 0; first < en.numel; first += per) {
      const n = Math.min(per, en.numel - first);
      const part = raw.subarray(0, n * size);
      readExactly(fd, part, dataStart + en.begin + first * size, `tensor ${JSON.stringify(en.name)}`, fail);
      native.write(t._storage.handle, first, convert(en.st, part, n, first, fail));
    }
  } catch (e) {
    t.dispose();
    throw e;
  }
  return t;
}

function withFile<T>(path: string, op: string, fn: (fd: number) => T): T {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    throw new Error(`${op}: cannot open ${path} (${(e as Error).message})`);
  }
  try {
    return fn(fd);
  } finally {
    closeSync(fd);
  }
}

function readTensors(fd: number, header: Header, path: string, names?: ReadonlySet<string>): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  const made: Tensor[] = [];
  try {
    for (const en of header.entries) {
      if (names && !names.has(en.name)) continue;
      const t = loadEntry(fd, en, header.dataStart, path);
      made.push(t);
      Object.defineProperty(out, en.name, { value: t, enumerable: true, writable: true, configurable: true });
    }
  } catch (e) {
    for (const t of made) t.dispose();
    throw e;
  }
  return out;
}

/**
 * Loads every tensor of a .safetensors file, by name, in the file's header order. Fresh tensors the
 * caller owns. See the top of lib/serialization.ts for the dtypes read and the checks made.
 */
export function load(path: string): Record<string, Tensor> {
  checkHost('load');
  return withFile(path, 'load', (fd) => readTensors(fd, readHeader(fd, path), path));
}

/** The `__metadata__` of a .safetensors file (string to string; {} when absent), header only. */
export function loadMetadata(path: string): Record<string, string> {
  return withFile(path, 'loadMetadata', (fd) => ({ ...readHeader(fd, path).metadata }));
}

// ---------------------------------------------------------------------------------------------
// Writing


function writeAll(fd: number, data: Uint8Array): void {
  let done = 0;
  while (done < data.length) done += writeSync(fd, data, done, Math.min(data.length - done, 1 << 30));
}

function entriesOf(op: string, tensors: unknown): [string, Tensor][] {
  let list: [string, unknown][];
  if (tensors instanceof Map) list = [...tensors.entries()];
  else if (tensors !== null && typeof tensors === 'object' && !Array.isArray(tensors) && !(tensors instanceof Tensor)) {
    list = Object.entries(tensors);
  } else throw new TypeError(`${op}: expected an object (or Map) of name -> Tensor`);
  for (const [k, t] of list) {
    if (typeof k !== 'string' || k === '') throw new TypeError(`${op}: tensor names must be non-empty strings`);
    if (k === '__metadata__') throw new Error(`${op}: "__metadata__" is reserved and cannot name a tensor`);
    if (!(t instanceof Tensor)) throw new TypeError(`${op}: entry ${JSON.stringify(k)} is not a Tensor`);
    t._check(op);
  }
  return list as [string, Tensor][];
}

function checkMetadata(op: string, metadata: unknown): Record<string, string> | undefined {
  if (metadata === undefined) return undefined;
  if (metadata === null || typeof metadata !== 'object' || Array.isArray(metadata)) throw new TypeError(`${op}: metadata must be an object of strings`);
  for (const [k, v] of Object.entries(metadata)) {
    if (typeof v !== 'string') throw new TypeError(`${op}: metadata value for ${JSON.stringify(k)} is not a string (safetensors metadata is string to string)`);
  }
  return { ...(metadata as Record<string, string>) };
}

function writeSafetensors(path: string, op: string, list: [string, Tensor][], metadata: Record<string, string> | undefined): void {
  checkHost(op);
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  let at = 0;
  for (const [name, t] of list) {
    const bytes = t.numel() * t.elementSize();
    Object.defineProperty(header, name, {
      value: { dtype: DTYPE_TO_ST[t.dtype], shape: t.shape, data_offsets: [at, at + bytes] },
      enumerable: true, writable: true, configurable: true,
    });
    at += bytes;
  }
  let json = JSON.stringify(header);
  const pad = (8 - (Buffer.byteLength(json) % 8)) % 8;
  json += ' '.repeat(pad);
  const hbytes = Buffer.from(json, 'utf8');
  if (hbytes.length > MAX_HEADER_BYTES) throw new Error(`${op}: the header would be ${hbytes.length} bytes, over safetensors' limit of ${MAX_HEADER_BYTES}`);
  const lenBuf = Buffer.alloc(8);
  lenBuf.writeBigUInt64LE(BigInt(hbytes.length));
  atomicWrite(path, op, (fd) => {
    writeAll(fd, lenBuf);
    writeAll(fd, hbytes);
    for (const [, t] of list) {
      if (t.numel() === 0) continue;
      const data = t._rawSync(op);
      writeAll(fd, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    }
  });
}

/**
 * Saves tensors (a state dict: name -> Tensor, or a Map) to `path` in the safetensors format,
 * atomically. `metadata` (string -> string) goes into the header's `__metadata__`. Non-contiguous
 * tensors and views are written as their values; autograd state is not saved.
 */
export function save(tensorsOrStateDict: Record<string, Tensor> | Map<string, Tensor>, path: string, opts: { metadata?: Record<string, string> } = {}): void {
  const op = 'save';
  if (typeof path !== 'string' || path === '') throw new TypeError(`${op}: path must be a non-empty string`);
  writeSafetensors(path, op, entriesOf(op, tensorsOrStateDict), checkMetadata(op, opts.metadata));
}

// ---------------------------------------------------------------------------------------------
// Checkpoints
//
// One .safetensors file holds everything, so one atomic rename replaces the whole checkpoint:
//   - model tensors under "model.<key>" (a Python reader can strip the prefix);
//   - tensors inside `optimizer` and `extra` under "optimizer.<path>" / "extra.<path>" (path: keys
//     and array indices joined by '.', with "#2", "#3" ... appended if two paths collide);
//   - the rest of `optimizer` and `extra` (numbers, strings, booleans, null, arrays, plain objects)
//     as JSON in __metadata__["tensorforge.checkpoint"], each tensor replaced by {"__tensor__": name}
//     and each non-finite number by {"__number__": "NaN" | "Infinity" | "-Infinity"};
//   - __metadata__["format"] = "tensorforge.checkpoint", ["version"] = "1".

const CKPT_FORMAT = 'tensorforge.checkpoint';
const CKPT_KEY = 'tensorforge.checkpoint';

export interface Checkpoint<O = unknown, E = unknown> {
  /** The model's state dict (name -> Tensor). */
  model: Record<string, Tensor>;
  /** Optimizer state: plain data with tensors anywhere inside (e.g. optimizer.stateDict()). */
  optimizer?: O;
  /** Anything else JSON-like (epoch, step, loss history, RNG seeds...), tensors allowed too. */
  extra?: E;
}

function encodeTree(value: unknown, prefix: string, tensors: [string, Tensor][], used: Set<string>, op: string): unknown {
  const walk = (v: unknown, path: string[], depth: number): unknown => {
    const where = [prefix, ...path].join('.');
    if (depth > 64) throw new Error(`${op}: ${where} nests deeper than 64 levels`);
    if (v instanceof Tensor) {
      v._check(op);
      let name = where;
      for (let k = 2; used.has(name); k++) name = `${where}#${k}`;
      used.add(name);
      tensors.push([name, v]);
      return { __tensor__: name };
    }
    if (v === null || typeof v === 'string' || typeof v === 'boolean') return v;
    if (typeof v === 'number') return Number.isFinite(v) ? v : { __number__: String(v) };
    if (Array.isArray(v)) return v.map((x, i) => (x === undefined ? null : walk(x, [...path, String(i)], depth + 1)));
    if (typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v as object)) {
        if (k === '__tensor__' || k === '__number__') throw new Error(`${op}: ${where} uses the reserved key ${JSON.stringify(k)}`);
        if (x === undefined) continue;
        Object.defineProperty(out, k, { value: walk(x, [...path, k], depth + 1), enumerable: true, writable: true, configurable: true });
      }
      return out;
    }
    const kind = v === undefined ? 'undefined' : typeof v === 'object' ? (v as object).constructor?.name ?? 'object' : typeof v;
    throw new TypeError(`${op}: ${where} is ${kind}; checkpoints hold tensors, numbers, strings, booleans, null, arrays and plain objects`);
  };
  return walk(value, [], 0);
}

function decodeTree(value: unknown, tensors: Record<string, Tensor> | null, referenced: Set<string>, names: ReadonlySet<string>, fail: (m: string) => never): unknown {
  const walk = (v: unknown, depth: number): unknown => {
    if (depth > 64) fail('checkpoint JSON nests deeper than 64 levels');
    if (v === null || typeof v !== 'object') return v;
    if (Array.isArray(v)) return v.map((x) => walk(x, depth + 1));
    const keys = Object.keys(v);
    if (keys.length === 1 && keys[0] === '__tensor__') {
      const name = (v as { __tensor__: unknown }).__tensor__;
      if (typeof name !== 'string' || !names.has(name)) fail(`checkpoint JSON refers to tensor ${JSON.stringify(name)}, which the file does not hold`);
      if (referenced.has(name as string)) fail(`checkpoint JSON refers to tensor ${JSON.stringify(name)} twice`);
      referenced.add(name as string);
      return tensors ? tensors[name as string] : null;
    }
    if (keys.length === 1 && keys[0] === '__number__') {
      const s = (v as { __number__: unknown }).__number__;
      if (s !== 'NaN' && s !== 'Infinity' && s !== '-Infinity') fail(`checkpoint JSON has a bad __number__ ${JSON.stringify(s)}`);
      return Number(s);
    }
    const out: Record<string, unknown> = {};
    for (const k of keys) Object.defineProperty(out, k, { value: walk((v as Record<string, unknown>)[k], depth + 1), enumerable: true, writable: true, configurable: true });
    return out;
  };
  return walk(value, 0);
}

/**
 * Saves a training checkpoint to one .safetensors file, atomically: the model's state dict, and
 * optionally optimizer state and extra progress data (see the layout above). `loadCheckpoint`
 * restores it; any safetensors reader sees the tensors.
 */
export function saveCheckpoint(path: string, checkpoint: Checkpoint): void {
  const op = 'saveCheckpoint';
  if (typeof path !== 'string' || path === '') throw new TypeError(`${op}: path must be a non-empty string`);
  if (checkpoint === null || typeof checkpoint !== 'object') throw new TypeError(`${op}: expected { model, optimizer?, extra? }`);
  for (const k of Object.keys(checkpoint)) {
    if (k !== 'model' && k !== 'optimizer' && k !== 'extra') throw new Error(`${op}: unknown field ${JSON.stringify(k)} (expected model, optimizer, extra)`);
  }
  const model = entriesOf(op, checkpoint.model);
  const tensors: [string, Tensor][] = model.map(([k, t]) => [`model.${k}`, t]);
  const used = new Set(tensors.map(([k]) => k));
  const doc: Record<string, unknown> = { model: model.map(([k]) => k) };
  if (checkpoint.optimizer !== undefined) doc.optimizer = encodeTree(checkpoint.optimizer, 'optimizer', tensors, used, op);
  if (checkpoint.extra !== undefined) doc.extra = encodeTree(checkpoint.extra, 'extra', tensors, used, op);
  writeSafetensors(path, op, tensors, { format: CKPT_FORMAT, version: '1', [CKPT_KEY]: JSON.stringify(doc) });
}

/** Loads a checkpoint written by saveCheckpoint; the tensors are fresh ones the caller owns. */
export function loadCheckpoint<O = unknown, E = unknown>(path: string): Checkpoint<O, E> {
  checkHost('loadCheckpoint');
  return withFile(path, 'loadCheckpoint', (fd) => {
    const header = readHeader(fd, path);
    const fail = (msg: string): never => {
      throw new Error(`loadCheckpoint: ${path}: ${msg}`);
    };
    const meta = header.metadata;
    if (meta.format !== CKPT_FORMAT || typeof meta[CKPT_KEY] !== 'string') {
      fail(`not a tensorforge checkpoint (no "${CKPT_KEY}" metadata; use load() for plain safetensors files)`);
    }
    if (meta.version !== '1') fail(`checkpoint version ${JSON.stringify(meta.version)} is not supported (expected "1")`);
    let doc: unknown;
    try {
      doc = JSON.parse(meta[CKPT_KEY]);
    } catch (e) {
      return fail(`invalid checkpoint JSON (${(e as Error).message})`);
    }
    if (doc === null || typeof doc !== 'object' || !Array.isArray((doc as { model?: unknown }).model)) fail('checkpoint JSON has no model key list');
    const d = doc as { model: unknown[]; optimizer?: unknown; extra?: unknown };
    const names = new Set(header.entries.map((e) => e.name));
    const referenced = new Set<string>();
    for (const k of d.model) {
      if (typeof k !== 'string' || !names.has(`model.${k}`)) fail(`model key ${JSON.stringify(k)} has no tensor "model.${String(k)}" in the file`);
      if (referenced.has(`model.${k}`)) fail(`model key ${JSON.stringify(k)} is listed twice`);
      referenced.add(`model.${k}`);
    }
    // Validate the references before reading any tensor data.
    if (d.optimizer !== undefined) decodeTree(d.optimizer, null, referenced, names, fail);
    if (d.extra !== undefined) decodeTree(d.extra, null, referenced, names, fail);
    for (const n of names) if (!referenced.has(n)) fail(`tensor ${JSON.stringify(n)} is not referenced by the checkpoint JSON`);
    const tensors = readTensors(fd, header, path);
    const out: Checkpoint<O, E> = { model: {} };
    for (const k of d.model as string[]) Object.defineProperty(out.model, k, { value: tensors[`model.${k}`], enumerable: true, writable: true, configurable: true });
    const seen = new Set<string>();
    if (d.optimizer !== undefined) out.optimizer = decodeTree(d.optimizer, tensors, seen, names, fail) as O;
    if (d.extra !== undefined) out.extra = decodeTree(d.extra, tensors, seen, names, fail) as E;
    return out;
  });
}
