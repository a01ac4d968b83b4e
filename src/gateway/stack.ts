// The local stack behind `serve` and `start`: in-process simulators for the pools that need them, then the gateway.
import { Simulator } from "../sim/server.js";
import { Gateway } from "./gateway.js";
import { planPools, type LocalConfig } from "./local-config.js";

export interface StackOptions {
  wasm: string | Uint8Array;
  port?: number;
  adminPort?: number;
  workers?: number;
  logLevel?: "trace" | "debug" | "info" | "warn" | "error" | "critical";
}

export interface Stack {
  gateway: Gateway;
  simulators: Simulator[];
  /** pool → members (ip:port). */
  upstreams: Record<string, string[]>;
  /** member → simulator (absent for external servers). */
  simulatorAt: Map<string, Simulator>;
  close(): Promise<void>;
}

export async function startStack(cfg: LocalConfig, o: StackOptions): Promise<Stack> {
  const simulators: Simulator[] = [];
  const upstreams: Record<string, string[]> = {};
  const gpus: Record<string, string> = {};
  const simulatorAt = new Map<string, Simulator>();
  let seed = 1;
  try {
    for (const plan of planPools(cfg)) {
      if (plan.addresses) {
        upstreams[plan.pool] = plan.addresses;
        continue;
      }
      const list: string[] = [];
      for (const [i, sp] of (plan.simulators ?? []).entries()) {
        const sim = new Simulator({
          name: `${plan.pool}-${i}`,
          gpu: sp.gpu,
          ...(sp.speed !== undefined ? { speed: sp.speed } : {}),
          engine: sp.engine,
          orca: sp.orca,
          models: sp.models,
          seed: seed++,
        });
        await sim.listen(sp.port);
        simulators.push(sim);
        list.push(sim.address);
        gpus[sim.address] = sim.model.spec.gpu;
        simulatorAt.set(sim.address, sim);
      }
      upstreams[plan.pool] = list;
    }
    const gateway = new Gateway({
      router: cfg.router,
      upstreams,
      gpus,
      wasm: o.wasm,
      workers: o.workers ?? cfg.local.workers,
      port: o.port ?? cfg.local.port,
      adminPort: o.adminPort ?? cfg.local.adminPort,
      ...(o.logLevel ? { logLevel: o.logLevel } : {}),
    });
    await gateway.start();
    return {
      gateway,
      simulators,
      upstreams,
      simulatorAt,
      close: async () => {
        await gateway.close();
        await Promise.all(simulators.map((s) => s.close()));
      },
    };
  } catch (e) {
    await Promise.all(simulators.map((s) => s.close()));
    throw e;
  }
}
