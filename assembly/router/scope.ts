// Which requests the filter acts on: those whose :authority is one of the names of the inference services the
// pools serve (pools[].hosts). The toolkit writes every form Istio puts in a service's outbound route domains
// (name, name.ns, name.ns.svc, name.ns.svc.<domain>, each with and without the port), so matching is exact.
// Everything else — calls to other services or external APIs from the same sidecar — passes unsteered: the filter
// reads :authority and removes its own headers (filter.ts), nothing more.
import { RouterConfig } from "./config";

export class Scope {
  /** False when no pool lists hosts: every request is in scope. */
  limited: bool = false;
  private hosts: Set<string> = new Set<string>();

  constructor(cfg: RouterConfig) {
    for (let i = 0; i < cfg.pools.length; i++) {
      const hosts = cfg.pools[i].hosts;
      for (let j = 0; j < hosts.length; j++) this.hosts.add(hosts[j]);
    }
    this.limited = this.hosts.size > 0;
  }

  /** Whether a request with this :authority (null when absent) is one the filter handles. */
  covers(authority: string | null): bool {
    if (!this.limited) return true;
    if (authority === null || authority.length == 0 || authority.length > 259) return false;
    // Host names compare case-insensitively (Envoy's virtual-host domain match does too).
    return this.hosts.has(hasUpper(authority) ? authority.toLowerCase() : authority);
  }
}

function hasUpper(s: string): bool {
  for (let i = 0; i < s.length; i++) {
    const c = <i32>s.charCodeAt(i);
    if (c >= 0x41 && c <= 0x5a) return true;
  }
  return false;
}
