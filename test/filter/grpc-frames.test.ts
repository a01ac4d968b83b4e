// Body mode for gRPC: the filter decides on the first complete gRPC frame (1-byte compressed flag, 4-byte
// big-endian length, protobuf message), not at the end of the request stream — a ModelStreamInfer client keeps
// its request open and waits for answers. Hostile framing (truncation, huge lengths, frames split byte by byte or
// packed into one chunk) is driven through the compiled .wasm and must never trap.
import { describe, expect, it } from "vitest";
import type { HttpStream, Proxy } from "../../src/host/index.js";
import { mulberry32 } from "../../src/sim/prng.js";
import { routerProxy, twoPools } from "./helpers.js";

const MAX = 4096;
const cfg = twoPools({ body: { enabled: true, maxBytes: MAX, timeoutMs: 200 } });
const STREAM = "/inference.GRPCInferenceService/ModelStreamInfer";
const UNARY = "/inference.GRPCInferenceService/ModelInfer";
const enc = new TextEncoder();

/** A ModelInferRequest { id = 3, model_name = 1, then `padding` bytes of raw_input_contents (field 8) }. */
function request(model: string, padding = 0): Uint8Array {
  const parts: number[] = [];
  const bytesField = (field: number, b: ArrayLike<number>) => {
    parts.push((field << 3) | 2);
    for (let n = b.length; ; n >>>= 7) {
      if (n < 0x80) {
        parts.push(n);
        break;
      }
      parts.push((n & 0x7f) | 0x80);
    }
    for (let i = 0; i < b.length; i++) parts.push(b[i]!);
  };
  bytesField(3, enc.encode("req"));
  bytesField(1, enc.encode(model));
  if (padding > 0) bytesField(8, new Uint8Array(padding).fill(0x61));
  return Uint8Array.from(parts);
}

/** One gRPC length-prefixed message; `declared` overrides the length field (a lie). */
function frame(msg: Uint8Array, opts: { compressed?: boolean; declared?: number } = {}): Uint8Array {
  const f = new Uint8Array(5 + msg.length);
  f[0] = opts.compressed ? 1 : 0;
  new DataView(f.buffer).setUint32(1, opts.declared ?? msg.length, false);
  f.set(msg, 5);
  return f;
}

const cat = (...xs: Uint8Array[]) => {
  const o = new Uint8Array(xs.reduce((n, x) => n + x.length, 0));
  let at = 0;
  for (const x of xs) {
    o.set(x, at);
    at += x.length;
  }
  return o;
};

function open(p: Proxy, path = STREAM): HttpStream {
  const s = p.newStream();
  s.sendRequestHeaders(
    { ":method": "POST", ":path": path, ":authority": "llm", "content-type": "application/grpc", te: "trailers" },
    false,
  );
  return s;
}

const routed = (s: HttpStream) => ({
  model: s.routerRequestHeaders?.get("x-inference-model"),
  pool: s.routerRequestHeaders?.get("x-inference-pool"),
});

function healthy(p: Proxy): void {
  expect(p.logs.atLevel("critical")).toEqual([]);
  expect(p.workers[0]!.failed).toBe(false);
}

