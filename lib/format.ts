// toString() in PyTorch's print format: `tensor([[1.0000, 2.5000], ...])`, with integer-valued
// floats as `1.`, scientific notation when magnitudes span too much, `...` summaries past 1000
// elements, and the dtype / requiresGrad / gradFn suffixes.
import { isFloating } from './dtype';
import type { Tensor } from './tensor';

const THRESHOLD = 1000;
const EDGE = 3;
const LINE_WIDTH = 80;
const PRECISION = 4;

interface Formatter {
  width: number;
  format(v: number): string;
}

// As PyTorch's _Formatter: the mode and the column width come from the non-zero finite values only
// (zeros, nan and inf are padded to that width, or overflow it).
function floatFormatter(values: number[]): Formatter {
  const nonZero = values.filter((v) => Number.isFinite(v) && v !== 0);
  const intFmt = (v: number): string => (Number.isFinite(v) ? `${v.toFixed(0)}.` : special(v));
  let fmt: (v: number) => string = intFmt;
  if (nonZero.length > 0) {
    let maxAbs = 0, minAbs = Infinity;
    for (const v of nonZero) {
      const a = Math.abs(v);
      if (a > maxAbs) maxAbs = a;
      if (a < minAbs) minAbs = a;
    }
    const intMode = nonZero.every((v) => Number.isInteger(v));
    const wide = maxAbs / minAbs > 1000 || maxAbs > 1e8;
    if (intMode) fmt = wide ? sci : intFmt;
    else if (wide || minAbs < 1e-4) fmt = sci;
    else fmt = (v) => (Number.isFinite(v) ? v.toFixed(PRECISION) : special(v));
  }
  let width = 1;
  for (const v of nonZero) width = Math.max(width, fmt(v).length);
  return { width, format: fmt };
}
function special(v: number): string {
  return Number.isNaN(v) ? 'nan' : v > 0 ? 'inf' : '-inf';
}
function sci(v: number): string {
  if (!Number.isFinite(v)) return special(v);
  const [m, e] = v.toExponential(PRECISION).split('e');
  const exp = Number(e);
  return `${m}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
}

function plainFormatter(values: number[], isBool: boolean): Formatter {
  const fmt = isBool ? (v: number) => (v ? 'True' : 'False') : (v: number) => String(v);
  return { width: Math.max(0, ...values.map((v) => fmt(v).length)), format: fmt };
}

export function formatTensor(t: Tensor): string {
  if (t.isDisposed) return `tensor(<disposed>, shape=[${t._shape.join(', ')}], dtype=${t.dtype})`;
  const data = Array.from(t.dataSync());
  const shape = t._shape;
  const summarize = data.length > THRESHOLD;
  const isFloat = isFloating(t.dtype);
  const strides = shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));

  // Values that will be printed (the summary's edges), to size the columns.
  const shown: number[] = [];
  const collect = (d: number, base: number): void => {
    if (d === shape.length) {
      shown.push(data[base]);
      return;
    }
    const n = shape[d];
    const idx = summarize && n > 2 * EDGE ? [...range(0, EDGE), ...range(n - EDGE, n)] : range(0, n);
    for (const i of idx) collect(d + 1, base + i * strides[d]);
  };
  collect(0, 0);
  const f = isFloat ? floatFormatter(shown) : plainFormatter(shown, t.dtype === 'bool');

  const prefix = 'tensor(';
  const render = (d: number, base: number, indent: number): string => {
    if (d === shape.length) return f.format(data[base]).padStart(f.width);
    const n = shape[d];
    const idx: (number | null)[] =
      summarize && n > 2 * EDGE ? [...range(0, EDGE), null, ...range(n - EDGE, n)] : range(0, n);
    if (d === shape.length - 1) {
      // PyTorch's row summary item is ' ...' (so it reads `2.,  ..., 7.`).
      const items = idx.map((i) => (i === null ? ' ...' : render(d + 1, base + i * strides[d], indent + 1)));
      // Wrap long rows like PyTorch.
      const perLine = Math.max(1, Math.floor((LINE_WIDTH - indent) / (f.width + 2)));
      const lines: string[] = [];
      for (let i = 0; i < items.length; i += perLine) lines.push(items.slice(i, i + perLine).join(', '));
      return `[${lines.join(',\n' + ' '.repeat(indent + 1))}]`;
    }
    const sep = ',' + '\n'.repeat(shape.length - d - 1) + ' '.repeat(indent + 1);
    const parts = idx.map((i) => (i === null ? '...' : render(d + 1, base + i * strides[d], indent + 1)));
    return `[${parts.join(sep)}]`;
  };

  let body: string;
  if (shape.length === 0) body = f.format(data[0]);
  else if (data.length === 0) body = `[]`;
  else body = render(0, 0, prefix.length);
  const suffix: string[] = [];
  if (data.length === 0 && shape.length > 1) suffix.push(`size=[${shape.join(', ')}]`);
  if (t.dtype !== 'float32' && t.dtype !== 'bool') suffix.push(`dtype=${t.dtype}`);
  if (t.gradFn) suffix.push(`gradFn=<${t.gradFn.name}>`);
  else if (t.requiresGrad) suffix.push('requiresGrad=true');
  return `${prefix}${body}${suffix.length ? ', ' + suffix.join(', ') : ''})`;
}

function range(a: number, b: number): number[] {
  return Array.from({ length: Math.max(0, b - a) }, (_, i) => a + i);
}
