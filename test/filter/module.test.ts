// The product module as Envoy would see it: ABI marker, exports, imports, initialisation, and a pass-through
// filter built with the same toolchain.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createProxy, VirtualClock } from "../../src/host/index.js";
import { importSignatures } from "../../src/host/imports.js";
import { readModuleInfo } from "../../src/host/module-info.js";
import { ROUTER_WASM, twoPools } from "./helpers.js";

const NOOP_WASM = join(import.meta.dirname, "..", "..", "build", "test", "noop.wasm");

describe.each([
  ["inference-router", ROUTER_WASM],
  ["noop", NOOP_WASM],
])("%s.wasm", (_name, file) => {
  const bytes = readFileSync(file);
  const info = readModuleInfo(bytes);
  const names = [...info.exports.keys()];

  it("exports proxy_abi_version_0_2_1, malloc, memory, _initialize and the proxy_on_* callbacks", () => {
    expect(names.filter((n) => n.startsWith("proxy_abi_version_"))).toEqual(["proxy_abi_version_0_2_1"]);
    for (const n of [
      "malloc",
      "memory",
      "_initialize",
      "proxy_on_context_create",
      "proxy_on_vm_start",
      "proxy_on_configure",
      "proxy_on_tick",
      "proxy_on_request_headers",
      "proxy_on_request_body",
      "proxy_on_response_headers",
      "proxy_on_http_call_response",
      "proxy_on_log",
      "proxy_on_done",
      "proxy_on_delete",
    ])
      expect(names).toContain(n);
  });

  it("imports only functions Envoy registers for ABI 0.2.1, and never a 0.1.0-only call", () => {
    const allowed = importSignatures("0.2.1");
    for (const imp of info.imports) {
      expect(allowed.has(`${imp.module}.${imp.name}`), `${imp.module}.${imp.name}`).toBe(true);
      expect(imp.name).not.toMatch(/^proxy_(clear_route_cache|get_configuration|continue_request|continue_response)$/);
    }
  });

  it("has no start section: top-level code runs in _initialize, under Envoy's restricted callbacks", () => {
    expect(info.hasStartSection).toBe(false);
  });
});

describe("pass-through filter", () => {
  it("the no-op filter forwards requests and responses unchanged", async () => {
    const p = await createProxy({ wasm: NOOP_WASM, clock: new VirtualClock(), workers: 2 });
    const r = await p.request({
      method: "POST",
      path: "/v1/chat/completions",
      headers: { "x-inference-pool": "x" },
      body: "{}",
      response: { status: 201, body: "ok" },
    });
    expect(r.routerHeaders!["x-inference-pool"]).toBe("x");
    expect(r.routeCacheClears).toBe(0);
    expect(r.status).toBe(201);
    expect(r.body).toBe("ok");
  });

  it("the router accepts any root id (Istio's pluginName) without trapping", async () => {
    const p = await createProxy({ wasm: ROUTER_WASM, rootId: "my-plugin", pluginConfig: twoPools(), clock: new VirtualClock() });
    expect((await p.request({ method: "GET", path: "/v2/health/ready" })).reachedRouter).toBe(true);
  });
});
