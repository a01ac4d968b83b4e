// Filter statuses, pausing/continuing, local replies, map availability and the route cache (host-behaviour §1.7, §2.1,
// §2.7, §2.8, §6.B).
import { describe, expect, it } from "vitest";
import { arg, callbacks, pairsHex, scripted, workerResults } from "./helpers.js";

describe("header status conversion (host-behaviour §0.3, §6.B.7, §2.8)", () => {
  it("§6.B.7 StopIteration from on_request_headers is rewritten to StopAll: body callbacks withheld until continue", async () => {
    const p = await scripted(["request_headers return 1"]);
    const s = p.newStream();
    s.sendRequestHeaders({ ":method": "POST", ":path": "/" }).sendRequestBody("abc").sendRequestBody("de", true);
    expect(s.statuses.request.headers).toBe(4);
    expect(callbacks(p).some((c) => c.startsWith("request_body"))).toBe(false);
    expect(s.reachedRouter).toBe(false);
    expect(s.paused.request).toBe(true);
  });

  it("§2.8 after proxy_continue_stream(Request) the buffered body is delivered to this filter in one callback", async () => {
    const p = await scripted(["request_headers return 1", "tick eff $stream", "tick cont 0", "configure tick 10"]);
    const s = p.newStream();
    s.sendRequestHeaders({ ":method": "POST", ":path": "/" }).sendRequestBody("abc").sendRequestBody("de", true);
    p.advance(10);
    expect(callbacks(p).filter((c) => c.startsWith("request_body"))).toEqual(["request_body 2 5 1"]);
    expect(s.reachedRouter).toBe(true);
    expect(s.routerRequestBody).toBe("abcde");
    expect(s.requestCompleteAtRouter).toBe(true);
  });

  it("§6.B.7 with allowOnHeadersStopIteration, true StopIteration: body callbacks run; Continue from body releases headers+data", async () => {
    const p = await scripted(
      ["request_headers return 1", "request_body rep 0 x-model m1", "request_body return 1", "request_body@2 hdr 0 x-model"],
      { allowOnHeadersStopIteration: true },
    );
    const s = p.newStream();
    s.sendRequestHeaders({ ":method": "POST", ":path": "/" }).sendRequestBody("abc");
    expect(s.statuses.request.headers).toBe(1);
    expect(callbacks(p)).toContain("request_body 2 3 0");
    // headers still held and writable from the body callback (Envoy request_headers_ not nulled)
    const rb = workerResults(p, "request_body");
    expect(rb.find((r) => r.op === "rep")!.status).toBe(0);
    expect(rb.find((r) => r.op === "hdr")!.status).toBe(1); // @2 line ran first, before the replace
    expect(s.reachedRouter).toBe(false);
    expect(s.routeCacheClears).toBe(1);
  });

  it("§2.8 true StopIteration: Continue from the last body callback releases the held headers (with body edits) and the data", async () => {
    const p = await scripted(["request_headers return 1", "request_body return 1", "request_body@2 hdr 0 :path"], {
      allowOnHeadersStopIteration: true,
    });
    const q = await scripted(["request_headers return 1", "request_body rep 0 x-model from-body"], { allowOnHeadersStopIteration: true });
    const s = q.newStream().sendRequestHeaders({ ":method": "POST", ":path": "/" }).sendRequestBody("{}", true);
    expect(s.reachedRouter).toBe(true);
    expect(s.routerRequestHeaders?.get("x-model")).toBe("from-body");
    expect(s.routerRequestBody).toBe("{}");
    expect(s.requestCompleteAtRouter).toBe(true);
    expect(s.routeCacheClears).toBe(1);
    const t = p.newStream().sendRequestHeaders({ ":method": "POST", ":path": "/" }).sendRequestBody("a").sendRequestBody("b", true);
    expect(t.reachedRouter).toBe(false);
    expect(t.paused.request).toBe(true);
  });

  it("§2.8 StopIterationAndBuffer: the next body callback gets the whole buffered length; Continue forwards it all", async () => {
    const p = await scripted(["request_body return 1", "request_body@2 buf 0 0 100"]);
    const s = p.newStream();
    s.sendRequestHeaders({ ":method": "POST", ":path": "/" }).sendRequestBody("abc").sendRequestBody("defg");
    expect(callbacks(p).filter((c) => c.startsWith("request_body"))).toEqual(["request_body 2 3 0", "request_body 2 7 0"]);
    expect(workerResults(p, "request_body").map((r) => r.value)).toEqual(["abc ptr0=0", "abcdefg ptr0=0"]);
    expect(s.routerRequestBody).toBe("");
  });

  it("§6.B.7 out-of-range statuses are clamped (headers >4 → 4, data >3 → 3, trailers >1 → 1)", async () => {
    const p = await scripted(["request_headers return 9"]);
    const s = p.newStream().sendRequestHeaders({ ":path": "/" });
    expect(s.statuses.request.headers).toBe(4);
    const q = await scripted(["request_body return 7", "request_trailers return 5"]);
    const t = q.newStream().sendRequestHeaders({ ":path": "/" }).sendRequestBody("x").sendRequestTrailers({ a: "b" });
    expect(t.statuses.request).toEqual({ headers: 0, body: 3, trailers: 1 });
  });

  it("§6.B.8 after send_local_response the callback's return is forced to StopAll; the reply is sent after the call", async () => {
    const p = await scripted([
      `request_headers reply 403 not%20allowed%09here denied 99 ${pairsHex([["x-why", "policy"]])}`,
      "request_headers return 0",
    ]);
    const r = await p.request({});
    expect(r.stream.statuses.request.headers).toBe(4);
    expect(r.status).toBe(403);
    expect(r.body).toBe("denied");
    expect(r.headers["x-why"]).toBe("policy");
    expect(r.localReply).toMatchObject({ status: 403, details: "not_allowed_here", grpcStatus: undefined });
    expect(r.reachedRouter).toBe(false);
    // the local reply goes through the encoder path, this filter included
    expect(callbacks(p)).toContain("response_headers 2 4 0"); // :status, content-length, content-type, x-why
    expect(callbacks(p).slice(-3)).toEqual(["log 2", "done 2", "delete 2"]);
  });

  it("§2.7 grpc_status 0..16 is kept, others dropped; a second local reply on the stream ⇒ BadArgument", async () => {
    const p = await scripted(["request_headers reply 200 ok ~ 14 ~", "request_headers reply 500 again ~ 1 ~"]);
    const r = await p.request({ headers: { "content-type": "application/grpc" } });
    expect(r.localReply?.grpcStatus).toBe(14);
    expect(r.headers["grpc-status"]).toBe("14");
    expect(workerResults(p, "request_headers").map((x) => x.status)).toEqual([0, 2]);
  });

  it("§2.8 continue_stream(Request) from the headers callback is deferred; header writes after it ⇒ BadArgument", async () => {
    const p = await scripted(["request_headers cont 0", "request_headers add 0 x-late 1", "request_headers return 1"]);
    const r = await p.request({});
    expect(workerResults(p, "request_headers").map((x) => x.status)).toEqual([0, 2]);
    expect(r.reachedRouter).toBe(true);
    expect(r.routerHeaders?.["x-late"]).toBeUndefined();
  });

  it("§1.2 continue/close stream: Upstream ⇒ Unimplemented, type > 3 ⇒ BadArgument", async () => {
    const p = await scripted([
      "request_headers cont 3",
      "request_headers cont 4",
      "request_headers close 3",
      "request_headers close 9",
      "request_headers cont 2",
    ]);
    await p.request({});
    expect(workerResults(p, "request_headers").map((x) => x.status)).toEqual([12, 2, 12, 2, 0]);
  });

  it("§1.2 close_stream(Request) resets the stream after the call (details wasm_close_stream); log/done/delete follow", async () => {
    const p = await scripted(["request_headers close 0"]);
    const s = p.newStream().sendRequestHeaders({ ":path": "/" });
    expect(s.resetReason).toBe("wasm_close_stream");
    expect(s.completed).toBe(true);
    expect(callbacks(p).slice(-3)).toEqual(["log 2", "done 2", "delete 2"]);
  });

  it("§2.8 response StopAll: downstream gets nothing until continue_stream(Response); body then delivered once", async () => {
    const p = await scripted(["response_headers return 4", "tick eff $stream", "tick cont 1", "configure tick 10"]);
    const s = p.newStream().sendRequestHeaders({ ":path": "/" }, true);
    s.sendResponseHeaders({ ":status": "200" }).sendResponseBody("xyz", true);
    expect(s.downstreamHeaders).toBeUndefined();
    p.advance(10);
    expect(s.downstreamHeaders?.get(":status")).toBe("200");
    expect(s.downstreamBody).toBe("xyz");
    expect(callbacks(p).filter((c) => c.startsWith("response_body"))).toEqual(["response_body 2 3 1"]);
  });
});

