// IDX files (the MNIST format), gzipped or not. Layout, all integers big-endian:
//   bytes 0-1  zero
//   byte 2     element type: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64
//   byte 3     number of dims (1..MAX_IDX_DIMS here)
//   then one u32 per dim, then prod(dims) elements, row-major
// So MNIST images start with 0x00000803 ([N, 28, 28] uint8) and labels with 0x00000801 ([N] uint8).
// Every length and offset is checked before it is used: a truncated, oversized or malformed file is
// an Error naming the file and the problem. Trailing bytes after the data are rejected too (the
// format has no room for them; they mean a wrong or corrupted file) unless allowTrailing is set.
// No tensorforge tensors here: this module only parses bytes (scripts use it without the addon).
import { readFileSync, statSync } from 'node:fs';
import { gunzipSync, gzipSync } from 'node:zlib';

export type IdxType = 'uint8' | 'int8' | 'int16' | 'int32' | 'float32' | 'float64';
export type IdxData = Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;

export interface IdxArray {
  type: IdxType;
  shape: number[];
  /** The elements, row-major, converted to the host's byte order. */
  data: IdxData;
}

export interface IdxReadOptions {
  /** Largest decoded size accepted, in bytes (default 1 GiB); bigger files are rejected, not read. */
  maxBytes?: number;
  /** Accept bytes after the data (ignored). Default false: they are an error. */
  allowTrailing?: boolean;
}

export const MAX_IDX_DIMS = 8;
const DEFAULT_MAX_BYTES = 2 ** 30;

const TYPES: Record<number, { type: IdxType; size: number }> = {
  0x08: { type: 'uint8', size: 1 },
  0x09: { type: 'int8', size: 1 },
  0x0b: { type: 'int16', size: 2 },
  0x0c: { type: 'int32', size: 4 },
  0x0d: { type: 'float32', size: 4 },
  0x0e: { type: 'float64', size: 8 },
};
const CODES: Record<IdxType, number> = { uint8: 0x08, int8: 0x09, int16: 0x0b, int32: 0x0c, float32: 0x0d, float64: 0x0e };

function isGzip(b: Uint8Array): boolean {
  return b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b;
}

/**
 * Parses IDX bytes (gzipped when they start with the gzip magic 1f 8b). `name` is used in errors
 * (a file path, or a label for an in-memory buffer).
 */
export function parseIdx(bytes: Uint8Array, name = '<buffer>', opts: IdxReadOptions = {}): IdxArray {
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX_BYTES;
  const fail = (msg: string): never => {
    throw new Error(`IDX file ${name}: ${msg}`);
  };
  if (!(bytes instanceof Uint8Array)) throw new TypeError(`IDX file ${name}: expected a Uint8Array or Buffer`);
  let buf = bytes;
  if (isGzip(buf)) {
    try {
      buf = gunzipSync(buf, { maxOutputLength: maxBytes + 1 });
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      if (err.code === 'ERR_BUFFER_TOO_LARGE' || err instanceof RangeError) fail(`decompresses to more than ${maxBytes} bytes (the limit; see maxBytes)`);
      fail(`not a valid gzip stream (${err.message})`);
    }
  }
  if (buf.length > maxBytes) fail(`${buf.length} bytes is more than the limit of ${maxBytes} (see maxBytes)`);
  if (buf.length < 4) fail(`truncated: ${buf.length} bytes, shorter than the 4-byte magic number`);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const magic = view.getUint32(0, false);
  const hex = `0x${magic.toString(16).padStart(8, '0')}`;
  if (buf[0] !== 0 || buf[1] !== 0) fail(`bad magic number ${hex} (expected 0x0000TTDD: two zero bytes, type, dim count)`);
  const t = TYPES[buf[2]];
  if (!t) fail(`bad magic number ${hex}: unknown element type 0x${buf[2].toString(16).padStart(2, '0')}`);
  const ndim = buf[3];
  if (ndim < 1 || ndim > MAX_IDX_DIMS) fail(`bad magic number ${hex}: ${ndim} dims (expected 1..${MAX_IDX_DIMS})`);
  const header = 4 + 4 * ndim;
  if (buf.length < header) fail(`truncated: ${buf.length} bytes, shorter than the ${header}-byte header for ${ndim} dims`);
  const shape: number[] = [];
  for (let d = 0; d < ndim; d++) shape.push(view.getUint32(4 + 4 * d, false));
  const available = Math.floor((buf.length - header) / t.size);
  let numel = shape.includes(0) ? 0 : 1;
  for (const s of shape) {
    numel *= s; // stays finite: it is at most available * 2^32 before the check stops it
    if (numel > available) {
      const total = shape.reduce((p, c) => p * c, 1);
      fail(`dims [${shape.join(', ')}] need ${total} ${t.type} elements (${total * t.size} bytes) but only ${buf.length - header} data bytes follow the header (truncated or bad dims)`);
    }
  }
  const dataBytes = numel * t.size;
  const trailing = buf.length - header - dataBytes;
  if (trailing > 0 && !opts.allowTrailing) fail(`${trailing} unexpected bytes after the ${dataBytes} bytes of data for dims [${shape.join(', ')}]`);
  return { type: t.type, shape, data: decode(view, header, numel, t.type) };
}

