// Configuration pushes on reused VMs, as proxy-wasm-cpp-host runs them (src/wasm.cc WasmBase::start, startShutdown,
// WasmHandleBase::canary; include/proxy-wasm/wasm.h PluginHandleBase; @52a02917b301c679ff43565064cffd2c3c750f6d):
// a plugin is keyed by root id + configuration, a new key gets a canary clone and then a new root context beside
// the old one on every worker, and the old root is shut down when the last holder of its handle (the filter config,
// then each stream created under it) lets go. Envoy ticks each root context on its own timer (Wasm::setTimerPeriod
// keyed by context id; Wasm::tickHandler skips a context that no longer exists; envoy@0080bf5f source/extensions/
// common/wasm/wasm.cc).
import { describe, expect, it } from "vitest";
import { callbacks, scripted } from "./helpers.js";

const V1 = "configure tick 10";
const V2 = "# v2\nconfigure tick 10";

describe("config push (root id + configuration key a plugin)", () => {
  it("checks the new config on a canary, then starts a new root beside the old one; an idle old root is done → deleted at once", async () => {
    const p = await scripted(V1, { workers: 2 });
    p.logs.clear();
    p.pushConfig(V2);
    const n = new TextEncoder().encode(V2).length;
    expect(callbacks(p, "canary")).toEqual(["context_create 1 0", "vm_start 1 0", `configure 1 ${n}`]);
    expect(p.logs.filter((l) => l.vm === "worker" && l.message.startsWith("CB ")).map((l) => `${l.worker}:${l.message.slice(3)}`)).toEqual([
      "0:context_create 2 0",
      "0:vm_start 2 0",
      `0:configure 2 ${n}`,
      "0:done 1",
      "0:delete 1",
      "1:context_create 2 0",
      "1:vm_start 2 0",
      `1:configure 2 ${n}`,
      "1:done 1",
      "1:delete 1",
    ]);
    expect(p.workers.map((w) => w.rootId)).toEqual([2, 2]);
  });

  it("keeps the old root (and its ticks) until its last stream ends; new streams belong to the new root", async () => {
    const p = await scripted(V1);
    const old = p.newStream();
    old.sendRequestHeaders({ ":path": "/old" }, true);
    p.pushConfig(V2); // stream 2 holds root 1; the new root is 3
    p.logs.clear();
    p.advance(10);
    expect(
      callbacks(p)
        .filter((c) => c.startsWith("tick"))
        .sort(),
    ).toEqual(["tick 1", "tick 3"]);
    const fresh = p.newStream();
    fresh.sendRequestHeaders({ ":path": "/new" }, true);
    expect(callbacks(p)).toContain("context_create 4 3");
    p.logs.clear();
    old.complete();
    expect(callbacks(p)).toEqual(["log 2", "done 2", "delete 2", "done 1", "delete 1"]);
    p.logs.clear();
    p.advance(10);
    expect(callbacks(p).filter((c) => c.startsWith("tick"))).toEqual(["tick 3"]);
    fresh.complete();
    expect(callbacks(p).slice(-3)).toEqual(["log 4", "done 4", "delete 4"]); // the current root stays
    expect(p.workers[0]!.vm.roots().map((r) => r.id)).toEqual([3]);
  });

  it("the same config is no push; a config rejected by the canary leaves the running one in place", async () => {
    const p = await scripted(V1);
    p.logs.clear();
    p.pushConfig(V1);
    expect(callbacks(p, "all")).toEqual([]);
    const e = (() => {
      try {
        p.pushConfig("configure return 0");
      } catch (x) {
        return x as { code: string };
      }
    })();
    expect(e?.code).toBe("ConfigureFailed");
    expect(callbacks(p)).toEqual([]); // no worker saw it
    expect(() => p.pushConfig("configure return 0")).toThrow(/ConfigureFailed/); // cached canary result
    await p.request({});
    expect(callbacks(p)).toContain("context_create 2 1");
  });

  it("a push back to a config whose root is still alive reuses that root (same plugin key)", async () => {
    const p = await scripted(V1);
    const s = p.newStream();
    s.sendRequestHeaders({ ":path": "/" }, true);
    p.pushConfig(V2); // root 3
    p.logs.clear();
    p.pushConfig(V1); // root 1 is alive (held by stream 2): current again; root 3 is idle, so it goes
    expect(callbacks(p)).toEqual(["done 3", "delete 3"]);
    expect(p.workers[0]!.rootId).toBe(1);
    s.complete();
    expect(callbacks(p).slice(-3)).toEqual(["log 2", "done 2", "delete 2"]); // root 1 is current: it stays
  });

  it("a root whose on_done returns 0 is deleted only after proxy_done", async () => {
    const p = await scripted(["done@1 return 0"]);
    p.logs.clear();
    p.pushConfig(V2);
    expect(callbacks(p).slice(-1)).toEqual(["done 1"]);
    expect(
      p.workers[0]!.vm.roots()
        .map((r) => r.id)
        .sort(),
    ).toEqual([1, 2]);
  });
});