describe("map and buffer availability (host-behaviour §1.7, §6.E.15)", () => {
  it("§1.7 request headers: writable in on_request_headers; BadArgument in body after Continue and in response callbacks", async () => {
    const p = await scripted([
      "request_headers add 0 a 1",
      "request_body add 0 b 1",
      "request_body hdr 0 a",
      "response_headers add 0 c 1",
      "response_headers add 2 x-resp 1",
    ]);
    await p.request({ method: "POST", body: "x" });
    expect(workerResults(p).map((r) => `${r.cb}:${r.op}:${r.status}`)).toEqual([
      "request_headers:add:0",
      "request_body:add:2",
      "request_body:hdr:2",
      "response_headers:add:2",
      "response_headers:add:0",
    ]);
  });

  it("§1.7 on_log reads the final maps read-only; writes ⇒ BadArgument; absent maps ⇒ NotFound", async () => {
    const p = await scripted(["log hdr 0 :path", "log add 0 x 1", "log hdr 1 x", "log hdr 2 :status", "log pairs 3"]);
    await p.request({ path: "/final" });
    expect(workerResults(p, "log").map((r) => [r.status, r.value])).toEqual([
      [0, "/final"],
      [2, "-"],
      [1, "-"],
      [0, "200"],
      [1, "-"],
    ]);
  });

  it("§6.E.15 request body buffer only inside the body callback (NotFound elsewhere); type > 8 ⇒ BadArgument", async () => {
    const p = await scripted([
      "request_headers buf 0 0 10",
      "request_body buf 0 0 10",
      "request_body bufstatus 0",
      "request_body buf 9 0 1",
      "request_body buf 2 0 1",
    ]);
    await p.request({ method: "POST", body: "hello" });
    expect(workerResults(p).map((r) => [r.status, r.value])).toEqual([
      [1, "-"],
      [0, "hello ptr0=0"],
      [0, "5/0"],
      [2, "-"],
      [1, "-"],
    ]);
  });

  it("§6.E.15 PluginConfiguration only during configure; VmConfiguration always", async () => {
    const p = await scripted(["configure buf 7 0 3", "configure buf 6 0 2", "request_headers buf 7 0 3", "request_headers buf 6 0 2"], {
      vmConfig: "VM",
    });
    await p.request({});
    expect(workerResults(p).map((r) => [r.cb, r.status, r.value])).toEqual([
      ["configure", 0, "con ptr0=0"],
      ["configure", 0, "VM ptr0=0"],
      ["request_headers", 1, "-"],
      ["request_headers", 0, "VM ptr0=0"],
    ]);
  });

  it("§6.E.13 zero-length results: ptr 0 / len 0 without malloc (start ≥ size, empty buffer)", async () => {
    const p = await scripted(["configure buf 6 5 10", "configure buf 6 0 0"], { vmConfig: "abc", traceHostCalls: true });
    expect(workerResults(p, "configure").map((r) => r.value)).toEqual([" ptr0=1", " ptr0=1"]);
  });

  it("§1.2 set_buffer_bytes: start 0 drains+prepends, start ≥ size appends, other ⇒ BadArgument, const buffers ⇒ BadArgument", async () => {
    const p = await scripted([
      "request_body setbuf 0 0 2 XY",
      "request_body setbuf 0 99 0 -end",
      "request_body setbuf 0 2 1 bad",
      "request_body setbuf 6 0 0 z",
    ]);
    const r = await p.request({ method: "POST", body: "abcd" });
    expect(workerResults(p).map((x) => x.status)).toEqual([0, 0, 2, 2]);
    expect(r.routerBody).toBe("XYcd-end");
  });

  it("§1.7 request trailers can be added from the last body callback (addDecodedTrailers)", async () => {
    const p = await scripted(["request_body add 1 x-trailer yes"]);
    const r = await p.request({ method: "POST", body: "x" });
    expect(workerResults(p)[0]!.status).toBe(0);
    expect(r.stream.routerRequestTrailers?.get("x-trailer")).toBe("yes");
  });
});

