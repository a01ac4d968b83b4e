// Unit harness for the picker alone (assembly/router/picker.ts and pick/), built to build/units/picker.wasm and
// driven from test/units/picker.test.ts through @assemblyscript/loader. No filter, no streams: a config, the load
// records the test writes into its shared-data stub, and pick() — the decision and nothing else.
import "../../assembly/runtime/abort";
export { malloc } from "../../assembly/runtime/memory";
import { parseConfig } from "../../assembly/router/config-parse";
import { Catalog } from "../../assembly/router/catalog";
import { LoadView } from "../../assembly/router/loadview";
import { PickRequest, PickResult, Picker, PICKED, SHED } from "../../assembly/router/picker";
import { seedRandom } from "../../assembly/router/rng";

let catalog: Catalog | null = null;
let view: LoadView | null = null;
let picker: Picker | null = null;
const req = new PickRequest();
const res = new PickResult();

/** Configures from the plugin-config JSON and creates every upstream's load record; "" or the config error. */
export function configure(json: string, seed: u64): string {
  const r = parseConfig(json);
  const cfg = r.config;
  if (cfg === null) return r.error;
  seedRandom(seed);
  const c = new Catalog(cfg);
  const v = new LoadView(cfg.name, 1, 3000);
  for (let i = 0; i < c.upstreams.length; i++) v.ensure(c.upstreams[i]);
  catalog = c;
  view = v;
  picker = new Picker(c, v, cfg, null);
  return "";
}

/** Adds `delta` in-flight requests on upstream `name` (this VM's slot). */
export function hold(name: string, delta: i32): bool {
  const c = catalog!;
  for (let i = 0; i < c.upstreams.length; i++) if (c.upstreams[i].name == name) return view!.addInFlight(c.upstreams[i], delta);
  return false;
}

/** Picks for `model`: "picked <name>[ alt…][ fallback][ stale][ saturated]", "shed", "no-healthy" or "unknown-model". */
export function pick(model: string, priority: i32, nowMs: i64): string {
  const c = catalog!;
  const pools = c.poolsFor(model);
  if (pools.length == 0) return "unknown-model";
  req.pools = pools;
  req.priority = priority;
  req.nowMs = nowMs;
  req.preferred = -1;
  req.lora = false;
  req.prefixKey = 0;
  picker!.pick(req, res);
  if (res.outcome == SHED) return "shed";
  if (res.outcome != PICKED) return "no-healthy";
  let s = "picked " + c.upstreams[res.upstream].name;
  for (let i = 0; i < res.alternates.length; i++) s += " alt:" + c.upstreams[res.alternates[i]].name;
  if (res.viaFallback) s += " fallback";
  if (res.staleFallback) s += " stale";
  if (res.saturated) s += " saturated";
  return s;
}