describe("gRPC body mode decides on the first complete frame", () => {
  it("a live ModelStreamInfer is steered by its first message while the request stays open", async () => {
    const p = await routerProxy(cfg, { allowOnHeadersStopIteration: true });
    const s = open(p);
    const first = frame(request("mistral-7b"));
    s.sendRequestBody(first, false);
    expect(routed(s)).toEqual({ model: "mistral-7b", pool: "l4" });
    // Later messages (another model even) pass through untouched; the stream is not re-decided.
    const second = frame(request("llama-3-70b"));
    s.sendRequestBody(second, false);
    s.sendRequestBody(frame(request("mistral-7b")), true);
    expect(routed(s)).toEqual({ model: "mistral-7b", pool: "l4" });
    expect(Buffer.from(s.routerRequestBytes)).toEqual(Buffer.from(cat(first, second, first)));
    expect(s.requestCompleteAtRouter).toBe(true);
    expect(p.prometheus()).not.toMatch(/inference_router_body_timeouts\{\} [1-9]/);
    healthy(p);
  });

  it("a frame split over many chunks is decided on the chunk that completes it, not before", async () => {
    const p = await routerProxy(cfg, { allowOnHeadersStopIteration: true });
    const s = open(p);
    const f = frame(request("llama-3-70b", 300));
    for (let i = 0; i < f.length - 1; i++) {
      s.sendRequestBody(f.subarray(i, i + 1), false);
      expect(s.reachedRouter, `byte ${i}`).toBe(false);
    }
    s.sendRequestBody(f.subarray(f.length - 1), false);
    expect(routed(s)).toEqual({ model: "llama-3-70b", pool: "a100" });
    s.sendRequestBody(new Uint8Array(0), true);
    expect(s.requestCompleteAtRouter).toBe(true);
    healthy(p);
  });

  it("several frames in one chunk: the first frame's model decides, bytes after it are not read", async () => {
    const p = await routerProxy(cfg, { allowOnHeadersStopIteration: true });
    const s = open(p);
    // The second frame is truncated garbage: reading past the first frame would make the scan fail.
    s.sendRequestBody(cat(frame(request("mistral-7b")), frame(request("llama-3-70b")), Uint8Array.of(0, 0xff, 0xff)), false);
    expect(routed(s)).toEqual({ model: "mistral-7b", pool: "l4" });
    healthy(p);
  });

  it("unary ModelInfer follows the same rule: decided once its frame is whole, before the end of stream", async () => {
    const p = await routerProxy(cfg, { allowOnHeadersStopIteration: true });
    const s = open(p, UNARY);
    const f = frame(request("mistral-7b", 100));
    s.sendRequestBody(f.subarray(0, 40), false);
    expect(s.reachedRouter).toBe(false);
    s.sendRequestBody(f.subarray(40), false);
    expect(routed(s)).toEqual({ model: "mistral-7b", pool: "l4" });
    s.sendRequestBody(new Uint8Array(0), true);
    expect(s.requestCompleteAtRouter).toBe(true);
  });

  it("a compressed first frame is released at once, unrouted (its model cannot be read)", async () => {
    const p = await routerProxy(cfg, { allowOnHeadersStopIteration: true });
    const s = open(p);
    s.sendRequestBody(Uint8Array.of(1), false); // the flag byte alone settles it
    expect(s.reachedRouter).toBe(true);
    expect(s.routerRequestHeaders!.get("x-inference-protocol")).toBe("kserve-v2-grpc");
    expect(routed(s)).toEqual({ model: undefined, pool: undefined });
    expect(p.prometheus()).not.toMatch(/inference_router_model_after_scan_limit\{\} [1-9]/);
    healthy(p);
  });

  it("a frame declared longer than body.maxBytes is held to the scan limit, then decided on the prefix", async () => {
    const p = await routerProxy(cfg, { allowOnHeadersStopIteration: true });
    const s = open(p);
    const msg = request("llama-3-70b", MAX * 2);
    const f = frame(msg);
    s.sendRequestBody(f.subarray(0, 1000), false);
    expect(s.reachedRouter).toBe(false);
    s.sendRequestBody(f.subarray(1000, MAX + 10), false);
    // model_name comes before the padding: the prefix names it.
    expect(routed(s)).toEqual({ model: "llama-3-70b", pool: "a100" });
    s.sendRequestBody(f.subarray(MAX + 10), true);
    expect(Buffer.from(s.routerRequestBytes)).toEqual(Buffer.from(f));
    healthy(p);
  });

  it("a declared length of 4 GiB - 1 does not wrap into a small one", async () => {
    const p = await routerProxy(cfg, { allowOnHeadersStopIteration: true });
    const s = open(p);
    s.sendRequestBody(frame(request("mistral-7b"), { declared: 0xffffffff }), false);
    expect(s.reachedRouter).toBe(false); // 5 + 0xffffffff bytes are never all there
    s.sendRequestBody(new Uint8Array(0), true);
    // A complete body shorter than its declared frame is malformed: routed untouched.
    expect(routed(s)).toEqual({ model: undefined, pool: undefined });
    healthy(p);
  });

  it("a frame cut by the end of the stream is malformed and routed untouched", async () => {
    const p = await routerProxy(cfg, { allowOnHeadersStopIteration: true });
    const s = open(p);
    const f = frame(request("mistral-7b"));
    s.sendRequestBody(f.subarray(0, f.length - 3), false);
    expect(s.reachedRouter).toBe(false);
    s.sendRequestBody(new Uint8Array(0), true);
    expect(s.reachedRouter).toBe(true);
    expect(routed(s)).toEqual({ model: undefined, pool: undefined });
    healthy(p);
  });

  it("with every copy buffer taken, Envoy's own buffering decides on the first frame too", async () => {
    const p = await routerProxy(cfg, { allowOnHeadersStopIteration: true });
    // Four streams each hold a partial frame in more than one chunk: the worker's four copy buffers are taken.
    const busy = Array.from({ length: 4 }, () => {
      const s = open(p);
      const f = frame(request("mistral-7b", 200));
      s.sendRequestBody(f.subarray(0, 50), false);
      s.sendRequestBody(f.subarray(50, 60), false);
      expect(s.reachedRouter).toBe(false);
      return { s, f };
    });
    const s = open(p);
    const f = frame(request("llama-3-70b", 200));
    s.sendRequestBody(f.subarray(0, 3), false);
    s.sendRequestBody(f.subarray(3, 120), false);
    expect(s.reachedRouter).toBe(false);
    s.sendRequestBody(f.subarray(120), false);
    expect(routed(s)).toEqual({ model: "llama-3-70b", pool: "a100" });
    for (const b of busy) {
      b.s.sendRequestBody(b.f.subarray(60), false);
      expect(routed(b.s)).toEqual({ model: "mistral-7b", pool: "l4" });
    }
    healthy(p);
  });
});