describe("route cache (host-behaviour §0.2, §2.1)", () => {
  it("§2.1 every request-header write in 0.2.x clears the route cache; the router sees the final headers", async () => {
    const p = await scripted([
      "request_headers rep 0 x-gpu-pool a",
      "request_headers add 0 x-b 1",
      "request_headers rm 0 x-absent",
      "request_headers hdr 0 x-gpu-pool",
    ]);
    const r = await p.request({});
    expect(r.routeCacheClears).toBe(3);
    expect(r.routerHeaders?.["x-gpu-pool"]).toBe("a");
  });

  it("§2.1 response-header writes do not touch the route cache; reads never do", async () => {
    const p = await scripted(["response_headers add 2 x 1", "request_headers hdr 0 :path"]);
    const r = await p.request({});
    expect(r.routeCacheClears).toBe(0);
    expect(r.headers["x"]).toBe("1");
  });

  it("§2.8 async flow: pause, then from a root callback set effective context, edit headers (cache cleared) and continue", async () => {
    const p = await scripted(["request_headers return 1", "tick eff $stream", "tick rep 0 x-target b", "tick cont 0", "configure tick 5"]);
    const s = p.newStream().sendRequestHeaders({ ":path": "/", ":method": "GET" }, true);
    expect(s.reachedRouter).toBe(false);
    p.advance(5);
    expect(s.routerRequestHeaders?.get("x-target")).toBe("b");
    expect(s.routeCacheClears).toBe(1);
  });
});

describe("send_local_response from the response path and trailers", () => {
  it("§2.7 local reply from on_response_headers replaces the upstream response", async () => {
    const p = await scripted([`response_headers reply 502 bad%20upstream oops -1 ${arg("~")}`]);
    const r = await p.request({ response: { status: 200, body: "upstream" } });
    expect(r.status).toBe(502);
    expect(r.body).toBe("oops");
    expect(r.localReply?.details).toBe("bad_upstream");
  });
});
