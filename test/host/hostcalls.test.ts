// Host calls and their exact status codes: headers, pairs, properties, shared data, queues, metrics, callouts,
// misc (host-behaviour §1.2, §1.5, §2.2-2.6, §6.E, §6.F).
import { describe, expect, it } from "vitest";
import { parsePairs, serializePairs, SharedDataStore, VirtualClock } from "../../src/host/index.js";
import { arg, callbacks, hex, pairsHex, scripted, u64le, unesc, workerResults } from "./helpers.js";

describe("header maps (host-behaviour §6.F, §1.5, §6.E.14)", () => {
  it("§6.F keys lower-cased; get = first value; replace = setCopy; add = addCopy; remove = all; size = byteSize", async () => {
    const p = await scripted([
      "request_headers add 0 X-Multi one",
      "request_headers add 0 x-multi two",
      "request_headers hdr 0 X-MULTI",
      "request_headers hsize 0",
      "request_headers rep 0 x-multi three",
      "request_headers hdr 0 x-multi",
      "request_headers add 0 x-gone 1",
      "request_headers add 0 x-gone 2",
      "request_headers rm 0 X-Gone",
      "request_headers hdr 0 x-gone",
      "request_headers rm 0 x-never",
      "request_headers hdr 0 x-missing",
    ]);
    const r = await p.request({ path: "/" });
    const res = workerResults(p).map((x) => [x.op, x.status, x.value]);
    expect(res[2]).toEqual(["hdr", 0, "one"]);
    // byteSize of :method GET, :path /, :authority example.com, :scheme http, x-multi one, x-multi two
    expect(res[3]).toEqual(["hsize", 0, String(7 + 3 + 5 + 1 + 10 + 11 + 7 + 4 + 7 + 3 + 7 + 3)]);
    expect(res[5]).toEqual(["hdr", 0, "three"]);
    expect(res[9]).toEqual(["hdr", 1, "-"]);
    expect(res[10]![1]).toBe(0); // remove of an absent key is Ok
    expect(res[11]).toEqual(["hdr", 1, "-"]); // 0.2.x: missing ⇒ NotFound
    expect(r.stream.routerRequestHeaders!.getAll("x-multi")).toEqual(["three"]);
  });

  it("§6.E.14 get_header_map_pairs: exact serialisation (count, sizes, NUL-terminated key/value), pseudo-headers first", async () => {
    const p = await scripted(["request_headers pairs 0"]);
    await p.request({ path: "/p", headers: { "X-A": "1" } });
    const raw = unesc(workerResults(p)[0]!.value.replace(/ ptr0=\d$/, ""));
    expect(hex(raw)).toBe(
      hex(
        serializePairs([
          [":method", "GET"],
          [":path", "/p"],
          [":authority", "example.com"],
          [":scheme", "http"],
          ["x-a", "1"],
        ]),
      ),
    );
    expect(parsePairs(raw)[4]).toEqual(["x-a", "1"]);
  });

  it("§6.E.14 seven headers serialise to exactly 165 bytes", () => {
    const h: Array<[string, string]> = [
      [":authority", "localhost:10000"],
      [":path", "/"],
      [":method", "GET"],
      [":scheme", "http"],
      ["user-agent", "curl/8.5.0"],
      ["accept", "*/*"],
      ["x-forwarded-proto", "http"],
    ];
    expect(serializePairs(h).length).toBe(4 + 7 * 8 + h.reduce((a, [k, v]) => a + k.length + v.length + 2, 0));
  });

  it("§6.E.14 empty map ⇒ ptr 0 / len 0 (not a 4-byte zero count)", async () => {
    const p = await scripted(["response_headers setpairs 2 ~", "response_headers pairs 2"]);
    await p.request({});
    expect(workerResults(p).map((x) => [x.status, x.value])).toEqual([
      [0, "-"],
      [0, " ptr0=1"],
    ]);
  });

  it("§1.5 set_header_map_pairs replaces the map (keys lower-cased); malformed / >1024 pairs ⇒ empty list ⇒ all headers removed", async () => {
    const good = pairsHex([
      [":method", "GET"],
      [":path", "/n"],
      ["X-New", "v"],
    ]);
    const p = await scripted([`request_headers setpairs 0 ${good}`]);
    const r = await p.request({ headers: { "x-old": "1" } });
    expect(r.routerHeaders).toEqual({ ":method": "GET", ":path": "/n", "x-new": "v" });

    const missingNul = hex(serializePairs([["a", "b"]]).slice(0, -1));
    const tooMany = pairsHex(Array.from({ length: 1025 }, (_, i) => [`k${i}`, "v"] as [string, string]));
    const trailing = hex(new Uint8Array([...serializePairs([["a", "b"]]), 0]));
    for (const bad of [missingNul, tooMany, trailing]) {
      const q = await scripted([`request_headers setpairs 0 ${bad}`, "request_headers hsize 0"]);
      const rr = await q.request({});
      expect(workerResults(q).map((x) => x.status)).toEqual([0, 0]);
      expect(rr.routerHeaders).toEqual({});
    }
    const huge = serializePairs([["k", "v".repeat(1024 * 1024)]]);
    expect(parsePairs(huge)).toEqual([]); // > 1 MiB
    expect(parsePairs(serializePairs(Array.from({ length: 1024 }, (_, i) => [`k${i}`, "v"] as [string, string])))).toHaveLength(1024);
  });

  it("§1.2 map type > 7 ⇒ BadArgument; grpc maps ⇒ BadArgument; http-call maps outside the callback ⇒ BadArgument", async () => {
    const p = await scripted(["request_headers hdr 8 a", "request_headers hdr 4 a", "request_headers hdr 6 a", "request_headers hsize 9"]);
    await p.request({});
    expect(workerResults(p).map((x) => x.status)).toEqual([2, 2, 2, 2]);
  });
});

