// Unit harness for assembly/router/signals/{presets,prometheus,orca}.ts, built to build/units/signals.wasm by
// `node scripts/build-wasm.mjs --only units signals` and driven from test/units/signals.test.ts through
// @assemblyscript/loader. Results come back as JSON strings.
import "../../assembly/runtime/abort";
import {
  MetricsSpec, SeriesSpec, presetSpec, engineFromName,
} from "../../assembly/router/signals/presets";
import { Signals, parsePrometheus } from "../../assembly/router/signals/prometheus";
import { OrcaReport, parseOrca } from "../../assembly/router/signals/orca";

let spec: MetricsSpec = presetSpec(0, "");
const sig = new Signals();
const orcaOut = new OrcaReport();

function esc(s: string): string {
  let r = "\"";
  for (let i = 0; i < s.length; i++) {
    const ch = s.charCodeAt(i);
    if (ch == 0x22) r += "\\\"";
    else if (ch == 0x5C) r += "\\\\";
    else if (ch < 0x20) r += "\\u00" + (ch < 16 ? "0" : "") + ch.toString(16);
    else r += String.fromCharCode(ch);
  }
  return r + "\"";
}

function num(v: f64): string {
  if (!isFinite(v)) return "\"" + v.toString() + "\""; // shows up as a string in the test: always a bug
  return v.toString();
}

function seriesJson(s: SeriesSpec): string {
  let r = "{\"name\":" + esc(s.name) + ",\"scale\":" + num(s.scale) + ",\"labels\":[";
  for (let i = 0; i < s.labels.length; i++) r += (i ? "," : "") + esc(s.labels[i]);
  return r + "]}";
}

function listJson(a: Array<SeriesSpec>): string {
  let r = "[";
  for (let i = 0; i < a.length; i++) r += (i ? "," : "") + seriesJson(a[i]);
  return r + "]";
}

export function engineId(name: string): i32 { return engineFromName(name); }

/** Selects a preset as the current spec and returns it as JSON. */
export function usePreset(engine: i32, model: string): string {
  spec = presetSpec(engine, model);
  const l = spec.loraInfo;
  return "{\"queue\":" + listJson(spec.queue) + ",\"running\":" + listJson(spec.running) +
    ",\"kvCache\":" + listJson(spec.kvCache) + ",\"loraInfo\":" + (l === null ? "null" : seriesJson(l)) +
    ",\"modelLabel\":" + esc(spec.modelLabel) + ",\"model\":" + esc(spec.model) + "}";
}

/** Starts an empty custom spec. */
export function useCustom(modelLabel: string, model: string): void {
  spec = new MetricsSpec();
  spec.modelLabel = modelLabel;
  spec.model = model;
}

/** Adds a series: kind 0 queue, 1 running, 2 kvCache, 3 loraInfo. labels = "k0\nv0\nk1\nv1" ("" = none). */
export function addSeries(kind: i32, name: string, labels: string, scale: f64): void {
  const l = labels.length ? labels.split("\n") : new Array<string>();
  const s = new SeriesSpec(name, l, scale);
  if (kind == 0) spec.queue.push(s);
  else if (kind == 1) spec.running.push(s);
  else if (kind == 2) spec.kvCache.push(s);
  else spec.loraInfo = s;
}

export function setModel(model: string): void { spec.model = model; }

function sigJson(ok: bool): string {
  return "{\"ok\":" + (ok ? "true" : "false") +
    ",\"queue\":" + num(sig.queue) + ",\"running\":" + num(sig.running) + ",\"kvCache\":" + num(sig.kvCache) +
    ",\"loraRunning\":" + esc(sig.loraRunning) + ",\"loraWaiting\":" + esc(sig.loraWaiting) +
    ",\"loraMax\":" + sig.loraMax.toString() + ",\"loraAt\":" + num(sig.loraAt) +
    ",\"samples\":" + sig.samples.toString() + ",\"matched\":" + sig.matched.toString() +
    ",\"parseErrors\":" + sig.parseErrors.toString() + "}";
}

/** Parses the whole buffer with the current spec. */
export function parse(buf: ArrayBuffer): string {
  return sigJson(parsePrometheus(changetype<usize>(buf), <usize>buf.byteLength, spec, sig));
}

/** Parses only the first `len` bytes of buf (the rest must never be read). */
export function parsePrefix(buf: ArrayBuffer, len: i32): string {
  const n = <usize>min(max(len, 0), buf.byteLength);
  return sigJson(parsePrometheus(changetype<usize>(buf), n, spec, sig));
}

/** Parses bytes [off, off + len) of buf, returning only ok/samples/errors packed: ok | samples << 1. Used by the
 *  random-input loop (cheap: no JSON). Returns -1 if a result is NaN/Inf (never expected). */
export function parseQuick(buf: ArrayBuffer, off: i32, len: i32): i32 {
  const o = <usize>min(max(off, 0), buf.byteLength);
  const n = <usize>min(max(len, 0), <i32>(<usize>buf.byteLength - o));
  const ok = parsePrometheus(changetype<usize>(buf) + o, n, spec, sig);
  if (!isFinite(sig.queue) || !isFinite(sig.running) || !isFinite(sig.kvCache) || !isFinite(sig.loraAt)) return -1;
  return (ok ? 1 : 0) | (sig.samples << 1);
}

export function orca(value: string): string {
  const ok = parseOrca(value, orcaOut);
  const o = orcaOut;
  return "{\"ok\":" + (ok ? "true" : "false") + ",\"present\":" + (o.present ? "true" : "false") +
    ",\"cpu\":" + num(o.cpu) + ",\"mem\":" + num(o.mem) + ",\"app\":" + num(o.app) + ",\"rps\":" + num(o.rps) +
    ",\"eps\":" + num(o.eps) + ",\"queue\":" + num(o.queue) + ",\"running\":" + num(o.running) +
    ",\"kvCache\":" + num(o.kvCache) + ",\"errors\":" + o.errors.toString() + "}";
}
