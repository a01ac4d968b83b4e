// Real client libraries through the local gateway running build/inference-router.wasm: the official OpenAI SDK
// over HTTP/1.1, @grpc/grpc-js (KServe v2 gRPC, proto/kserve/grpc_predict_v2.proto) over h2c on the same port.
// Every call asserts which simulated server answered (its `x-simulator` header / initial metadata).
import http2 from "node:http2";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import * as loader from "@grpc/proto-loader";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Gateway } from "../../src/gateway/gateway.js";
import { parseLocalConfig } from "../../src/gateway/local-config.js";
import { PROTO_PATH } from "../../src/sim/grpc.js";
import { Simulator } from "../../src/sim/server.js";

const WASM = join(import.meta.dirname, "..", "..", "build", "inference-router.wasm");
const LLAMA = "llama-3.1-8b-instruct";
const TRITON_MODEL = "ensemble";

let vllm: Simulator[];
let triton: Simulator[];
let gw: Gateway;
/** Triton only: calls without a model to route on (health, metadata) go to any member of the mesh's one endpoint
 *  cluster, so they are tried where only Triton servers sit behind the gateway (the index is merged by the gateway). */
let tritonGw: Gateway;
let openai: OpenAI;
type KServeClient = grpc.Client & Record<string, (...a: unknown[]) => unknown>;
let kserve: KServeClient;
let kserveTriton: KServeClient;

beforeAll(async () => {
  vllm = [new Simulator({ name: "vllm-0", gpu: "a100", models: [LLAMA] }), new Simulator({ name: "vllm-1", gpu: "a100", models: [LLAMA] })];
  triton = [
    new Simulator({ name: "triton-0", engine: "triton", gpu: "a100", models: [TRITON_MODEL] }),
    new Simulator({ name: "triton-1", engine: "triton", gpu: "a100", models: [TRITON_MODEL] }),
  ];
  for (const s of [...vllm, ...triton]) await s.listen(0);
  const doc = {
    namespace: "test",
    workload: { selector: { matchLabels: { app: "t" } } },
    frontend: { host: "llm", port: 8000 },
    wasm: { url: "file://build/inference-router.wasm" },
    steering: "endpoint",
    body: { enabled: true },
    polling: { intervalMs: 100 },
    pools: [
      { name: "vllm", gpu: "a100", models: [LLAMA], endpoints: vllm.map((s) => s.address), metrics: { engine: "vllm" } },
      {
        name: "triton",
        gpu: "a100",
        models: [TRITON_MODEL],
        endpoints: triton.map((s) => s.address),
        metrics: { engine: "triton-trtllm" },
      },
    ],
  };
  const cfg = parseLocalConfig(doc, "clients.yaml");
  gw = new Gateway({
    router: cfg.router,
    upstreams: { vllm: vllm.map((s) => s.address), triton: triton.map((s) => s.address) },
    wasm: WASM,
    workers: 2,
    port: 0,
    adminPort: -1,
  });
  await gw.start();
  const tcfg = parseLocalConfig({ ...doc, pools: doc.pools.slice(1) }, "triton.yaml");
  tritonGw = new Gateway({
    router: tcfg.router,
    upstreams: { triton: triton.map((s) => s.address) },
    wasm: WASM,
    workers: 1,
    port: 0,
    adminPort: -1,
  });
  await tritonGw.start();
  openai = new OpenAI({ baseURL: `http://127.0.0.1:${gw.port}/v1`, apiKey: "unused", maxRetries: 0 });
  const def = loader.loadSync(PROTO_PATH, { keepCase: true, longs: Number, defaults: true });
  const pkg = grpc.loadPackageDefinition(def) as unknown as {
    inference: { GRPCInferenceService: new (a: string, c: grpc.ChannelCredentials) => KServeClient };
  };
  kserve = new pkg.inference.GRPCInferenceService(`127.0.0.1:${gw.port}`, grpc.credentials.createInsecure());
  kserveTriton = new pkg.inference.GRPCInferenceService(`127.0.0.1:${tritonGw.port}`, grpc.credentials.createInsecure());
});