describe("memory hand-off (host-behaviour §1.6, §6.E.13, §6.E.16)", () => {
  it("§6.E.13 results are malloc'ed with the exact length (no NUL)", async () => {
    const p = await scripted(["request_headers hdr 0 :path"], { traceHostCalls: true });
    await p.request({ path: "/hello" });
    const vm = p.workers[0]!.vm;
    // the malloc happens inside the host call; the host wrote ptr/len = 6 to the out-params
    expect(workerResults(p)[0]!.value).toBe("/hello");
    expect(vm.hostCalls.some((c) => c.name === "proxy_get_header_map_value")).toBe(true);
  });

  it("§6.E.16 out-pointers are only bounds-checked: bogus in-range address is written; out of range ⇒ InvalidMemoryAccess", async () => {
    const p = await scripted(["request_headers raw_hdr 0 :path 40 7", "request_headers raw_hdr 0 :path 40 4294967290"]);
    await p.request({ path: "/abc" });
    expect(workerResults(p).map((x) => x.status)).toEqual([0, 6]);
    expect(new DataView(p.workers[0]!.vm.memory.buffer).getUint32(7, true)).toBe(4);
  });

  it("§1.6 memory.buffer is re-read after guest calls (memory.grow inside a callback)", async () => {
    const p = await scripted(["request_headers grow 4", "request_headers hdr 0 :path"]);
    const before = p.workers[0]!.memoryPages();
    await p.request({ path: "/after-grow" });
    expect(p.workers[0]!.memoryPages()).toBe(before + 4);
    expect(workerResults(p)[1]!.value).toBe("/after-grow");
  });
});

