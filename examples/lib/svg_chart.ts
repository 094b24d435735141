// Writes line charts as a standalone SVG file a person can open in any browser: one panel per
// series group (e.g. training loss per step, test accuracy per epoch), with axes and labels.

export interface Series {
  name: string;
  points: [number, number][];
  color: string;
}
export interface Panel {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  /** Fixed y range (default: the data's range). */
  yRange?: [number, number];
}

const W = 640, H = 300, M = { left: 64, right: 20, top: 36, bottom: 48 };

function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const step0 = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(step0));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= step0) ?? step0;
  const ticks: number[] = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + 1e-12; t += step) ticks.push(Number(t.toPrecision(12)));
  return ticks;
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function panelSvg(p: Panel, yOffset: number): string {
  const all = p.series.flatMap((s) => s.points);
  const xs = all.map((q) => q[0]), ys = all.map((q) => q[1]);
  const x0 = Math.min(...xs, 0), x1 = Math.max(...xs, 1);
  let [y0, y1] = p.yRange ?? [Math.min(...ys), Math.max(...ys)];
  if (!(y1 > y0)) { y0 -= 0.5; y1 += 0.5; }
  const pw = W - M.left - M.right, ph = H - M.top - M.bottom;
  const sx = (x: number) => M.left + ((x - x0) / (x1 - x0)) * pw;
  const sy = (y: number) => yOffset + M.top + ph - ((y - y0) / (y1 - y0)) * ph;
  const out: string[] = [];
  out.push(`<text x="${W / 2}" y="${yOffset + 22}" text-anchor="middle" font-size="15" font-weight="bold">${esc(p.title)}</text>`);
  out.push(`<rect x="${M.left}" y="${yOffset + M.top}" width="${pw}" height="${ph}" fill="none" stroke="#999"/>`);
  for (const t of niceTicks(y0, y1)) {
    out.push(`<line x1="${M.left}" x2="${M.left + pw}" y1="${sy(t)}" y2="${sy(t)}" stroke="#eee"/>`);
    out.push(`<text x="${M.left - 6}" y="${sy(t) + 4}" text-anchor="end" font-size="11">${t}</text>`);
  }
  for (const t of niceTicks(x0, x1)) {
    out.push(`<text x="${sx(t)}" y="${yOffset + M.top + ph + 16}" text-anchor="middle" font-size="11">${t}</text>`);
  }
  out.push(`<text x="${M.left + pw / 2}" y="${yOffset + H - 8}" text-anchor="middle" font-size="12">${esc(p.xLabel)}</text>`);
  out.push(`<text transform="translate(16 ${yOffset + M.top + ph / 2}) rotate(-90)" text-anchor="middle" font-size="12">${esc(p.yLabel)}</text>`);
  p.series.forEach((s, i) => {
    const d = s.points.map(([x, y], k) => `${k ? 'L' : 'M'}${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join('');
    out.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="1.5"/>`);
    if (s.points.length <= 50) for (const [x, y] of s.points) out.push(`<circle cx="${sx(x)}" cy="${sy(y)}" r="3" fill="${s.color}"/>`);
    out.push(`<text x="${M.left + pw - 4}" y="${yOffset + M.top + 14 + 14 * i}" text-anchor="end" font-size="12" fill="${s.color}">${esc(s.name)}</text>`);
  });
  return out.join('\n');
}

export function chartSvg(panels: Panel[]): string {
  const body = panels.map((p, i) => panelSvg(p, i * H)).join('\n');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H * panels.length}" font-family="sans-serif">\n<rect width="100%" height="100%" fill="white"/>\n${body}\n</svg>\n`;
}
