// Shared helpers for the host conformance tests: the scripted filter's log protocol and pairs encoding.
import { join } from "node:path";
import { createProxy, serializePairs, VirtualClock, type Proxy, type ProxyOptions } from "../../src/host/index.js";

export const wasmPath = (name: string): string => join(import.meta.dirname, "..", "..", "build", "test", `${name}.wasm`);

/** A proxy running host-conformance.wasm with a script (see the filter's header comment) on a virtual clock. */
export function scripted(script: string | string[], opts: Partial<ProxyOptions> = {}): Promise<Proxy> {
  const text = Array.isArray(script) ? script.join("\n") : script;
  return createProxy({ wasm: wasmPath("host-conformance"), pluginConfig: text, clock: new VirtualClock(), logLevel: "trace", ...opts });
}

export interface Result {
  cb: string;
  ctx: number;
  op: string;
  status: number;
  value: string;
  worker: number;
  vm: string;
}

/** The `R <cb> <ctx> <op> <status> <value>` lines the filter logged, optionally only for one callback. */
export function results(p: Proxy, cb?: string): Result[] {
  const out: Result[] = [];
  for (const l of p.logs) {
    if (!l.message.startsWith("R ")) continue;
    const [, c, ctx, op, st, ...rest] = l.message.split(" ");
    if (cb && c !== cb) continue;
    out.push({ cb: c!, ctx: Number(ctx), op: op!, status: Number(st), value: rest.join(" "), worker: l.worker, vm: l.vm });
  }
  return out;
}

/** Only worker results (the canary runs configure too). */
export function workerResults(p: Proxy, cb?: string): Result[] {
  return results(p, cb).filter((r) => r.vm === "worker");
}

/** `CB <name> <ctx> <args>` lines from worker VMs, as "name ctx args". */
export function callbacks(p: Proxy, vm: "worker" | "canary" | "base" | "all" = "worker"): string[] {
  return p.logs.filter((l) => l.message.startsWith("CB ") && (vm === "all" || l.vm === vm)).map((l) => l.message.slice(3));
}

/** Decodes the filter's \xNN escapes back to bytes. */
export function unesc(s: string): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) {
    if (s[i] === "\\" && s[i + 1] === "x") {
      out.push(parseInt(s.slice(i + 2, i + 4), 16));
      i += 3;
    } else out.push(s.charCodeAt(i));
  }
  return new Uint8Array(out);
}

export const hex = (b: Uint8Array): string => (b.length ? Buffer.from(b).toString("hex") : "~");
export const pairsHex = (pairs: Array<[string, string]>): string => hex(serializePairs(pairs));
/** Percent-encodes an argument for the script (spaces, NUL, %). */
export const arg = (s: string): string => (s === "" ? "~" : s.replace(/%/g, "%25").replace(/ /g, "%20").replace(/\0/g, "%00"));
export const u64le = (b: Uint8Array): bigint => new DataView(b.buffer, b.byteOffset).getBigUint64(0, true);