describe("properties (host-behaviour §2.2)", () => {
  it("§2.2 NUL-separated paths with Envoy encodings; dotted names ⇒ NotFound", async () => {
    const p = await scripted(
      [
        "request_headers prop request%00path",
        "request_headers prop request%00url_path",
        "request_headers prop request%00query",
        "request_headers prop request%00method",
        "request_headers prop request%00host",
        "request_headers prop request%00headers%00x-model",
        "request_headers prop request.path",
        "request_headers prop xds%00cluster_name",
        "request_headers prop plugin_root_id",
        "request_headers prop plugin_name",
        "request_headers prop plugin_vm_id",
        "request_headers prop request%00time",
        "request_headers prop connection%00mtls",
        "request_headers prop source%00port",
        "request_headers prop upstream%00address",
        "request_headers prop nope",
        "request_headers prop request%00id",
      ],
      { rootId: "ai_router", pluginName: "istio-ingress.ai-router", properties: { "xds.cluster_name": "outbound|8000||a" } },
    );
    await p.request({ path: "/v1/chat?x=1", authority: "llm", headers: { "x-model": "m", "x-request-id": "rid" } });
    const r = workerResults(p).map((x) => [x.status, x.value]);
    expect(r.slice(0, 6)).toEqual([
      [0, "/v1/chat?x=1"],
      [0, "/v1/chat"],
      [0, "x=1"],
      [0, "GET"],
      [0, "llm"],
      [0, "m"],
    ]);
    expect(r[6]).toEqual([1, "-"]);
    expect(r[7]).toEqual([0, "outbound|8000||a"]);
    expect(r[8]).toEqual([0, "ai_router"]);
    expect(r[9]).toEqual([0, "istio-ingress.ai-router"]);
    expect(r[10]).toEqual([0, ""]); // Istio leaves vm_id empty: Ok with ptr 0 / len 0
    expect(u64le(unesc(r[11]![1] as string))).toBe(BigInt(Date.UTC(2025, 0, 1)) * 1_000_000n);
    expect(hex(unesc(r[12]![1] as string))).toBe("00");
    expect(u64le(unesc(r[13]![1] as string))).toBe(51234n);
    expect(r[14]).toEqual([1, "-"]); // upstream.* only after the router picked an upstream
    expect(r[15]).toEqual([1, "-"]);
    expect(r[16]).toEqual([0, "rid"]);
  });

  it("§2.2 request.* are NotFound on the root context; response.* only after response headers; upstream.* after routing", async () => {
    const p = await scripted([
      "configure prop request%00path",
      "configure prop plugin_root_id",
      "request_headers prop response%00code",
      "response_headers prop response%00code",
      "response_headers prop upstream%00address",
    ]);
    await p.request({ response: { status: 201 } });
    const r = workerResults(p).map((x) => [x.cb, x.status, x.value]);
    expect(r[0]).toEqual(["configure", 1, "-"]);
    expect(r[1]).toEqual(["configure", 0, "inference-router"]);
    expect(r[2]).toEqual(["request_headers", 1, "-"]);
    expect(u64le(unesc(r[3]![2] as string))).toBe(201n);
    expect(r[4]).toEqual(["response_headers", 0, "10.0.0.10:8000"]);
  });

  it("§2.2 set_property writes filter state wasm.<path>, readable back; NotFound on root contexts", async () => {
    const p = await scripted([
      "configure setprop k v",
      "request_headers setprop my_key val",
      "request_headers prop my_key",
      "log prop my_key",
    ]);
    await p.request({});
    expect(workerResults(p).map((x) => [x.status, x.value])).toEqual([
      [1, "-"],
      [0, "-"],
      [0, "val"],
      [0, "val"],
    ]);
  });
});

describe("shared data (host-behaviour §2.4)", () => {
  it("§2.4 CAS: absent key accepts any cas; mismatch ⇒ CasMismatch; cas 0 unconditional; counter starts at 1", async () => {
    const p = await scripted([
      "configure@1 getsh k",
      "configure setsh k v1 77",
      "configure getsh k",
      "configure setsh k v2 999",
      "configure setsh k v3 0",
      "configure getsh k",
    ]);
    const canary = p.logs
      .filter((l) => l.vm === "canary" && l.message.startsWith("R "))
      .map((l) => l.message.split(" ").slice(3).join(" "));
    expect(canary).toEqual(["getsh 1 -", "setsh 0 -", "getsh 0 v1 cas=1", "setsh 8 -", "setsh 0 -", "getsh 0 v3 cas=2"]);
  });

  it("§2.4/§6.A.1 the canary's writes are visible to workers; workers of one proxy share; compare-and-set across workers", async () => {
    const p = await scripted(["request_headers getsh k", "request_headers setsh k w 2"], {
      workers: 2,
      vmConfig: "vm_start setsh k canary 0",
    });
    // canary wrote cas 1, worker 0 wrote cas 2 (vm_start), worker 1 cas 3
    await p.request({ worker: 0 });
    const r = workerResults(p, "request_headers");
    expect(r[0]!.value).toBe("canary cas=3");
    expect(r[1]!.status).toBe(8); // stale cas
    expect(p.sharedData.entries()).toEqual({ k: "canary" });
  });

  it("§2.4 separate proxies are isolated unless they share a store; vm_id namespaces keys", async () => {
    const a = await scripted(["configure setsh k a 0"]);
    const b = await scripted(["configure getsh k"]);
    expect(workerResults(b)[0]!.status).toBe(1);
    const store = new SharedDataStore();
    await scripted(["configure setsh k a 0"], { sharedData: store });
    const d = await scripted(["configure getsh k"], { sharedData: store });
    expect(workerResults(d)[0]!.value).toMatch(/^a cas=/);
    const e = await scripted(["configure getsh k"], { sharedData: store, vmId: "other" });
    expect(workerResults(e)[0]!.status).toBe(1);
    expect(a.sharedData.entries()).toEqual({ k: "a" });
  });

  it("§1.4 queues: register/resolve/enqueue/dequeue; on_queue_ready posted to the registering VM's root; Empty when drained", async () => {
    const p = await scripted(
      [
        "configure regq q1",
        "request_headers resq ~ q1",
        "request_headers resq ~ nope",
        "request_headers enq 1 hello",
        "queue_ready deq 1",
        "queue_ready deq 1",
        "request_headers enq 99 x",
      ],
      { workers: 2 },
    );
    await p.request({ worker: 1 });
    const r = workerResults(p);
    expect(r.filter((x) => x.cb === "request_headers").map((x) => [x.status, x.value])).toEqual([
      [0, "1"],
      [1, "-"],
      [0, "-"],
      [1, "-"],
    ]);
    // worker 1 registered last, so it owns the queue
    const qr = p.logs.filter((l) => l.message.startsWith("CB queue_ready"));
    expect(qr.map((l) => [l.worker, l.message])).toEqual([[1, "CB queue_ready 1 1"]]);
    expect(workerResults(p, "queue_ready").map((x) => [x.status, x.value])).toEqual([
      [0, "hello"],
      [7, "-"],
    ]);
  });
});