describe("gRPC framing fuzz through the .wasm", () => {
  /** Splits `b` into random chunks (some empty). */
  function chunks(b: Uint8Array, rnd: () => number): Uint8Array[] {
    const out: Uint8Array[] = [];
    for (let at = 0; at < b.length;) {
      const n = Math.floor(rnd() * rnd() * 80);
      out.push(b.subarray(at, at + n));
      at += n;
    }
    return out;
  }

  it("valid streams, random chunking: decided exactly when the first frame is whole, on its model", async () => {
    const rnd = mulberry32(11);
    const p = await routerProxy(cfg, { allowOnHeadersStopIteration: true });
    const models = ["mistral-7b", "llama-3-70b", "llama-3-8b"];
    for (let iter = 0; iter < 200; iter++) {
      const n = 1 + Math.floor(rnd() * 3);
      const names = Array.from({ length: n }, () => models[Math.floor(rnd() * models.length)]!);
      const frames = names.map((m) => frame(request(m, Math.floor(rnd() * 600))));
      const firstModel = names[0];
      const body = cat(...frames);
      const s = open(p);
      let sent = 0;
      for (const c of chunks(body, rnd)) {
        s.sendRequestBody(c, false);
        sent += c.length;
        expect(s.reachedRouter, `iter ${iter} after ${sent} of first ${frames[0]!.length}`).toBe(sent >= frames[0]!.length);
      }
      s.sendRequestBody(new Uint8Array(0), true);
      expect(s.routerRequestHeaders!.get("x-inference-model"), `iter ${iter}`).toBe(firstModel);
      expect(Buffer.from(s.routerRequestBytes)).toEqual(Buffer.from(body));
      expect(s.requestCompleteAtRouter).toBe(true);
    }
    healthy(p);
  });

  it("hostile bytes (random flags, lengths, mutations, truncation): never a trap, always released", async () => {
    const rnd = mulberry32(23);
    const p = await routerProxy(cfg, { allowOnHeadersStopIteration: true });
    for (let iter = 0; iter < 400; iter++) {
      const lens = [0, 1, 4, 5, 0x7f, MAX - 5, MAX, MAX + 1, 0x7fffffff, 0x80000000, 0xfffffffa, 0xffffffff];
      let body = frame(request("mistral-7b", Math.floor(rnd() * 200)), {
        compressed: rnd() < 0.1,
        declared: rnd() < 0.4 ? lens[Math.floor(rnd() * lens.length)]! : undefined,
      });
      body = Uint8Array.from(body);
      if (rnd() < 0.3) body[0] = Math.floor(rnd() * 256);
      const flips = Math.floor(rnd() * 6);
      for (let k = 0; k < flips; k++) body[Math.floor(rnd() * body.length)] = Math.floor(rnd() * 256);
      if (rnd() < 0.3) body = body.subarray(0, Math.floor(rnd() * body.length));
      if (rnd() < 0.3) body = cat(body, frame(request("llama-3-70b")));
      const s = open(p, rnd() < 0.5 ? STREAM : UNARY);
      for (const c of chunks(body, rnd)) s.sendRequestBody(c, false);
      s.sendRequestBody(new Uint8Array(0), true);
      // Routed (or fail-open) once the stream ended, with every byte passed on; a local reply only for a model
      // the fuzzer mutated into an unknown name.
      if (!s.localReply) {
        expect(s.reachedRouter, `iter ${iter}`).toBe(true);
        expect(Buffer.from(s.routerRequestBytes)).toEqual(Buffer.from(body));
        const m = s.routerRequestHeaders!.get("x-inference-model");
        if (m !== undefined) expect(["mistral-7b", "llama-3-70b", "llama-3-8b"]).toContain(m);
      } else {
        expect(s.localReply.grpcStatus).toBe(5);
      }
    }
    healthy(p);
  });
});
