// Hand-written SVG charts (no dependencies): latency tails (share of requests slower than x, log-log, so the
// p99/p99.9 region is readable), load curves with 95 % confidence whiskers, and per-policy bars. One legend per
// chart, below the panels — never on top of a curve.

export interface Series {
  name: string;
  points: Array<[number, number]>;
  ci?: Array<[number, number]>;
}
export interface Panel {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  logX?: boolean;
  logY?: boolean;
  markers?: boolean;
  /** One bar per series (its first point's y), with the series' first CI as a whisker. */
  bars?: boolean;
}

const COLORS: Record<string, string> = {
  "inference-router": "#d62728",
  "inference-router-no-weights": "#ff9896",
  epp: "#9467bd",
  "clairvoyant-greedy": "#2ca02c",
  "round-robin": "#7f7f7f",
  random: "#bcbd22",
  "least-request": "#1f77b4",
  "least-request+outlier": "#17becf",
};
const DASHED = new Set(["clairvoyant-greedy", "least-request+outlier", "inference-router-no-weights"]);
const FALLBACK = ["#9467bd", "#8c564b", "#e377c2", "#17becf"];

function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

function fmt(v: number): string {
  if (v >= 10000) return `${Math.round(v / 1000)}k`;
  if (v >= 1000) return `${(v / 1000).toFixed(v % 1000 === 0 ? 0 : 1)}k`;
  if (v >= 10 || v === 0) return String(Math.round(v));
  if (v >= 0.01) return String(Math.round(v * 100) / 100);
  return v.toExponential(0).replace("e-", "e−");
}