describe("metrics (host-behaviour §2.6)", () => {
  it("§2.6 ids 4/8 counter, 5 gauge, 6 histogram per VM; counter delta must be > 0; histogram increment/get ⇒ BadArgument", async () => {
    const p = await scripted([
      "configure defm 0 reqs",
      "configure defm 0 other",
      "configure defm 1 inflight",
      "configure defm 2 lat",
      "request_headers incm 4 1",
      "request_headers incm 4 0",
      "request_headers incm 4 -1",
      "request_headers incm 5 -3",
      "request_headers incm 6 1",
      "request_headers recm 4 10",
      "request_headers recm 5 7",
      "request_headers recm 6 42",
      "request_headers getm 4",
      "request_headers getm 5",
      "request_headers getm 6",
      "request_headers getm 100",
    ]);
    await p.request({});
    expect(workerResults(p, "configure").map((x) => x.value)).toEqual(["4", "8", "5", "6"]);
    expect(workerResults(p, "request_headers").map((x) => [x.status, x.value])).toEqual([
      [0, "-"],
      [2, "-"],
      [2, "-"],
      [0, "-"],
      [2, "-"],
      [0, "-"],
      [0, "-"],
      [0, "-"],
      [0, "11"],
      [0, "7"],
      [2, "-"],
      [1, "-"],
    ]);
    expect(p.metrics()).toMatchObject({ reqs: 11, other: 0, inflight: 7, lat: { count: 1, sum: 42 } });
  });

  it("§2.6 same name in several workers ⇒ one proxy-level stat; Prometheus names strip wasmcustom, no envoy_ prefix", async () => {
    const p = await scripted(
      [
        "configure defm 0 router.requests_total",
        "configure defm 2 router.latency_ms",
        "request_headers incm 4 1",
        "request_headers recm 6 3",
      ],
      { workers: 2 },
    );
    await p.request({ worker: 0 });
    await p.request({ worker: 1 });
    expect(p.metrics()["router.requests_total"]).toBe(2);
    const text = p.prometheus();
    expect(text).toContain("# TYPE router_requests_total counter\nrouter_requests_total{} 2\n");
    expect(text).toContain('router_latency_ms_bucket{le="5"} 2');
    expect(text).toContain('router_latency_ms_bucket{le="1"} 0');
    expect(text).toContain("router_latency_ms_count{} 2");
    expect(text).not.toContain("envoy_");
  });
});

