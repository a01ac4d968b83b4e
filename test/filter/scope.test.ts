// The filter only touches requests to the inference services it is configured for (pools[].hosts, matched
// exactly against :authority): everything else from the same sidecar passes unsteered — the filter reads
// :authority and removes its own headers and the foreign steering headers (so no client can steer through it
// anyway), nothing more.
import { describe, expect, it } from "vitest";
import { FOREIGN_STEERING_HEADERS } from "../../src/config/plugin-config.js";
import { generate } from "../../src/toolkit/generate.js";
import { variant } from "../toolkit/helpers.js";
import { chat, oip, routerProxy, twoPools } from "./helpers.js";

const LLM = [
  "llm",
  "llm:8000",
  "llm.llm",
  "llm.llm:8000",
  "llm.llm.svc",
  "llm.llm.svc:8000",
  "llm.llm.svc.cluster.local",
  "llm.llm.svc.cluster.local:8000",
];
const scoped = (extra: Record<string, unknown> = {}) => {
  const c = twoPools(extra) as { pools: Array<Record<string, unknown>> };
  for (const p of c.pools) p["hosts"] = LLM;
  return c;
};
const spoof = { "x-inference-pool": "evil", "x-gateway-destination-endpoint": "169.254.169.254:80" };

/** Host calls the worker VM made while one request went through, start to end. */
async function hostCallsFor(p: Awaited<ReturnType<typeof routerProxy>>, spec: Parameters<typeof p.request>[0]): Promise<string[]> {
  const calls = p.workers[0]!.vm.hostCalls;
  const before = calls.length;
  await p.request(spec);
  return calls.slice(before).map((c) => c.name);
}

describe("scope: the filter acts only on the configured services", () => {
  it("steers a request to the service under every name Istio gives it, with or without the port, any case", async () => {
    const p = await routerProxy(scoped());
    for (const authority of [...LLM, "LLM.llm.SVC.cluster.local:8000"]) {
      const r = await p.request(oip("mistral-7b", { authority, headers: spoof }));
      expect(r.routerHeaders!["x-inference-pool"], authority).toBe("l4");
      expect(r.routerHeaders!["x-inference-model"], authority).toBe("mistral-7b");
    }
  });

  it("other authorities pass unsteered: nothing classified, written, held or answered; owned headers removed", async () => {
    const p = await routerProxy(scoped({ body: { enabled: true }, unknownModel: "reject" }), { allowOnHeadersStopIteration: true });
    for (const authority of [
      "api.openai.com",
      "llm:9000",
      "other.llm.svc.cluster.local:8000",
      "llm.llm.svc.cluster.local.evil.com",
      "",
      "llm.other:8000",
    ]) {
      // With body mode and unknownModel reject, an in-scope request for this model would be held and answered 404.
      const r = await p.request(chat("gpt-4o", { authority, headers: spoof }));
      expect(r.localReply, authority).toBeUndefined();
      expect(r.reachedRouter, authority).toBe(true);
      const h = r.routerHeaders!;
      expect(h["x-inference-pool"], authority).toBeUndefined(); // a client value never reaches the router
      expect(h["x-gateway-destination-endpoint"], authority).toBeUndefined();
      expect(h["x-inference-model"], authority).toBeUndefined();
      expect(h["x-inference-protocol"], authority).toBeUndefined();
    }
    // In scope, the same request is answered by the filter.
    expect((await p.request(chat("gpt-4o", { authority: "llm.llm:8000" }))).localReply?.status).toBe(404);
  });

  // One read of the request headers (proxy_get_header_map_pairs), then a removal only for each owned or foreign
  // steering header that is there — in any case and however many times (one removal takes every copy).
  it("an out-of-scope request costs one header read, plus one removal per owned or foreign header present; an in-scope one the full path", async () => {
    const p = await routerProxy(scoped(), { traceHostCalls: true });
    await p.request(oip("mistral-7b", { authority: "llm:8000" })); // warm-up: first-request allocations
    const out = await hostCallsFor(p, oip("mistral-7b", { authority: "api.example.com" }));
    expect(out).toEqual(["proxy_get_header_map_pairs"]);
    const spoofs = { "X-Inference-Pool": ["evil", "evil2"], "x-inference-model": "m", [FOREIGN_STEERING_HEADERS[0]!]: ["a", "b"] };
    const spoofed = await hostCallsFor(p, oip("mistral-7b", { authority: "api.example.com", headers: spoofs }));
    expect(spoofed).toEqual(["proxy_get_header_map_pairs", ...Array(3).fill("proxy_remove_header_map_value")]);
    const inScope = await hostCallsFor(p, oip("mistral-7b", { authority: "llm:8000" }));
    expect(inScope.length).toBeGreaterThan(10);
    console.log(`host calls per request: out of scope ${out.length} (${spoofed.length} with 3 spoofed names), in scope ${inScope.length}`);
  });

  it("without hosts (local test beds) every request is in scope", async () => {
    const p = await routerProxy(twoPools());
    const r = await p.request(oip("mistral-7b", { authority: "anything.example" }));
    expect(r.routerHeaders!["x-inference-pool"]).toBe("l4");
  });

  it("the hosts the toolkit generates for the example are the ones the filter matches", async () => {
    const r = generate(
      variant((c) => {
        c.body = { enabled: false };
      }),
    );
    const p = await routerProxy(r.pluginConfig, { clusters: r.metrics.map((m) => m.cluster) });
    expect(
      (await p.request(oip("qwen2.5-7b-instruct", { authority: "llm.llm.svc.cluster.local:8000" }))).routerHeaders!["x-inference-pool"],
    ).toBe("l4");
    expect((await p.request(oip("qwen2.5-7b-instruct", { authority: "llm" }))).routerHeaders!["x-inference-pool"]).toBe("l4");
    expect(
      (await p.request(oip("qwen2.5-7b-instruct", { authority: "search.tools:8080" }))).routerHeaders!["x-inference-pool"],
    ).toBeUndefined();
  });
});
