// The capacity in use: what the score divides by and what `upstream_capacity_milli` reports. One function, so the
// picker and the gauges can never disagree. Today it is the configured capacity (pool weight, × members in pool
// mode); learned capacity plugs in here, from the same load record both callers have just read.
import { Upstream } from "../catalog";
import { Load } from "../loadview";

// @ts-ignore: decorator
@inline export function capacityInUse(up: Upstream, load: Load): f64 {
  return up.capacity;
}
