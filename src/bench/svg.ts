// Hand-written SVG line charts (no dependencies): latency CDFs and load-vs-latency curves.

export interface Series { name: string; points: Array<[number, number]> }
export interface Panel {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  logX?: boolean;
  logY?: boolean;
  markers?: boolean;
}

const COLORS: Record<string, string> = {
  "inference-router": "#d62728", oracle: "#2ca02c", "round-robin": "#7f7f7f", random: "#bcbd22", "least-request": "#1f77b4",
};
const FALLBACK = ["#9467bd", "#8c564b", "#e377c2", "#17becf"];

function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

function fmt(v: number): string {
  if (v >= 10000) return `${Math.round(v / 1000)}k`;
  if (v >= 1000) return `${(v / 1000).toFixed(v % 1000 === 0 ? 0 : 1)}k`;
  if (v >= 10 || v === 0) return String(Math.round(v));
  return String(Math.round(v * 100) / 100);
}

function ticks(lo: number, hi: number, log: boolean): number[] {
  if (log) {
    const out: number[] = [];
    const decades = Math.log10(hi) - Math.log10(lo);
    for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) for (const m of decades > 3 ? [1] : decades > 1.5 ? [1, 3] : [1, 2, 5]) {
      const v = m * 10 ** e;
      if (v >= lo * 0.999 && v <= hi * 1.001) out.push(v);
    }
    return out;
  }
  const span = hi - lo || 1;
  const step0 = 10 ** Math.floor(Math.log10(span / 5));
  const step = [1, 2, 5, 10].map((m) => m * step0).find((s) => span / s <= 6)!;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + 1e-9; v += step) out.push(Math.round(v * 1e6) / 1e6);
  return out;
}

function panel(p: Panel, ox: number, oy: number, w: number, h: number): string {
  const pad = { l: 58, r: 12, t: 28, b: 44 };
  const pw = w - pad.l - pad.r, ph = h - pad.t - pad.b;
  const pts = p.series.flatMap((s) => s.points).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y) && (!p.logX || x > 0) && (!p.logY || y > 0));
  if (!pts.length) return "";
  let [x0, x1] = [Math.min(...pts.map((q) => q[0])), Math.max(...pts.map((q) => q[0]))];
  let [y0, y1] = [Math.min(...pts.map((q) => q[1])), Math.max(...pts.map((q) => q[1]))];
  if (p.logX) { x0 = 10 ** Math.floor(Math.log10(x0)); x1 = 10 ** Math.ceil(Math.log10(x1)); }
  if (p.logY) { y0 = 10 ** Math.floor(Math.log10(y0)); y1 = 10 ** Math.ceil(Math.log10(y1)); } else { y0 = Math.min(0, y0); }
  if (x1 === x0) x1 = x0 + 1;
  if (y1 === y0) y1 = y0 + 1;
  const sx = (x: number) => ox + pad.l + (p.logX ? (Math.log10(x) - Math.log10(x0)) / (Math.log10(x1) - Math.log10(x0)) : (x - x0) / (x1 - x0)) * pw;
  const sy = (y: number) => oy + pad.t + ph - (p.logY ? (Math.log10(y) - Math.log10(y0)) / (Math.log10(y1) - Math.log10(y0)) : (y - y0) / (y1 - y0)) * ph;
  const o: string[] = [];
  o.push(`<text x="${ox + pad.l + pw / 2}" y="${oy + 18}" text-anchor="middle" font-size="14" font-weight="bold">${esc(p.title)}</text>`);
  o.push(`<rect x="${ox + pad.l}" y="${oy + pad.t}" width="${pw}" height="${ph}" fill="none" stroke="#333"/>`);
  for (const t of ticks(x0, x1, !!p.logX)) {
    const x = sx(t).toFixed(1);
    o.push(`<line x1="${x}" y1="${oy + pad.t}" x2="${x}" y2="${oy + pad.t + ph}" stroke="#e5e5e5"/>`);
    o.push(`<text x="${x}" y="${oy + pad.t + ph + 15}" text-anchor="middle" font-size="11">${fmt(t)}</text>`);
  }
  for (const t of ticks(y0, y1, !!p.logY)) {
    const y = sy(t).toFixed(1);
    o.push(`<line x1="${ox + pad.l}" y1="${y}" x2="${ox + pad.l + pw}" y2="${y}" stroke="#e5e5e5"/>`);
    o.push(`<text x="${ox + pad.l - 5}" y="${(+y + 4).toFixed(1)}" text-anchor="end" font-size="11">${fmt(t)}</text>`);
  }
  o.push(`<text x="${ox + pad.l + pw / 2}" y="${oy + h - 8}" text-anchor="middle" font-size="12">${esc(p.xLabel)}</text>`);
  o.push(`<text transform="translate(${ox + 14},${oy + pad.t + ph / 2}) rotate(-90)" text-anchor="middle" font-size="12">${esc(p.yLabel)}</text>`);
  p.series.forEach((s, i) => {
    const c = COLORS[s.name] ?? FALLBACK[i % FALLBACK.length]!;
    const ok = s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y) && (!p.logX || x > 0) && (!p.logY || y > 0));
    if (!ok.length) return;
    const d = ok.map(([x, y], j) => `${j ? "L" : "M"}${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join("");
    const wdt = s.name === "inference-router" ? 2.5 : 1.5;
    o.push(`<path d="${d}" fill="none" stroke="${c}" stroke-width="${wdt}"${s.name === "oracle" ? ' stroke-dasharray="6,3"' : ""}/>`);
    if (p.markers) for (const [x, y] of ok) o.push(`<circle cx="${sx(x).toFixed(1)}" cy="${sy(y).toFixed(1)}" r="3" fill="${c}"/>`);
    const ly = oy + pad.t + 14 + i * 15;
    o.push(`<line x1="${ox + pad.l + 8}" y1="${ly - 4}" x2="${ox + pad.l + 26}" y2="${ly - 4}" stroke="${c}" stroke-width="${wdt}"/>`);
    o.push(`<text x="${ox + pad.l + 30}" y="${ly}" font-size="11">${esc(s.name)}</text>`);
  });
  return o.join("\n");
}

/** Panels side by side in one SVG document. */
export function chart(title: string, panels: Panel[], w = 460, h = 330): string {
  const W = w * panels.length, H = h + 26;
  const body = panels.map((p, i) => panel(p, i * w, 26, w, h)).join("\n");
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif">
<rect width="100%" height="100%" fill="white"/>
<text x="${W / 2}" y="18" text-anchor="middle" font-size="15">${esc(title)}</text>
${body}
</svg>
`;
}

/** A CDF as at most `n` points (sorted input). */
export function cdfPoints(sorted: number[], n = 120): Array<[number, number]> {
  if (!sorted.length) return [];
  const out: Array<[number, number]> = [];
  for (let i = 0; i < n; i++) {
    const q = i / (n - 1);
    const idx = Math.min(sorted.length - 1, Math.floor(q * (sorted.length - 1)));
    out.push([Math.max(sorted[idx]!, 0.1), q]);
  }
  return out;
}
