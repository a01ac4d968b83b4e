// The catalog: pools and upstreams from the configuration, and which pools serve a model. Built once per
// configure. An "upstream" is what the filter picks: a whole pool in pool steering mode, one endpoint in
// endpoint steering mode. Every steering value the filter ever writes comes from here, never from a client.
import { PoolConfig, RouterConfig, STEER_ENDPOINT } from "./config";
import { utf8 } from "../runtime/host";
import { FNV_OFFSET, fnvString } from "./hash";

export class Upstream {
  constructor(
    public index: i32,
    public pool: i32,
    /** Steering value: the pool name (pool mode) or ip:port (endpoint mode). */
    public name: string,
    /** Relative throughput: pool weight (1 when unset), times its member count in pool mode. */
    public capacity: f64,
    /** In-flight requests at which this upstream counts as saturated. */
    public maxInFlight: f64,
    /** Shared-data key of its load record. */
    public key: ArrayBuffer,
  ) {
    this.nameHash = fnvString(FNV_OFFSET, name);
  }
  /** Stable hash of the name: every sidecar computes the same, for rendezvous hashing. */
  nameHash: u32;
  /** Servers behind it: the pool's member count in pool mode (its reported queue is their sum), else 1. */
  members: f64 = 1;
  /** Its pool sets no weight and capacity.learn is on: the picker uses the learned capacity (× members). */
  learned: bool = false;
}

export class Pool {
  /** Upstream indices of its members. */
  members: Array<i32> = [];
  /** Index of the fallback pool, -1 when none. */
  fallback: i32 = -1;
  /** True when some other pool names this one as its fallback: it is used only through that chain. */
  isFallback: bool = false;
  constructor(public index: i32, public cfg: PoolConfig) {}
}

export class Catalog {
  pools: Array<Pool> = [];
  upstreams: Array<Upstream> = [];
  /** Exact model name → indices of pools serving it. */
  private exact: Map<string, Array<i32>> = new Map();
  /** Pools with prefixes, checked in order after an exact miss. */
  private prefixPools: Array<i32> = [];
  private modelPriority: Map<string, i32> = new Map();
  private scratch: Array<i32> = [];
  /** Model discovery: per pool, the names its servers listed; and model → pools built from them. */
  private discoveredLists: Array<Array<string>> = [];
  private discovered: Map<string, Array<i32>> = new Map();

  constructor(cfg: RouterConfig) {
    const byName = new Map<string, i32>();
    for (let i = 0; i < cfg.pools.length; i++) {
      const pc = cfg.pools[i];
      const pool = new Pool(i, pc);
      this.pools.push(pool);
      byName.set(pc.name, i);
      for (let m = 0; m < pc.models.length; m++) {
        const name = pc.models[m];
        if (!this.exact.has(name)) this.exact.set(name, new Array<i32>());
        const list = this.exact.get(name);
        if (!list.includes(i)) list.push(i);
      }
      if (pc.modelPrefixes.length > 0) this.prefixPools.push(i);
      const members = max(1, pc.endpoints.length);
      // No weight: capacity is learned (pick/capacity.ts) where enabled; weight 1 stands for it until then.
      const learned = pc.weight == 0 && cfg.capacity.learn;
      const weight = pc.weight > 0 ? pc.weight : 1.0;
      if (cfg.steering == STEER_ENDPOINT) {
        for (let e = 0; e < pc.endpoints.length; e++) {
          this.addUpstream(cfg, i, pc.endpoints[e], weight, <f64>pc.maxInFlight * weight);
          this.upstreams[this.upstreams.length - 1].learned = learned;
          pool.members.push(this.upstreams.length - 1);
        }
      } else {
        this.addUpstream(cfg, i, pc.name, weight * <f64>members, <f64>pc.maxInFlight * weight * <f64>members);
        this.upstreams[this.upstreams.length - 1].members = <f64>members;
        this.upstreams[this.upstreams.length - 1].learned = learned;
        pool.members.push(this.upstreams.length - 1);
      }
    }
    for (let i = 0; i < this.pools.length; i++) {
      const fb = this.pools[i].cfg.fallback;
      if (fb.length > 0 && byName.has(fb)) {
        const j = byName.get(fb);
        if (j != i) {
          this.pools[i].fallback = j;
          this.pools[j].isFallback = true;
        }
      }
    }
    for (let i = 0; i < this.pools.length; i++) this.discoveredLists.push(new Array<string>());
    for (let i = 0; i < cfg.models.length; i++) this.modelPriority.set(cfg.models[i].name, cfg.models[i].priority);
  }