describe("http callouts (host-behaviour §2.3, §1.4)", () => {
  const hdrs = pairsHex([
    [":method", "GET"],
    [":path", "/metrics"],
    [":authority", "epp"],
  ]);
  it("§2.3 validation: unknown cluster, missing :path/:method/:authority, negative timeout ⇒ BadArgument; tokens 4, 8, …", async () => {
    const p = await scripted(
      [
        `request_headers call unknown ${hdrs} ~ ~ 1000`,
        `request_headers call c1 ${pairsHex([
          [":method", "GET"],
          [":path", "/"],
        ])} ~ ~ 1000`,
        `request_headers call c1 ${hdrs} ~ ~ -1`,
        `request_headers call c1 ${hdrs} body ~ 1000`,
        `request_headers call c1 ${hdrs} ~ ~ 0`,
      ],
      { clusters: ["c1"] },
    );
    await p.request({});
    expect(workerResults(p).map((x) => [x.status, x.value])).toEqual([
      [2, "-"],
      [2, "-"],
      [2, "-"],
      [0, "4"],
      [0, "8"],
    ]);
    const c = p.callouts.pending[0]!;
    expect(c.headers).toMatchObject({ ":path": "/metrics", "content-length": "4" });
    expect(c.bodyText).toBe("body");
  });

  it("§1.4 the response goes to the root context; headers/body/trailers readable only inside the callback", async () => {
    const p = await scripted(
      [
        `request_headers call c1 ${hdrs} ~ ~ 1000`,
        "request_headers return 1",
        "http_call_response hdr 6 :status",
        "http_call_response buf 4 0 100",
        "http_call_response hdr 7 t",
        "http_call_response status",
        "http_call_response eff $stream",
        "http_call_response rep 0 x-pool b",
        "http_call_response cont 0",
        "log buf 4 0 10",
      ],
      { clusters: ["c1"] },
    );
    const pending = p.request({});
    p.callouts.pending[0]!.respond({ status: 200, headers: { a: "1" }, body: "pool-b", trailers: { t: "x" } });
    const r = await pending;
    expect(callbacks(p)).toContain("http_call_response 1 4 2 6 1");
    expect(workerResults(p, "http_call_response").map((x) => [x.status, x.value])).toEqual([
      [0, "200"],
      [0, "pool-b ptr0=0"],
      [0, "x"],
      [0, "0:"],
      [0, "-"],
      [0, "-"],
      [0, "-"],
    ]);
    expect(workerResults(p, "log")[0]!.status).toBe(1);
    expect(r.routerHeaders?.["x-pool"]).toBe("b");
    expect(r.routeCacheClears).toBe(1);
  });

  it("§1.4 failure ⇒ n_headers 0 and get_status (11, 'reset'); timeout ⇒ router 504 response (documented choice)", async () => {
    const p = await scripted(
      [
        `configure call c1 ${hdrs} ~ ~ 500`,
        `configure call c1 ${hdrs} ~ ~ 500`,
        "http_call_response status",
        "http_call_response hdr 6 :status",
      ],
      { clusters: ["c1"] },
    );
    const mine = p.callouts.pending.filter((c) => c.request.worker === 0);
    mine[0]!.fail();
    expect(callbacks(p)).toContain("http_call_response 1 4 0 0 0");
    expect(
      workerResults(p, "http_call_response")
        .slice(0, 2)
        .map((x) => [x.status, x.value]),
    ).toEqual([
      [0, "11:reset"],
      [2, "-"],
    ]);
    p.advance(500);
    expect(callbacks(p)).toContain("http_call_response 1 8 3 24 0");
    expect(workerResults(p, "http_call_response")[3]!.value).toBe("504");
  });

  it("§2.3 an async transport (Promise) is delivered outside any VM call", async () => {
    const p = await scripted(
      [`request_headers call c1 ${hdrs} ~ ~ 0`, "request_headers return 1", "http_call_response eff $stream", "http_call_response cont 0"],
      {
        clusters: ["c1"],
        transport: async (req) => ({ status: 200, body: `hi ${req.path}` }),
      },
    );
    const r = await p.request({});
    expect(r.reachedRouter).toBe(true);
    expect(callbacks(p)).toContain("http_call_response 1 4 1 11 0");
  });
});

describe("misc host calls (host-behaviour §1.2)", () => {
  it("§1.2 foreign function unknown ⇒ NotFound; grpc calls registered but no services ⇒ BadArgument/NotFound; random_get limit", async () => {
    const p = await scripted([
      "request_headers ff nope ~",
      "request_headers grpc_call svc",
      "request_headers grpc_cancel 1",
      "request_headers rand 65536",
      "request_headers rand 65537",
    ]);
    await p.request({});
    expect(workerResults(p).map((x) => x.status)).toEqual([1, 2, 1, 0, 28]);
  });

  it("§6.B.8 set_effective_context to a deleted stream ⇒ BadArgument", async () => {
    const p = await scripted(["tick eff 2", "configure tick 10"]);
    await p.request({});
    p.advance(10);
    expect(workerResults(p, "tick")[0]!.status).toBe(2);
    expect(arg("a b")).toBe("a%20b");
  });
});