afterAll(async () => {
  kserve?.close();
  kserveTriton?.close();
  await gw?.close();
  await tritonGw?.close();
  for (const s of [...(vllm ?? []), ...(triton ?? [])]) await s.close();
});

const vllmNames = () => vllm.map((s) => s.name);

describe("OpenAI SDK through the gateway", () => {
  it("chat completion", async () => {
    const { data, response } = await openai.chat.completions
      .create({ model: LLAMA, max_tokens: 4, messages: [{ role: "user", content: "hello" }] })
      .withResponse();
    expect(data.object).toBe("chat.completion");
    expect(data.choices[0]!.message.content!.split(" ")).toHaveLength(4);
    expect(vllmNames()).toContain(response.headers.get("x-simulator"));
    expect(response.headers.get("x-inference-router-upstream")).toMatch(/^vllm\//);
  });

  it("streaming chat completion", async () => {
    const { data: stream, response } = await openai.chat.completions
      .create({ model: LLAMA, max_tokens: 6, stream: true, messages: [{ role: "user", content: "stream" }] })
      .withResponse();
    let text = "";
    let finish: string | null = null;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? "";
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    expect(text.split(" ")).toHaveLength(6);
    expect(finish).toBe("length");
    expect(vllmNames()).toContain(response.headers.get("x-simulator"));
  });

  it("completions and embeddings (the SDK asks for base64 and decodes it)", async () => {
    const c = await openai.completions.create({ model: LLAMA, prompt: "Once", max_tokens: 3 });
    expect(c.choices[0]!.text.split(" ")).toHaveLength(3);
    const { data: e, response } = await openai.embeddings.create({ model: LLAMA, input: ["a", "bb"] }).withResponse();
    expect(e.data).toHaveLength(2);
    expect(e.data[0]!.embedding).toHaveLength(8);
    expect(e.data[0]!.embedding.every((x) => typeof x === "number" && Number.isFinite(x))).toBe(true);
    expect(vllmNames()).toContain(response.headers.get("x-simulator"));
  });

  it("Responses API", async () => {
    const { data: r, response } = await openai.responses.create({ model: LLAMA, input: "Say hi", max_output_tokens: 5 }).withResponse();
    expect(r.status).toBe("completed");
    expect(r.output_text.split(" ")).toHaveLength(5);
    expect(vllmNames()).toContain(response.headers.get("x-simulator"));
    const stream = await openai.responses.create({ model: LLAMA, input: "Stream hi", max_output_tokens: 3, stream: true });
    const types: string[] = [];
    let text = "";
    for await (const ev of stream) {
      types.push(ev.type);
      if (ev.type === "response.output_text.delta") text += ev.delta;
    }
    expect(types[0]).toBe("response.created");
    expect(types.at(-1)).toBe("response.completed");
    expect(text.split(" ")).toHaveLength(3);
  });

  it("an unknown model is the filter's 404, surfaced by the SDK as NotFoundError", async () => {
    await expect(openai.chat.completions.create({ model: "gpt-99", messages: [{ role: "user", content: "x" }] })).rejects.toBeInstanceOf(
      OpenAI.NotFoundError,
    );
  });
});

function unary<T>(method: string, req: unknown, client = kserve): Promise<{ value: T; served: string | undefined }> {
  return new Promise((resolve, reject) => {
    let served: string | undefined;
    const call = (client[method] as (r: unknown, cb: (e: grpc.ServiceError | null, v: T) => void) => grpc.ClientUnaryCall)(req, (e, v) =>
      e ? reject(e) : resolve({ value: v, served }),
    );
    call.on("metadata", (md: grpc.Metadata) => {
      served = md.get("x-simulator")[0] as string | undefined;
    });
  });
}

const textInput = (text: string, maxTokens: number, stream = false) => ({
  model_name: TRITON_MODEL,
  inputs: [
    { name: "text_input", datatype: "BYTES", shape: [1], contents: { bytes_contents: [Buffer.from(text)] } },
    { name: "max_tokens", datatype: "INT32", shape: [1], contents: { int_contents: [maxTokens] } },
    { name: "stream", datatype: "BOOL", shape: [1], contents: { bool_contents: [stream] } },
  ],
});

type StreamReply = { error_message: string; infer_response: { id: string; raw_output_contents: Buffer[] } | null };
type Got = Array<{ id?: string; text?: string; error?: string }>;

/** Runs one ModelStreamInfer call: `drive` writes to it; resolves with every response, the server and the status. */
async function streamInfer(
  client: KServeClient,
  drive: (call: grpc.ClientDuplexStream<unknown, StreamReply>, got: Got) => Promise<void>,
): Promise<{ got: Got; served: string | undefined; status: grpc.StatusObject }> {
  const call = (client.ModelStreamInfer as () => grpc.ClientDuplexStream<unknown, StreamReply>)();
  let served: string | undefined;
  call.on("metadata", (md: grpc.Metadata) => {
    served = md.get("x-simulator")[0] as string | undefined;
  });
  const got: Got = [];
  const ended = new Promise<grpc.StatusObject>((resolve) => call.on("status", resolve));
  call.on("data", (d: StreamReply) =>
    got.push(
      d.error_message ? { error: d.error_message } : { id: d.infer_response!.id, text: rawText(d.infer_response!.raw_output_contents[0]!) },
    ),
  );
  call.on("error", () => undefined);
  await drive(call, got);
  const status = await ended;
  return { got, served, status };
}

/** The gateway filter's count of gRPC KServe requests steered on their model. */
const grpcRouted = () =>
  Number(/inference_router_requests\{protocol="kserve-v2-grpc",outcome="routed"\} (\d+)/.exec(gw.proxy.prometheus())?.[1] ?? 0);

/** BYTES raw contents: 4-byte little-endian length, then the bytes. */
const rawText = (b: Buffer) => b.subarray(4, 4 + b.readUInt32LE(0)).toString("utf8");

describe("gRPC (KServe v2) through the gateway, steered by the filter", () => {
  it("health, metadata and the repository index", async () => {
    expect((await unary<{ live: boolean }>("ServerLive", {}, kserveTriton)).value.live).toBe(true);
    const md = await unary<{ name: string; inputs: Array<{ name: string }> }>("ModelMetadata", { name: TRITON_MODEL }, kserveTriton);
    expect(md.value.name).toBe(TRITON_MODEL);
    expect(md.value.inputs.map((i) => i.name)).toContain("text_input");
    const idx = await unary<{ models: Array<{ name: string; state: string }> }>("RepositoryIndex", {}, kserveTriton);
    expect(idx.value.models).toEqual([{ name: TRITON_MODEL, version: "1", state: "READY", reason: "" }]);
    // Over REST the local gateway merges every pool's index (vLLM servers have none: only Triton's models).
    const rest = await fetch(`http://127.0.0.1:${gw.port}/v2/repository/index`, { method: "POST", body: "{}" });
    expect(((await rest.json()) as Array<{ name: string }>).map((m) => m.name)).toEqual([TRITON_MODEL]);
    const list = (await (await fetch(`http://127.0.0.1:${gw.port}/v1/models`)).json()) as { data: Array<{ id: string }> };
    expect(list.data.map((m) => m.id)).toEqual([LLAMA]);
  });

  it("RepositoryIndex over gRPC is merged across pools, as the REST index is", async () => {
    // A second Triton pool with another model, behind a gateway that also holds the vLLM pool: a call forwarded to
    // one server would list one pool's models (or fail on a vLLM server, which has no gRPC service).
    const bert = new Simulator({ name: "triton-bert", engine: "triton", gpu: "a100", models: ["bert"] });
    await bert.listen(0);
    const doc = {
      namespace: "test",
      workload: { selector: { matchLabels: { app: "t" } } },
      frontend: { host: "llm", port: 8000 },
      wasm: { url: "file://build/inference-router.wasm" },
      steering: "pool",
      body: { enabled: true },
      pools: [
        { name: "vllm", gpu: "a100", models: [LLAMA], endpoints: vllm.map((s) => s.address), metrics: { engine: "vllm" } },
        {
          name: "triton",
          gpu: "a100",
          models: [TRITON_MODEL],
          endpoints: triton.map((s) => s.address),
          metrics: { engine: "triton-trtllm" },
        },
        { name: "bert", gpu: "a100", models: ["bert"], endpoints: [bert.address], metrics: { engine: "triton-trtllm" } },
      ],
    };
    const cfg = parseLocalConfig(doc, "index.yaml");
    const g = new Gateway({
      router: cfg.router,
      upstreams: { vllm: vllm.map((s) => s.address), triton: triton.map((s) => s.address), bert: [bert.address] },
      wasm: WASM,
      workers: 1,
      port: 0,
      adminPort: -1,
    });
    await g.start();
    const def = loader.loadSync(PROTO_PATH, { keepCase: true, longs: Number, defaults: true });
    const pkg = grpc.loadPackageDefinition(def) as unknown as {
      inference: { GRPCInferenceService: new (a: string, c: grpc.ChannelCredentials) => KServeClient };
    };
    const client = new pkg.inference.GRPCInferenceService(`127.0.0.1:${g.port}`, grpc.credentials.createInsecure());
    try {
      const idx = await unary<{ models: Array<{ name: string; version: string; state: string }> }>("RepositoryIndex", {}, client);
      expect(idx.value.models.map((m) => `${m.name}@${m.version}:${m.state}`).sort()).toEqual(["bert@1:READY", `${TRITON_MODEL}@1:READY`]);
      // The same union as the REST index of the same gateway.
      const rest = (await (await fetch(`http://127.0.0.1:${g.port}/v2/repository/index`, { method: "POST", body: "{}" })).json()) as Array<{
        name: string;
      }>;
      expect(rest.map((m) => m.name).sort()).toEqual(idx.value.models.map((m) => m.name).sort());
    } finally {
      client.close();
      await g.close();
      await bert.close();
    }
  });

  it("ModelInfer goes to the least-loaded server", async () => {
    // Load triton-0 directly (not through the gateway): long generations fill its batch and queue.
    const busy = triton[0]!;
    const held = Array.from({ length: 40 }, () =>
      fetch(`http://${busy.address}/v2/models/${TRITON_MODEL}/generate`, {
        method: "POST",
        body: JSON.stringify({ text_input: "x".repeat(400), max_tokens: 2000 }),
      })
        .then((r) => r.text())
        .catch(() => ""),
    );
    // Let the filter's 100 ms polls see it.
    await new Promise((r) => setTimeout(r, 600));
    const served: string[] = [];
    for (let i = 0; i < 4; i++) {
      const r = await unary<{ model_name: string; id: string; raw_output_contents: Buffer[] }>("ModelInfer", {
        ...textInput("hello", 3),
        id: `req-${i}`,
      });
      expect(r.value.model_name).toBe(TRITON_MODEL);
      expect(r.value.id).toBe(`req-${i}`);
      expect(rawText(r.value.raw_output_contents[0]!).split(" ")).toHaveLength(3);
      served.push(r.served!);
    }
    expect(served).toEqual(["triton-1", "triton-1", "triton-1", "triton-1"]);
    busy.setFaults({ dead: true });
    busy.setFaults({ dead: false });
    await Promise.all(held);
  });

  it("ModelStreamInfer: the filter steers the stream by the model of its first message", async () => {
    // Written whole, then half-closed: the filter reads the model from the first message and steers to Triton
    // (the gateway's endpoint cluster also holds the vLLM servers, which have no gRPC service).
    for (let i = 0; i < 3; i++) {
      const { got, served, status } = await streamInfer(kserve, async (call) => {
        call.write({ ...textInput("first", 4, true), id: "a" });
        call.write({ ...textInput("second", 2, false), id: "b" });
        call.end();
      });
      expect(status.code).toBe(grpc.status.OK);
      expect(triton.map((s) => s.name)).toContain(served);
      expect(
        got
          .filter((g) => g.id === "a")
          .map((g) => g.text)
          .join("")
          .split(" "),
      ).toHaveLength(4);
      expect(got.filter((g) => g.id === "a")).toHaveLength(4); // one response per token
      expect(got.filter((g) => g.id === "b")).toHaveLength(1); // stream=false: one response
    }
  });

  it("ModelStreamInfer streams both ways: token responses per request, errors in the stream", async () => {
    // The second request is written only after tokens of the first arrived, so the stream must be live in both
    // directions through the gateway. The filter decides on the first complete gRPC frame, so the open stream is
    // steered by its model at once: behind the mixed gateway (vLLM servers have no gRPC service) it must reach
    // Triton, and the first tokens must come well before body.timeoutMs would have released it unrouted.
    const routedBefore = grpcRouted();
    const { got, served, status } = await streamInfer(kserve, async (call, got) => {
      call.write({ ...textInput("first", 4, true), id: "a" });
      const t0 = performance.now();
      while (got.length === 0 && performance.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 5));
      expect(got.length, "tokens of the first request arrive before the client writes again").toBeGreaterThan(0);
      call.write({ ...textInput("second", 2, true), id: "b" });
      call.write({ model_name: "not-a-model", id: "c" });
      call.end();
    });
    expect(status.code).toBe(grpc.status.OK);
    expect(
      got
        .filter((g) => g.id === "a")
        .map((g) => g.text)
        .join("")
        .split(" "),
    ).toHaveLength(4);
    expect(got.filter((g) => g.id === "b")).toHaveLength(2);
    expect(got.some((g) => g.error?.includes("not-a-model"))).toBe(true);
    expect(triton.map((s) => s.name)).toContain(served);
    // Steered on its model (counted as routed), not released by the body timeout to go wherever Envoy sends it.
    expect(grpcRouted()).toBe(routedBefore + 1);
    expect(gw.proxy.prometheus()).not.toMatch(/inference_router_body_timeouts\{\} [1-9]/);
  });

  it("the filter's local reply for an unknown model arrives as a trailers-only NOT_FOUND", async () => {
    const before = triton.map((s) => s.requests);
    const err = await unary("ModelInfer", { ...textInput("x", 1), model_name: "no-such-model" }).then(
      () => undefined,
      (e: grpc.ServiceError) => e,
    );
    expect(err?.code).toBe(grpc.status.NOT_FOUND);
    expect(triton.map((s) => s.requests)).toEqual(before);
    // The same reply on the wire: HTTP/2 :status 200, grpc-status 5 on the headers, which end the stream.
    const session = http2.connect(`http://127.0.0.1:${gw.port}`);
    const st = session.request({
      ":method": "POST",
      ":path": "/inference.GRPCInferenceService/ModelInfer",
      "content-type": "application/grpc",
      te: "trailers",
    });
    const msg = Buffer.from([0x0a, 0x02, 0x6e, 0x6f]); // ModelInferRequest { model_name: "no" }
    const head = Buffer.alloc(5);
    head.writeUInt32BE(msg.length, 1);
    st.end(Buffer.concat([head, msg]));
    const [h, flags] = await new Promise<[http2.IncomingHttpHeaders, number]>((resolve) => st.on("response", (hh, f) => resolve([hh, f])));
    expect(h[":status"]).toBe(200);
    expect(h["content-type"]).toBe("application/grpc");
    expect(h["grpc-status"]).toBe("5");
    expect(flags & http2.constants.NGHTTP2_FLAG_END_STREAM).toBeTruthy();
    session.close();
  });
});