  private addUpstream(cfg: RouterConfig, pool: i32, name: string, capacity: f64, maxInFlight: f64): void {
    const key = utf8(cfg.name + "/load/" + cfg.pools[pool].name + "/" + name);
    this.upstreams.push(new Upstream(this.upstreams.length, pool, name, capacity, maxInFlight, key));
  }

  /**
   * Pools that serve `model`, primary ones first (pools that are some serving pool's fallback are left to the
   * fallback walk). Returns a shared scratch array: copy it if you keep it.
   */
  poolsFor(model: string): Array<i32> {
    const out = this.scratch;
    out.length = 0;
    if (this.exact.has(model)) {
      const list = this.exact.get(model);
      for (let i = 0; i < list.length; i++) out.push(list[i]);
    }
    if (this.discovered.size > 0 && this.discovered.has(model)) {
      // Discovered models widen what a pool serves; the configured ones stay the floor.
      const list = this.discovered.get(model);
      for (let i = 0; i < list.length; i++) if (!out.includes(list[i])) out.push(list[i]);
    }
    for (let k = 0; k < this.prefixPools.length; k++) {
      const p = this.prefixPools[k];
      if (out.includes(p)) continue;
      const prefixes = this.pools[p].cfg.modelPrefixes;
      for (let j = 0; j < prefixes.length; j++) {
        if (model.startsWith(prefixes[j])) {
          out.push(p);
          break;
        }
      }
    }
    // Drop pools reachable as the fallback of another serving pool: they are the second line, not the first.
    if (out.length > 1) {
      let w = 0;
      for (let i = 0; i < out.length; i++) {
        const p = out[i];
        let standby = false;
        if (this.pools[p].isFallback) {
          for (let j = 0; j < out.length; j++) {
            if (j != i && this.chainReaches(out[j], p)) { standby = true; break; }
          }
        }
        if (!standby) out[w++] = p;
      }
      out.length = w;
    }
    return out;
  }

  /** Replaces the discovered model list of a pool (call rebuildDiscovered after a batch of these). */
  setDiscovered(pool: i32, names: Array<string>): void {
    if (pool >= 0 && pool < this.discoveredLists.length) this.discoveredLists[pool] = names;
  }

  rebuildDiscovered(): void {
    this.discovered.clear();
    for (let p = 0; p < this.discoveredLists.length; p++) {
      const names = this.discoveredLists[p];
      for (let i = 0; i < names.length; i++) {
        const m = names[i];
        if (m.length == 0) continue;
        if (!this.discovered.has(m)) this.discovered.set(m, new Array<i32>());
        const list = this.discovered.get(m);
        if (!list.includes(p)) list.push(p);
      }
    }
  }

  /** True when following fallbacks from `from` reaches `to` (bounded: cycles stop after every pool once). */
  chainReaches(from: i32, to: i32): bool {
    let p = this.pools[from].fallback;
    for (let hops = 0; p >= 0 && hops < this.pools.length; hops++) {
      if (p == to) return true;
      p = this.pools[p].fallback;
    }
    return false;
  }

  /** The upstreams of a pool (allocates: for the error path only). */
  membersOf(pool: i32): Array<Upstream> {
    const m = this.pools[pool].members;
    const out = new Array<Upstream>(m.length);
    for (let i = 0; i < m.length; i++) out[i] = this.upstreams[m[i]];
    return out;
  }

  /** Default priority of a model (0 when not listed). */
  priorityOf(model: string): i32 {
    return this.modelPriority.has(model) ? this.modelPriority.get(model) : 0;
  }
}
