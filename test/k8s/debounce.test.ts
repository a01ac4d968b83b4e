// The debounce bound, on a virtual clock: the first change starts the timer and later ones never extend it, so a
// change is written at most debounceMs after it was seen, however long a burst lasts.
import { afterEach, describe, expect, it, vi } from "vitest";
import { RouterConfigSchema } from "../../src/config/router-config.js";
import type { KubeClient } from "../../src/k8s/client.js";
import { SyncController } from "../../src/k8s/sync.js";

afterEach(() => {
  vi.useRealTimers();
});

describe("sync debounce", () => {
  it("a continuous burst of changes is written every debounceMs, never later", async () => {
    vi.useFakeTimers();
    const cfg = RouterConfigSchema.parse({
      namespace: "llm",
      workload: { selector: { matchLabels: { app: "chat" } } },
      frontend: { host: "llm", port: 8000 },
      wasm: { url: "oci://ghcr.io/example/inference-router:0.1.0" },
      pools: [{ name: "a", models: ["m"], service: { host: "svc", port: 8000 } }],
    });
    const gets: number[] = [];
    // Each reconcile reads the WasmPlugin once (and then writes it: it has no pluginConfig yet).
    const client = {
      request: async (method: string) => {
        if (method === "GET") gets.push(Date.now());
        return { spec: {} };
      },
    } as unknown as KubeClient;
    const c = new SyncController(client, cfg, { source: "endpointslices", debounceMs: 200 });
    const t0 = Date.now();
    const change = c as unknown as { schedule(): void };
    for (let t = 0; t < 1000; t += 50) {
      change.schedule();
      await vi.advanceTimersByTimeAsync(50);
    }
    expect(gets.map((t) => t - t0)).toEqual([200, 400, 600, 800, 1000]);
    c.stop();
  });
});
