// save/load (safetensors) and saveCheckpoint/loadCheckpoint: round trips, the byte layout, atomic
// writes, hostile files, and interoperability with PyTorch (by hand-written safetensors code in
// Python, since the safetensors package may be missing) when /usr/bin/python3 has torch.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import * as tf from '../lib';
import type { Tensor } from '../lib';

const dir = mkdtempSync(join(tmpdir(), 'tf-st-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let fileNo = 0;
const tmp = (name = 'f'): string => join(dir, `${name}-${fileNo++}.safetensors`);

const live = (): { tensors: number; storages: number; bytes: number } => {
  const m = tf.memory();
  return { tensors: m.tensors, storages: m.storages, bytes: m.bytes };
};
const same = (a: Tensor, b: Tensor): void => {
  expect(b.dtype).toBe(a.dtype);
  expect(b.shape).toEqual(a.shape);
  expect(Array.from(b.dataSync() as ArrayLike<number>)).toEqual(Array.from(a.dataSync() as ArrayLike<number>));
};

/** A safetensors file from a header (object or raw JSON text) and data bytes. */
function stFile(header: object | string, data: Uint8Array | number[] = [], headerLen?: bigint): Buffer {
  const h = Buffer.from(typeof header === 'string' ? header : JSON.stringify(header), 'utf8');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(headerLen ?? BigInt(h.length));
  return Buffer.concat([len, h, Buffer.from(data)]);
}
function writeTmp(bytes: Buffer): string {
  const p = tmp('hostile');
  writeFileSync(p, bytes);
  return p;
}

describe('save / load', () => {
  it('round-trips every dtype and odd shapes (0-d, empty, non-contiguous)', () => {
    const m0 = live();
    const base = tf.tidy(() => tf.arange(24).reshape(2, 3, 4).float());
    const view = tf.tidy(() => base.permute(2, 0, 1).slice(0, 1, 3));
    const src: Record<string, Tensor> = {
      f32: tf.tensor([[1.5, -2, NaN], [Infinity, -Infinity, -0]]),
      f64: tf.tensor(Float64Array.of(Math.PI, 1e-300, -1e300)),
      i32: tf.tensor(Int32Array.of(-(2 ** 31), 2 ** 31 - 1, 0, 7), { shape: [2, 2] }),
      bool: tf.tensor([[true, false, true]]),
      scalar: tf.tensor(3.25),
      scalarInt: tf.tensor(Int32Array.of(-9), { shape: [] }),
      empty: tf.zeros([3, 0, 2]),
      empty1: tf.zeros([0], { dtype: 'int32' }),
      view,
      'weird name ✓ "quoted"': tf.ones([1, 1, 1, 1, 1]),
    };
    const p = tmp();
    tf.save(src, p);
    const back = tf.load(p);
    expect(Object.keys(back)).toEqual(Object.keys(src));
    for (const k of Object.keys(src)) same(src[k], back[k]);
    expect(Object.is((back.f32.dataSync() as Float32Array)[5], -0)).toBe(true);
    tf.dispose([src, back, base]);
    expect(live()).toEqual(m0);
    // A Map works too, and an empty dict.
    const q = tmp();
    tf.save(new Map([['a', tf.tensor([1, 2])]]), q);
    expect(tf.load(q).a.toArray()).toEqual([1, 2]);
    tf.save({}, q);
    expect(tf.load(q)).toEqual({});
  });
  it('writes the documented layout: u64 header length, padded JSON, packed little-endian data', () => {
    const p = tmp();
    tf.save({ a: tf.tensor([1, 2]), b: tf.tensor(Int32Array.of(3)) }, p, { metadata: { author: 'me', note: 'x' } });
    const bytes = readFileSync(p);
    const n = Number(bytes.readBigUInt64LE(0));
    expect((8 + n) % 8).toBe(0);
    const header = JSON.parse(bytes.subarray(8, 8 + n).toString('utf8'));
    expect(header).toEqual({
      __metadata__: { author: 'me', note: 'x' },
      a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
      b: { dtype: 'I32', shape: [1], data_offsets: [8, 12] },
    });
    expect(bytes.length).toBe(8 + n + 12);
    expect(bytes.readFloatLE(8 + n + 4)).toBe(2);
    expect(bytes.readInt32LE(8 + n + 8)).toBe(3);
    expect(tf.loadMetadata(p)).toEqual({ author: 'me', note: 'x' });
    tf.save({ a: tf.tensor([1]) }, p);
    expect(tf.loadMetadata(p)).toEqual({});
  });
  it('validates what it is asked to save', () => {
    const t = tf.tensor([1]);
    const p = tmp();
    expect(() => tf.save({ __metadata__: t }, p)).toThrow(/reserved/);
    expect(() => tf.save({ a: 1 } as never, p)).toThrow(/"a" is not a Tensor/);
    expect(() => tf.save({ a: t }, p, { metadata: { k: 1 } as never })).toThrow(/not a string/);
    const d = tf.tensor([1]);
    d.dispose();
    expect(() => tf.save({ d }, p)).toThrow(/disposed/);
    expect(existsSync(p)).toBe(false);
    expect(() => tf.save({ a: t }, join(dir, 'no-such-dir', 'x.safetensors'))).toThrow(/cannot create a temporary file/);
    t.dispose();
  });
  it('is atomic: a failing write leaves the old file intact and no temporary file', () => {
    const p = tmp('atomic');
    tf.save({ a: tf.tensor([1, 2, 3]) }, p);
    const before = readFileSync(p);
    const good = tf.ones([1000]);
    const bad = tf.ones([10]);
    (bad as unknown as { _rawSync: () => never })._rawSync = () => {
      throw new Error('disk on fire');
    };
    expect(() => tf.save({ good, bad }, p)).toThrow(/disk on fire/);
    expect(readFileSync(p).equals(before)).toBe(true);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    expect(tf.load(p).a.toArray()).toEqual([1, 2, 3]);
    tf.dispose([good, bad]);
  });
  it('reads the other safetensors dtypes: I64, U8, I16, F16, BF16', () => {
    const i64 = Buffer.alloc(16);
    i64.writeBigInt64LE(-5n, 0);
    i64.writeBigInt64LE(2147483647n, 8);
    const f16 = Buffer.from([0x00, 0x3c, 0x00, 0xc0, 0x00, 0x7c, 0x01, 0x00]); // 1, -2, inf, 2^-24
    const bf16 = Buffer.from([0x80, 0x3f, 0x40, 0xc0]); // 1, -3
    const data = Buffer.concat([i64, Buffer.from([0, 255]), Buffer.from([0xff, 0xff]), f16, bf16]);
    const p = writeTmp(stFile({
      a: { dtype: 'I64', shape: [2], data_offsets: [0, 16] },
      b: { dtype: 'U8', shape: [2], data_offsets: [16, 18] },
      c: { dtype: 'I16', shape: [], data_offsets: [18, 20] },
      d: { dtype: 'F16', shape: [4], data_offsets: [20, 28] },
      e: { dtype: 'BF16', shape: [2], data_offsets: [28, 32] },
    }, data));
    const t = tf.load(p);
    expect(t.a.dtype).toBe('int32');
    expect(t.a.toArray()).toEqual([-5, 2147483647]);
    expect(t.b.toArray()).toEqual([0, 255]);
    expect(t.c.toArray()).toEqual(-1);
    expect(t.d.dtype).toBe('float16');
    expect(t.d.toArray()).toEqual([1, -2, Infinity, 2 ** -24]);
    expect(t.e.dtype).toBe('bfloat16');
    expect(t.e.toArray()).toEqual([1, -3]);
    tf.dispose(t);
    const big = Buffer.alloc(8);
    big.writeBigInt64LE(2n ** 40n);
    const m0 = live();
    expect(() => tf.load(writeTmp(stFile({ x: { dtype: 'F32', shape: [], data_offsets: [0, 4] }, a: { dtype: 'I64', shape: [1], data_offsets: [4, 12] } }, Buffer.concat([Buffer.alloc(4), big])))))
      .toThrow(/tensor "a": I64 value 1099511627776 at element 0 does not fit int32/);
    expect(live()).toEqual(m0);
  });
});

describe('hostile files are rejected before any tensor is created', () => {
  const f32 = (shape: number[], offsets: [number, number]): object => ({ dtype: 'F32', shape, data_offsets: offsets });
  const cases: [string, Buffer, RegExp][] = [
    ['too short', Buffer.from([1, 0, 0]), /3 bytes is too short/],
    ['header past the end', stFile('{}', [], 1000n), /header length 1000 runs past the end of the file \(10 bytes\)/],
    ['absurd header length', stFile('{}', [], 2n ** 60n), /header length 1152921504606846976 is absurdly large/],
    ['invalid JSON', stFile('{"a": {"dtype": "F32",}}'), /invalid JSON header: expected a string key at character 22/],
    ['truncated JSON', stFile('{"a": '), /invalid JSON header/],
    ['not UTF-8', stFile(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]).toString('latin1')), /not valid UTF-8|invalid JSON/],
    ['not an object', stFile('[1, 2]'), /does not start with '\{'/],
    ['trailing junk after JSON', stFile('{} x'), /unexpected data after the JSON value/],
    ['unknown dtype', stFile({ a: { dtype: 'Q7', shape: [1], data_offsets: [0, 4] } }, Buffer.alloc(4)), /tensor "a": unknown dtype "Q7"/],
    ['unsupported dtype', stFile({ a: { dtype: 'U64', shape: [1], data_offsets: [0, 8] } }, Buffer.alloc(8)), /dtype U64 is not supported/],
    ['missing dtype', stFile({ a: { shape: [1], data_offsets: [0, 4] } }, Buffer.alloc(4)), /dtype is missing/],
    ['negative dim', stFile({ a: f32([-1], [0, 4]) }, Buffer.alloc(4)), /invalid shape \[-1\]/],
    ['fractional dim', stFile({ a: f32([1.5], [0, 4]) }, Buffer.alloc(4)), /invalid shape \[1\.5\]/],
    ['string dim', stFile({ a: { dtype: 'F32', shape: ['2'], data_offsets: [0, 8] } }, Buffer.alloc(8)), /invalid shape/],
    ['shape not an array', stFile({ a: { dtype: 'F32', shape: 4, data_offsets: [0, 16] } }, Buffer.alloc(16)), /shape is missing or not an array/],
    ['too many dims', stFile({ a: f32(new Array(40).fill(1), [0, 4]) }, Buffer.alloc(4)), /40 dims/],
    ['huge shape', stFile({ a: f32([2 ** 40, 2 ** 40], [0, 4]) }, Buffer.alloc(4)), /hold 4 bytes but F32 shape .* needs more than the file has/],
    ['offsets past the end', stFile({ a: f32([2], [0, 8]) }, Buffer.alloc(4)), /\[0, 8\] run past the end of the data \(4 bytes\)/],
    ['offsets reversed', stFile({ a: f32([0], [4, 0]) }, Buffer.alloc(4)), /end before they begin/],
    ['negative offset', stFile({ a: f32([1], [-4, 0]) }, Buffer.alloc(4)), /invalid data_offsets/],
    ['bad offsets', stFile({ a: { dtype: 'F32', shape: [1], data_offsets: [0] } }, Buffer.alloc(4)), /data_offsets must be \[begin, end\]/],
    ['size mismatch', stFile({ a: f32([3], [0, 8]) }, Buffer.alloc(8)), /hold 8 bytes but F32 shape \[3\] needs 12/],
    ['overlap', stFile({ a: f32([2], [0, 8]), b: f32([2], [4, 12]) }, Buffer.alloc(12)), /overlap/],
    ['gap', stFile({ a: f32([1], [0, 4]), b: f32([1], [8, 12]) }, Buffer.alloc(12)), /gap: bytes 4\.\.8/],
    ['trailing data', stFile({ a: f32([1], [0, 4]) }, Buffer.alloc(8)), /cover 4 bytes but the data section has 8/],
    ['missing data', stFile({}, Buffer.alloc(4)), /cover 0 bytes but the data section has 4/],
    ['duplicate names', stFile('{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}, "a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}', Buffer.alloc(4)), /duplicate key "a"/],
    ['duplicate field', stFile('{"a": {"dtype": "F32", "shape": [1], "shape": [2], "data_offsets": [0, 4]}}', Buffer.alloc(4)), /duplicate key "shape"/],
    ['bad metadata', stFile({ __metadata__: { a: 1 } }), /__metadata__ value for "a" is not a string/],
    ['empty name', stFile({ '': f32([1], [0, 4]) }, Buffer.alloc(4)), /empty name/],
    ['deep nesting', stFile(`{"a": ${'['.repeat(100)}${']'.repeat(100)}}`), /nesting deeper/],
  ];
  it.each(cases)('%s', (_name, bytes, re) => {
    const p = writeTmp(bytes);
    const m0 = live();
    expect(() => tf.load(p)).toThrow(re);
    expect(() => tf.load(p)).toThrow(new RegExp(`safetensors file ${p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    expect(live()).toEqual(m0);
  });
  it('a missing file is a clear error', () => {
    expect(() => tf.load(join(dir, 'absent.safetensors'))).toThrow(/load: cannot open .*absent\.safetensors/);
  });
});

describe('checkpoints', () => {
  it('round-trip model, optimizer state and extra progress data', () => {
    const model = new tf.nn.Sequential(new tf.nn.Linear(3, 4), new tf.nn.ReLU(), new tf.nn.Linear(4, 2));
    const sd = model.stateDict();
    const m1 = tf.randn([4, 3]), v1 = tf.rand([4, 3]);
    const optimizer = {
      state: { 0: { step: 3, expAvg: m1, expAvgSq: v1 }, 1: { step: 3, expAvg: m1 } },
      paramGroups: [{ lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, amsgrad: false, params: [0, 1, 2, 3] }],
    };
    const extra = { epoch: 2, bestLoss: Infinity, nanSeen: NaN, history: [0.9, 0.5, null], name: 'run-1' };
    const p = tmp('ckpt');
    tf.saveCheckpoint(p, { model: sd, optimizer, extra });
    const names = Object.keys(tf.load(p)).sort();
    expect(names).toEqual(['model.0.bias', 'model.0.weight', 'model.2.bias', 'model.2.weight', 'optimizer.state.0.expAvg', 'optimizer.state.0.expAvgSq', 'optimizer.state.1.expAvg'].sort());
    const ck = tf.loadCheckpoint<typeof optimizer, typeof extra>(p);
    expect(Object.keys(ck.model)).toEqual(Object.keys(sd));
    for (const k of Object.keys(sd)) same(sd[k], ck.model[k]);
    same(m1, ck.optimizer!.state[0].expAvg);
    same(v1, ck.optimizer!.state[0].expAvgSq);
    same(m1, ck.optimizer!.state[1].expAvg);
    expect(ck.optimizer!.state[0].step).toBe(3);
    expect(ck.optimizer!.paramGroups).toEqual(optimizer.paramGroups);
    expect(ck.extra).toEqual(extra);
    const fresh = new tf.nn.Sequential(new tf.nn.Linear(3, 4), new tf.nn.ReLU(), new tf.nn.Linear(4, 2));
    fresh.loadStateDict(ck.model);
    same(sd['2.weight'], fresh.stateDict()['2.weight']);
    tf.dispose([ck.model, ck.optimizer as never, m1, v1]);
  });
  it('rejects bad input and files that are not checkpoints', () => {
    const t = tf.tensor([1]);
    const p = tmp('ckpt');
    expect(() => tf.saveCheckpoint(p, { model: { w: t }, extra: { when: new Date() } })).toThrow(/extra\.when is Date/);
    expect(() => tf.saveCheckpoint(p, { model: { w: t }, extra: { f: () => 1 } })).toThrow(/extra\.f is function/);
    expect(() => tf.saveCheckpoint(p, { model: { w: t }, extra: { __tensor__: 'x' } })).toThrow(/reserved key/);
    expect(() => tf.saveCheckpoint(p, { model: { w: t }, epoch: 3 } as never)).toThrow(/unknown field "epoch"/);
    expect(existsSync(p)).toBe(false);
    tf.save({ w: t }, p);
    expect(() => tf.loadCheckpoint(p)).toThrow(/not a tensorforge checkpoint/);
    const meta = (doc: object) => ({ format: 'tensorforge.checkpoint', version: '1', 'tensorforge.checkpoint': JSON.stringify(doc) });
    tf.save({ 'model.w': t }, p, { metadata: meta({ model: ['w'], extra: { x: { __tensor__: 'extra.nope' } } }) });
    expect(() => tf.loadCheckpoint(p)).toThrow(/refers to tensor "extra.nope", which the file does not hold/);
    tf.save({ 'model.w': t, stray: t }, p, { metadata: meta({ model: ['w'] }) });
    expect(() => tf.loadCheckpoint(p)).toThrow(/tensor "stray" is not referenced/);
    tf.save({ 'model.w': t }, p, { metadata: meta({ model: ['v'] }) });
    expect(() => tf.loadCheckpoint(p)).toThrow(/model key "v" has no tensor/);
    t.dispose();
  });
});

// ---------------------------------------------------------------------------------------------
// PyTorch interoperability, written by hand in Python (struct + json + torch.frombuffer).

const PY = '/usr/bin/python3';
const hasTorch = existsSync(PY) && spawnSync(PY, ['-c', 'import importlib.util, sys; sys.exit(importlib.util.find_spec("torch") is None)'], { encoding: 'utf8' }).status === 0;

const PY_READ = `
import json, struct, sys, torch
path = sys.argv[1]
raw = open(path, 'rb').read()
n = struct.unpack('<Q', raw[:8])[0]
header = json.loads(raw[8:8 + n])
data = raw[8 + n:]
dt = {'F32': torch.float32, 'F64': torch.float64, 'I32': torch.int32, 'BOOL': torch.bool, 'F16': torch.float16, 'BF16': torch.bfloat16}
out = {'__metadata__': header.pop('__metadata__', None)}
for name, info in header.items():
    b, e = info['data_offsets']
    t = torch.frombuffer(bytearray(data[b:e]), dtype=dt[info['dtype']]) if e > b else torch.empty(0, dtype=dt[info['dtype']])
    t = t.reshape(info['shape'])
    out[name] = {'dtype': str(t.dtype), 'shape': list(t.shape), 'sum': float(t.double().sum()), 'values': t.double().flatten().tolist()[:6]}
result = {'read': out}
`;

const PY_WRITE = `
import json, struct, sys, torch
path = sys.argv[2]
tensors = {
  'w': torch.arange(6, dtype=torch.float32).reshape(2, 3) / 4,
  'd': torch.tensor([1.5, -2.25], dtype=torch.float64),
  'i': torch.tensor([[1, -2], [3, 4]], dtype=torch.int32),
  'l': torch.tensor([7, -8, 2**31 - 1], dtype=torch.int64),
  'b': torch.tensor([True, False, True]),
  'h': torch.tensor([0.5, -1.0, 65504.0], dtype=torch.float16),
  'bf': torch.tensor([1.0, -3.0], dtype=torch.bfloat16),
  's': torch.tensor(2.5),
  'e': torch.zeros(0, 3),
}
names = {torch.float32: 'F32', torch.float64: 'F64', torch.int32: 'I32', torch.int64: 'I64', torch.bool: 'BOOL', torch.float16: 'F16', torch.bfloat16: 'BF16'}
header, blobs, at = {'__metadata__': {'framework': 'pt'}}, [], 0
for k, t in tensors.items():
    # bytes of the tensor in little-endian (bfloat16 through int16, which numpy lacks)
    b = (t.view(torch.int16) if t.dtype == torch.bfloat16 else t).contiguous().numpy().tobytes()
    header[k] = {'dtype': names[t.dtype], 'shape': list(t.shape), 'data_offsets': [at, at + len(b)]}
    blobs.append(b)
    at += len(b)
h = json.dumps(header).encode()
h += b' ' * ((8 - len(h) % 8) % 8)
with open(path, 'wb') as f:
    f.write(struct.pack('<Q', len(h)) + h + b''.join(blobs))
result['written'] = {k: t.double().flatten().tolist() for k, t in tensors.items()}
print(json.dumps(result))
`;

describe.skipIf(!hasTorch)('interop with PyTorch (/usr/bin/python3 + torch)', () => {
  it('Python reads what tensorforge writes; tensorforge reads what Python writes (incl. int64, float16, bfloat16)', () => {
    const toPy = tmp('to-py');
    const fromPy = tmp('from-py');
    const src = {
      w: tf.tidy(() => tf.arange(12).reshape(3, 4).float().div(8)),
      d: tf.tensor(Float64Array.of(1e-300, -2.5)),
      i: tf.tensor(Int32Array.of(-7, 2 ** 31 - 1), { shape: [2, 1] }),
      b: tf.tensor([false, true, true]),
      s: tf.tensor(4.5),
      e: tf.zeros([2, 0]),
      h: tf.tensor([0.1, -65504, 6e-8], { dtype: 'float16' }),
      bf: tf.tensor([0.1, -3e38, 1e-30], { dtype: 'bfloat16' }),
    };
    tf.save(src, toPy, { metadata: { from: 'tensorforge' } });
    // One Python process (importing torch takes a second): read toPy, then write fromPy.
    const r = spawnSync(PY, ['-c', PY_READ + PY_WRITE, toPy, fromPy], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    const { read: got, written: expected } = JSON.parse(r.stdout) as { read: Record<string, any>; written: Record<string, number[]> };

    expect(got.__metadata__).toEqual({ from: 'tensorforge' });
    const torchDtype = {
      float32: 'torch.float32', float64: 'torch.float64', int32: 'torch.int32', bool: 'torch.bool',
      float16: 'torch.float16', bfloat16: 'torch.bfloat16',
    };
    for (const [k, t] of Object.entries(src)) {
      expect(got[k].dtype).toBe(torchDtype[t.dtype]);
      expect(got[k].shape).toEqual(t.shape);
      const v = Array.from(t.dataSync() as ArrayLike<number>, Number);
      expect(got[k].values).toEqual(v.slice(0, 6));
      expect(got[k].sum).toBeCloseTo(v.reduce((a, c) => a + c, 0), 12);
    }
    tf.dispose(src);

    const t = tf.load(fromPy);
    expect(tf.loadMetadata(fromPy)).toEqual({ framework: 'pt' });
    const dtypes = { w: 'float32', d: 'float64', i: 'int32', l: 'int32', b: 'bool', h: 'float16', bf: 'bfloat16', s: 'float32', e: 'float32' };
    expect(Object.keys(t)).toEqual(Object.keys(dtypes));
    for (const [k, dt] of Object.entries(dtypes)) {
      expect(t[k].dtype).toBe(dt);
      expect(Array.from(t[k].dataSync() as ArrayLike<number>, Number)).toEqual(expected[k]);
    }
    expect(t.w.shape).toEqual([2, 3]);
    expect(t.s.shape).toEqual([]);
    expect(t.e.shape).toEqual([0, 3]);
    tf.dispose(t);
  });
});