function decode(view: DataView, at: number, n: number, type: IdxType): IdxData {
  switch (type) {
    case 'uint8':
      return new Uint8Array(view.buffer.slice(view.byteOffset + at, view.byteOffset + at + n));
    case 'int8':
      return new Int8Array(view.buffer.slice(view.byteOffset + at, view.byteOffset + at + n));
    case 'int16': {
      const out = new Int16Array(n);
      for (let i = 0; i < n; i++) out[i] = view.getInt16(at + 2 * i, false);
      return out;
    }
    case 'int32': {
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) out[i] = view.getInt32(at + 4 * i, false);
      return out;
    }
    case 'float32': {
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = view.getFloat32(at + 4 * i, false);
      return out;
    }
    case 'float64': {
      const out = new Float64Array(n);
      for (let i = 0; i < n; i++) out[i] = view.getFloat64(at + 8 * i, false);
      return out;
    }
  }
}

/** Reads an IDX file (gzipped or not); see parseIdx. Errors name the path. */
export function readIdx(path: string, opts: IdxReadOptions = {}): IdxArray {
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX_BYTES;
  let size: number;
  try {
    const st = statSync(path);
    if (!st.isFile()) throw new Error('not a regular file');
    size = st.size;
  } catch (e) {
    throw new Error(`IDX file ${path}: cannot read it (${(e as Error).message})`);
  }
  if (size > maxBytes) throw new Error(`IDX file ${path}: ${size} bytes is more than the limit of ${maxBytes} (see maxBytes)`);
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new Error(`IDX file ${path}: cannot read it (${(e as Error).message})`);
  }
  return parseIdx(bytes, path, opts);
}

/** Encodes an array as IDX bytes (gzipped with `gzip: true`). The inverse of parseIdx. */
export function encodeIdx(data: IdxData, shape: readonly number[], opts: { type?: IdxType; gzip?: boolean } = {}): Buffer {
  const type = opts.type ?? typeOfArray(data);
  if (shape.length < 1 || shape.length > MAX_IDX_DIMS) throw new RangeError(`encodeIdx: expected 1..${MAX_IDX_DIMS} dims, got ${shape.length}`);
  for (const s of shape) if (!Number.isInteger(s) || s < 0 || s > 0xffffffff) throw new RangeError(`encodeIdx: invalid dim ${s}`);
  const numel = shape.reduce((p, c) => p * c, 1);
  if (numel !== data.length) throw new RangeError(`encodeIdx: dims [${shape.join(', ')}] need ${numel} elements, got ${data.length}`);
  const size = TYPES[CODES[type]].size;
  const header = 4 + 4 * shape.length;
  const out = Buffer.alloc(header + numel * size);
  out[2] = CODES[type];
  out[3] = shape.length;
  shape.forEach((s, d) => out.writeUInt32BE(s, 4 + 4 * d));
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  for (let i = 0; i < numel; i++) {
    const v = data[i];
    const at = header + i * size;
    switch (type) {
      case 'uint8': view.setUint8(at, v); break;
      case 'int8': view.setInt8(at, v); break;
      case 'int16': view.setInt16(at, v, false); break;
      case 'int32': view.setInt32(at, v, false); break;
      case 'float32': view.setFloat32(at, v, false); break;
      case 'float64': view.setFloat64(at, v, false); break;
    }
  }
  return opts.gzip ? gzipSync(out, { level: 9 }) : out;
}

function typeOfArray(a: IdxData): IdxType {
  if (a instanceof Uint8Array) return 'uint8';
  if (a instanceof Int8Array) return 'int8';
  if (a instanceof Int16Array) return 'int16';
  if (a instanceof Int32Array) return 'int32';
  if (a instanceof Float32Array) return 'float32';
  if (a instanceof Float64Array) return 'float64';
  throw new TypeError('encodeIdx: unsupported array type');
}
