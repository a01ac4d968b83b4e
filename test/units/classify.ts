// Unit harness for assembly/router/classify.ts, built to build/units/classify.wasm by
// `node scripts/build-wasm.mjs --only units classify` and driven from test/units/classify.test.ts through
// @assemblyscript/loader. Each export runs the real classifier and returns the result as a JSON string.
import "../../assembly/runtime/abort";
import {
  Classification, Protocol, classifyHeaders, classifyBody, protocolName, requestClass, estimatedCost,
} from "../../assembly/router/classify";

const c = new Classification();

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

function result(): string {
  return "{\"inference\":" + (c.inference ? "true" : "false") +
    ",\"protocol\":" + esc(protocolName(c.protocol)) +
    ",\"model\":" + esc(c.model) +
    ",\"version\":" + esc(c.version) +
    ",\"label\":" + esc(c.label) +
    ",\"streaming\":" + (c.streaming ? "true" : "false") +
    ",\"maxTokens\":" + c.maxTokens.toString() +
    ",\"contentLength\":" + c.contentLength.toString() +
    ",\"needsBody\":" + (c.needsBody ? "true" : "false") +
    ",\"grpc\":" + (c.grpc ? "true" : "false") +
    ",\"flags\":" + c.flags.toString() +
    ",\"class\":" + esc(requestClass(c)) +
    ",\"cost\":" + estimatedCost(c).toString() + "}";
}

/** Headers, then (when body is not null) the whole body. */
export function classify(method: string, path: string, contentType: string, contentLength: string,
                         body: ArrayBuffer | null, bodyComplete: bool): string {
  classifyHeaders(method, path, contentType, contentLength, c);
  if (body !== null) classifyBody(changetype<usize>(body), <usize>body.byteLength, bodyComplete, c);
  return result();
}

/** Headers, then only the first `prefixLen` bytes of body are offered (the rest must never be read). */
export function classifyPrefix(method: string, path: string, contentType: string, contentLength: string,
                               body: ArrayBuffer, prefixLen: i32, complete: bool): string {
  classifyHeaders(method, path, contentType, contentLength, c);
  const n = <usize>min(max(prefixLen, 0), body.byteLength);
  classifyBody(changetype<usize>(body), n, complete, c);
  return result();
}

/** Headers, a first incomplete prefix, then the whole body: classifyBody must be repeatable. */
export function classifyGrowing(method: string, path: string, contentType: string, contentLength: string,
                                body: ArrayBuffer, firstLen: i32): string {
  classifyHeaders(method, path, contentType, contentLength, c);
  classifyBody(changetype<usize>(body), <usize>min(max(firstLen, 0), body.byteLength), false, c);
  classifyBody(changetype<usize>(body), <usize>body.byteLength, true, c);
  return result();
}

export function protocolNameOf(p: i32): string { return protocolName(<Protocol>p); }