function ticks(lo: number, hi: number, log: boolean): number[] {
  if (log) {
    const out: number[] = [];
    const decades = Math.log10(hi) - Math.log10(lo);
    const step = Math.max(1, Math.ceil(decades / 6));
    for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e += step)
      for (const m of decades > 3 ? [1] : decades > 1.5 ? [1, 3] : [1, 2, 5]) {
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
  const pw = w - pad.l - pad.r,
    ph = h - pad.t - pad.b;
  const pts = [
    ...p.series.flatMap((s) => s.points),
    ...(p.bars ? p.series.flatMap((s) => (s.ci ?? []).map(([, hi]) => [0, hi] as [number, number])) : []),
  ].filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y) && (!p.logX || x > 0) && (!p.logY || y > 0));
  if (!pts.length) return "";
  let [x0, x1] = [Math.min(...pts.map((q) => q[0])), Math.max(...pts.map((q) => q[0]))];
  let [y0, y1] = [Math.min(...pts.map((q) => q[1])), Math.max(...pts.map((q) => q[1]))];
  if (p.logX) {
    x0 = 10 ** Math.floor(Math.log10(x0));
    x1 = 10 ** Math.ceil(Math.log10(x1));
  }
  if (p.logY) {
    y0 = 10 ** Math.floor(Math.log10(y0));
    y1 = 10 ** Math.ceil(Math.log10(y1));
  } else {
    y0 = Math.min(0, y0);
  }
  if (x1 === x0) x1 = x0 + 1;
  if (y1 === y0) y1 = y0 + 1;
  const sx = (x: number) =>
    ox + pad.l + (p.logX ? (Math.log10(x) - Math.log10(x0)) / (Math.log10(x1) - Math.log10(x0)) : (x - x0) / (x1 - x0)) * pw;
  const sy = (y: number) =>
    oy + pad.t + ph - (p.logY ? (Math.log10(y) - Math.log10(y0)) / (Math.log10(y1) - Math.log10(y0)) : (y - y0) / (y1 - y0)) * ph;
  const o: string[] = [];
  o.push(`<text x="${ox + pad.l + pw / 2}" y="${oy + 18}" text-anchor="middle" font-size="14" font-weight="bold">${esc(p.title)}</text>`);
  o.push(`<rect x="${ox + pad.l}" y="${oy + pad.t}" width="${pw}" height="${ph}" fill="none" stroke="#333"/>`);
  for (const t of p.bars ? [] : ticks(x0, x1, !!p.logX)) {
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
  o.push(
    `<text transform="translate(${ox + 14},${oy + pad.t + ph / 2}) rotate(-90)" text-anchor="middle" font-size="12">${esc(p.yLabel)}</text>`,
  );
  if (p.bars) {
    const n = p.series.length,
      bw = pw / n;
    p.series.forEach((s, i) => {
      const c = COLORS[s.name] ?? FALLBACK[i % FALLBACK.length]!;
      const y = s.points[0]?.[1] ?? NaN;
      const x = ox + pad.l + i * bw + bw * 0.15;
      if (Number.isFinite(y))
        o.push(
          `<rect x="${x.toFixed(1)}" y="${sy(y).toFixed(1)}" width="${(bw * 0.7).toFixed(1)}" height="${(oy + pad.t + ph - sy(y)).toFixed(1)}" fill="${c}"/>`,
        );
      else o.push(`<text x="${(x + bw * 0.35).toFixed(1)}" y="${oy + pad.t + ph - 6}" text-anchor="middle" font-size="10">failed</text>`);
      const w = s.ci?.[0];
      if (w && Number.isFinite(w[0]) && Number.isFinite(w[1])) {
        const cx = (x + bw * 0.35).toFixed(1);
        o.push(
          `<line x1="${cx}" y1="${sy(Math.max(w[0], y0)).toFixed(1)}" x2="${cx}" y2="${sy(Math.min(w[1], y1)).toFixed(1)}" stroke="#000" stroke-width="1.2"/>`,
        );
      }
    });
    return o.join("\n");
  }
  p.series.forEach((s, i) => {
    const c = COLORS[s.name] ?? FALLBACK[i % FALLBACK.length]!;
    const ok = s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y) && (!p.logX || x > 0) && (!p.logY || y > 0));
    if (!ok.length) return;
    const d = ok.map(([x, y], j) => `${j ? "L" : "M"}${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join("");
    const wdt = s.name === "inference-router" ? 2.5 : 1.5;
    o.push(`<path d="${d}" fill="none" stroke="${c}" stroke-width="${wdt}"${DASHED.has(s.name) ? ' stroke-dasharray="6,3"' : ""}/>`);
    if (p.markers) for (const [x, y] of ok) o.push(`<circle cx="${sx(x).toFixed(1)}" cy="${sy(y).toFixed(1)}" r="3" fill="${c}"/>`);
    s.ci?.forEach(([lo, hi], j) => {
      const x = s.points[j]?.[0];
      if (x === undefined || !Number.isFinite(lo) || !Number.isFinite(hi) || (p.logY && lo <= 0)) return;
      const cx = sx(x).toFixed(1);
      o.push(
        `<line x1="${cx}" y1="${sy(Math.max(lo, y0)).toFixed(1)}" x2="${cx}" y2="${sy(Math.min(hi, y1)).toFixed(1)}" stroke="${c}" stroke-width="1"/>`,
      );
    });
  });
  return o.join("\n");
}

/** Panels side by side (at most three per row) in one SVG document, one legend below them. */
export function chart(title: string, panels: Panel[], legend: string[], w = 440, h = 320): string {
  const cols = Math.min(3, panels.length),
    rows = Math.ceil(panels.length / cols);
  const legendH = 24 + Math.ceil(legend.length / 4) * 18;
  const W = w * cols,
    H = 26 + h * rows + legendH;
  const body = panels.map((p, i) => panel(p, (i % cols) * w, 26 + Math.floor(i / cols) * h, w, h)).join("\n");
  const items = legend
    .map((name, i) => {
      const c = COLORS[name] ?? FALLBACK[i % FALLBACK.length]!;
      const x = 20 + (i % 4) * (W / 4),
        y = 26 + h * rows + 20 + Math.floor(i / 4) * 18;
      const wdt = name === "inference-router" ? 2.5 : 1.5;
      return `<line x1="${x}" y1="${y - 4}" x2="${x + 24}" y2="${y - 4}" stroke="${c}" stroke-width="${wdt}"${DASHED.has(name) ? ' stroke-dasharray="6,3"' : ""}/><text x="${x + 30}" y="${y}" font-size="12">${esc(name)}</text>`;
    })
    .join("\n");
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif">
<rect width="100%" height="100%" fill="white"/>
<text x="${W / 2}" y="18" text-anchor="middle" font-size="14">${esc(title)}</text>
${body}
${items}
</svg>
`;
}

/** Latency tail: for each x, the percentage of requests slower than x (failed/shed requests count as slower than
 *  everything, so the curve levels off at their share). Log-spaced in the tail so p99 and p99.9 get points. */
export function tailPoints(sorted: number[], failed: number): Array<[number, number]> {
  const n = sorted.length + failed;
  if (!sorted.length) return [];
  const out: Array<[number, number]> = [];
  // Quantile levels: dense near 1 (1 − 10^−k steps).
  const qs: number[] = [];
  for (let i = 0; i <= 40; i++) qs.push(i / 50);
  for (let e = -1.3; e >= -4; e -= 0.1) qs.push(1 - 10 ** e);
  for (const q of qs) {
    const idx = Math.floor(q * n);
    if (idx >= sorted.length) break;
    const slower = (n - idx - 1) / n;
    if (slower <= 0) break;
    out.push([Math.max(sorted[idx]!, 0.1), slower * 100]);
  }
  return out;
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
