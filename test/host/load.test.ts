// Loading and initialisation: ABI detection, the exact import set per ABI, export signatures, allocator,
// start section, restricted callbacks, and the proxy-runtime 0.1.8 onConfigure bug.
import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { createProxy, HostError, VirtualClock } from "../../src/host/index.js";
import { wasmPath } from "./helpers.js";

/** A hand-assembled module whose wasm start section calls env.proxy_log (AS release builds have no start section). */
function startSectionModule(): Uint8Array {
  const str = (s: string) => [s.length, ...Buffer.from(s)];
  const section = (id: number, body: number[]) => [id, body.length, ...body];
  const bytes = [
    0x00,
    0x61,
    0x73,
    0x6d,
    0x01,
    0x00,
    0x00,
    0x00,
    ...section(1, [3, 0x60, 3, 0x7f, 0x7f, 0x7f, 1, 0x7f, 0x60, 0, 0, 0x60, 1, 0x7f, 1, 0x7f]),
    ...section(2, [1, ...str("env"), ...str("proxy_log"), 0, 0]),
    ...section(3, [2, 1, 2]),
    ...section(5, [1, 0, 1]),
    ...section(7, [3, ...str("memory"), 2, 0, ...str("proxy_abi_version_0_2_1"), 0, 1, ...str("malloc"), 0, 2]),
    ...section(8, [1]),
    ...section(10, [2, 11, 0, 0x41, 0, 0x41, 0, 0x41, 0, 0x10, 0, 0x1a, 0x0b, 4, 0, 0x41, 0, 0x0b]),
  ];
  return new Uint8Array(bytes);
}

async function loadError(name: string, opts = {}): Promise<HostError> {
  const e = await createProxy({ wasm: wasmPath(name), clock: new VirtualClock(), ...opts }).then(
    () => undefined,
    (x) => x,
  );
  expect(e).toBeInstanceOf(HostError);
  return e as HostError;
}

describe("loading (host-behaviour §1.3, §6.E.18)", () => {
  it("§1.3 a module without proxy_abi_version_* fails: 'Missing or unknown Proxy-Wasm ABI version'", async () => {
    expect((await loadError("host-noabi")).message).toContain("Missing or unknown Proxy-Wasm ABI version");
  });

  it("§0.1/§6.E.18 ABI 0.2.0 module importing proxy_get_log_level (0.2.1 only) fails with a missing import", async () => {
    const e = await loadError("host-abi020-loglevel");
    expect(e.code).toBe("MissingImport");
    expect(e.message).toContain("missing import: env.proxy_get_log_level");
  });

  it("§0.1 a module importing proxy_clear_route_cache (0.1.0 only) is unloadable under 0.2.x", async () => {
    const e = await loadError("host-clear-route-cache");
    expect(e.message).toContain("missing import: env.proxy_clear_route_cache");
  });

  it("§1.3 a known callback with the wrong signature fails: 'Bad function signature'", async () => {
    const e = await loadError("host-badsig");
    expect(e.message).toContain("Bad function signature for: proxy_on_request_headers");
  });

  it("§1.3 neither malloc nor proxy_on_memory_allocate ⇒ MissingFunction", async () => {
    const e = await loadError("host-nomalloc");
    expect(e.code).toBe("MissingFunction");
    expect(e.message).toContain("missing malloc");
  });

  it("§1.2 the ABI 0.2.1 conformance filter links against exactly the registered set", async () => {
    const p = await createProxy({ wasm: wasmPath("host-conformance"), clock: new VirtualClock() });
    expect(p.abi).toBe("0.2.1");
    const mod = new WebAssembly.Module(readFileSync(wasmPath("host-conformance")));
    const imports = WebAssembly.Module.imports(mod).map((i) => `${i.module}.${i.name}`);
    expect(imports).toContain("wasi_unstable.proc_exit");
    expect(imports).toContain("wasi_snapshot_preview1.fd_write");
    expect(imports).toContain("env.proxy_get_log_level");
  });
});

describe("initialisation (host-behaviour §1.4, §6.D)", () => {
  it("§6.D.11 a host call from the wasm start section has no context: load fails (Envoy+V8 null-context crash)", async () => {
    const e = await createProxy({ wasm: startSectionModule(), clock: new VirtualClock() }).then(
      () => undefined,
      (x) => x,
    );
    expect(e).toBeInstanceOf(HostError);
    expect((e as HostError).code).toBe("StartFunctionHostCall");
    expect((e as HostError).message).toContain("proxy_log");
  });

  it("§6.D.12 _initialize may call proxy_log and WASI clock (restricted whitelist), with context 0, in every VM", async () => {
    const p = await createProxy({ wasm: wasmPath("host-init-ok"), clock: new VirtualClock(), workers: 2 });
    const inits = p.logs.matching("init ran");
    expect(inits.map((l) => l.vm)).toEqual(["base", "canary", "worker", "worker"]);
    expect(inits.every((l) => l.contextId === 0)).toBe(true);
    expect(p.logs.matching("clock status 0")).toHaveLength(4);
  });

  it("§6.D.12 any other host call during _initialize traps 'restricted_callback' and the load fails", async () => {
    const e = await loadError("host-init-restricted");
    expect(e.code).toBe("StartFailed");
    expect(e.message).toContain("restricted_callback");
    expect(e.message).toContain("proxy_set_tick_period_milliseconds");
  });

  it("§6.D.12 during host→malloc only log/fd_write/clock/poll are allowed; others trap restricted_callback", async () => {
    const e = await loadError("host-malloc-restricted", { pluginConfig: "abc", logLevel: "trace" });
    expect(e.code).toBe("ConfigureFailed");
    expect(e.message).toContain("restricted_callback");
    // proxy_log from inside malloc was allowed and got through before the forbidden call
    expect(e.logs.some((l) => l.message === "malloc 3")).toBe(true);
  });
});

describe("proxy-runtime 0.1.8 under the faithful host (host-behaviour §5.3.1, §6.E.16)", () => {
  it("§6.E.16 default onConfigure passes the length as size_ptr: the host writes the u32 size at guest address = len", async () => {
    const cfg = "17-bytes-config!!";
    const p = await createProxy({
      wasm: wasmPath("sdk-hello"),
      rootId: "sdk-hello",
      pluginConfig: cfg,
      clock: new VirtualClock(),
      traceHostCalls: true,
    });
    const vm = p.workers[0]!.vm;
    const call = vm.hostCalls.find((c) => c.name === "proxy_get_buffer_bytes" && c.args[0] === 7)!;
    expect(call.args[2]).toBe(cfg.length);
    expect(call.args[4]).toBe(cfg.length); // size_ptr == length: the SDK bug
    expect(new DataView(vm.memory.buffer).getUint32(cfg.length, true)).toBe(cfg.length);
    // and the filter still works for a request (it adds x-sdk-hello)
    const r = await p.request({ path: "/" });
    expect(r.routerHeaders?.["x-sdk-hello"]).toBe("1");
  });
});
