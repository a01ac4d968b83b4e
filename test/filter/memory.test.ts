// The filter's VM memory stays flat: linear memory never shrinks in Envoy, so any per-request growth would
// end in an out-of-memory trap on a busy sidecar.
import { describe, expect, it } from "vitest";
import { HeaderMap } from "../../src/host/index.js";
import { routerProxy, twoPools } from "./helpers.js";

describe("memory", () => {
  it("keeps the filter VM's memory flat over 100k requests", { timeout: 120_000 }, async () => {
    const p = await routerProxy(twoPools({ steering: "endpoint" }));
    const reqHeaders = {
      ":method": "POST", ":path": "/v2/models/llama-3-70b/infer", ":authority": "gpu.example", "content-type": "application/json",
      "x-gateway-destination-endpoint": "1.2.3.4:5",
    };
    const run = (n: number) => {
      for (let i = 0; i < n; i++) {
        const s = p.newStream();
        s.sendRequestHeaders(new HeaderMap(reqHeaders), true);
        s.sendResponseHeaders(new HeaderMap({ ":status": i % 50 === 0 ? "503" : "200" }), true);
        s.complete();
        if (i % 1000 === 0) p.advance(10);
      }
    };
    run(10_000); // warm up: heap and GC reach their working size
    const before = p.workers[0]!.memoryPages();
    run(100_000);
    const after = p.workers[0]!.memoryPages();
    expect(p.workers[0]!.failed).toBe(false);
    expect(after).toBe(before);
  });
});
