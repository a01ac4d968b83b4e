// Body mode: the model read from the first bytes of the body (OpenAI JSON, Triton/KServe v2 gRPC), under an
// Envoy that honours StopIteration (>= 1.35 with allow_on_headers_stop_iteration) and under one that does not.
import { describe, expect, it } from "vitest";
import { chat, routerProxy, twoPools } from "./helpers.js";

const bodyCfg = (extra: Record<string, unknown> = {}) => twoPools({ body: { enabled: true, maxBytes: 4096, timeoutMs: 200 }, ...extra });

/** A Triton ModelInferRequest in a gRPC frame: field 3 (id) first, then model_name (1) and model_version (2). */
function modelInferFrame(model: string, version = ""): Uint8Array {
  const enc = new TextEncoder();
  const parts: number[] = [];
  const str = (field: number, s: string) => {
    const b = enc.encode(s);
    parts.push((field << 3) | 2, b.length, ...b);
  };
  str(3, "req-1");
  str(1, model);
  if (version) str(2, version);
  const msg = Uint8Array.from(parts);
  const frame = new Uint8Array(5 + msg.length);
  new DataView(frame.buffer).setUint32(1, msg.length, false);
  frame.set(msg, 5);
  return frame;
}

describe("body mode with allow_on_headers_stop_iteration (Envoy >= 1.35)", () => {
  it("reads `model` after a long messages array and steers on it", async () => {
    const p = await routerProxy(bodyCfg(), { allowOnHeadersStopIteration: true });
    const body = JSON.stringify({
      messages: Array.from({ length: 40 }, (_, i) => ({ role: "user", content: `message ${i} with a "model": "decoy"` })),
      model: "mistral-7b",
      stream: true,
      max_tokens: 64,
    });
    const r = await p.request(chat("x", { body, bodyChunks: [body.slice(0, 700), body.slice(700)] }));
    expect(r.reachedRouter).toBe(true);
    expect(r.routerHeaders!["x-inference-model"]).toBe("mistral-7b");
    expect(r.routerHeaders!["x-inference-pool"]).toBe("l4");
    expect(r.routerHeaders!["x-inference-class"]).toBe("generate-stream");
    expect(r.routerBody).toBe(body); // the body reaches the upstream whole
  });

  it("decides on the capped prefix when the body is larger than maxBytes", async () => {
    const p = await routerProxy(bodyCfg(), { allowOnHeadersStopIteration: true });
    const body = JSON.stringify({ model: "llama-3-70b", messages: [{ role: "user", content: "x".repeat(20000) }] });
    const r = await p.request(chat("x", { body, bodyChunks: [body.slice(0, 5000), body.slice(5000, 15000), body.slice(15000)] }));
    expect(r.routerHeaders!["x-inference-pool"]).toBe("a100");
    expect(r.routerBody.length).toBe(body.length);
  });

  it("reads the model name from a Triton gRPC ModelInfer protobuf", async () => {
    const p = await routerProxy(bodyCfg(), { allowOnHeadersStopIteration: true });
    const r = await p.request({
      method: "POST",
      path: "/inference.GRPCInferenceService/ModelInfer",
      headers: { "content-type": "application/grpc" },
      body: modelInferFrame("mistral-7b", "2"),
    });
    expect(r.routerHeaders!["x-inference-protocol"]).toBe("kserve-v2-grpc");
    expect(r.routerHeaders!["x-inference-model"]).toBe("mistral-7b");
    expect(r.routerHeaders!["x-inference-pool"]).toBe("l4");
  });

  it("answers gRPC callers with a gRPC status, not a JSON body", async () => {
    const p = await routerProxy(bodyCfg(), { allowOnHeadersStopIteration: true });
    const r = await p.request({
      method: "POST",
      path: "/inference.GRPCInferenceService/ModelInfer",
      headers: { "content-type": "application/grpc" },
      body: modelInferFrame("nope"),
    });
    expect(r.localReply!.status).toBe(404);
    expect(r.localReply!.grpcStatus).toBe(5);
  });
});

describe("body mode on an Envoy without allow_on_headers_stop_iteration", () => {
  it("is never stalled: the tick releases the held request within the timeout, routed on headers alone", async () => {
    const p = await routerProxy(bodyCfg(), { allowOnHeadersStopIteration: false });
    const s = p.newStream();
    s.sendRequestHeaders(
      { ":method": "POST", ":path": "/v1/chat/completions", ":authority": "x", "content-type": "application/json" },
      false,
    );
    s.sendRequestBody(JSON.stringify({ model: "mistral-7b", messages: [] }), true);
    // StopIteration was rewritten to StopAll: Envoy withholds the body from the filter.
    expect(s.reachedRouter).toBe(false);
    p.advance(100);
    expect(s.reachedRouter).toBe(false);
    p.advance(200);
    expect(s.reachedRouter).toBe(true);
    expect(s.routerRequestHeaders!.get("x-inference-protocol")).toBe("openai-chat");
    expect(s.routerRequestHeaders!.get("x-inference-pool")).toBeUndefined();
    expect(p.prometheus()).toMatch(/inference_router_body_timeouts\{\} 1\n/);
  });

  it("a held request that the client abandons leaves nothing behind", async () => {
    const p = await routerProxy(bodyCfg(), { allowOnHeadersStopIteration: false });
    const s = p.newStream();
    s.sendRequestHeaders({ ":method": "POST", ":path": "/v1/chat/completions", ":authority": "x" }, false);
    s.reset();
    p.advance(1000);
    expect(p.logs.atLevel("critical")).toEqual([]);
    expect(p.workers[0]!.failed).toBe(false);
  });
});
