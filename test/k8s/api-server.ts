// A Kubernetes API server for tests, on loopback: the list/watch protocol as the real one speaks it — lists carry
// the collection's resourceVersion, watches start after a resourceVersion and stream newline-delimited JSON events,
// bookmarks (allowWatchBookmarks) carry only a resourceVersion, a resourceVersion older than the compacted history
// gets a 410 Expired Status as an ERROR event, PUT is a compare-and-swap on metadata.resourceVersion (409 Conflict),
// and connections can be dropped at will. Label selectors: equality only; field selector: metadata.name.
import http from "node:http";
import type { AddressInfo } from "node:net";

type Obj = Record<string, any>;
interface Ev {
  rv: number;
  type: "ADDED" | "MODIFIED" | "DELETED";
  coll: string;
  obj: Obj;
}

const COLLECTIONS: Record<string, { apiVersion: string; kind: string }> = {
  endpointslices: { apiVersion: "discovery.k8s.io/v1", kind: "EndpointSlice" },
  services: { apiVersion: "v1", kind: "Service" },
  pods: { apiVersion: "v1", kind: "Pod" },
  inferencepools: { apiVersion: "inference.networking.k8s.io/v1", kind: "InferencePool" },
  wasmplugins: { apiVersion: "extensions.istio.io/v1alpha1", kind: "WasmPlugin" },
  trafficextensions: { apiVersion: "extensions.istio.io/v1alpha1", kind: "TrafficExtension" },
};

function status(code: number, reason: string, message: string): Obj {
  return { kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message, reason, code };
}

export class TestApiServer {
  private server = http.createServer((q, s) => this.handle(q, s));
  private store = new Map<string, Obj>(); // "<coll>/<ns>/<name>"
  private events: Ev[] = [];
  private rv = 100;
  /** Events at or below this resourceVersion are gone (etcd compaction). */
  private compactedRv = 0;
  private watchers = new Set<{ coll: string; ns: string; sel: (o: Obj) => boolean; res: http.ServerResponse; bookmarks: boolean }>();
  /** Answer the next N list calls with 500. */
  failLists = 0;
  readonly calls: string[] = [];
  puts = { ok: 0, conflict: 0 };
  url = "";

  async start(): Promise<this> {
    await new Promise<void>((r) => this.server.listen(0, "127.0.0.1", () => r()));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async close(): Promise<void> {
    this.dropWatches();
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
  }

  get resourceVersion(): string {
    return String(this.rv);
  }

  /** Create or replace an object (as a controller in the cluster would), emitting the watch event. */
  apply(obj: Obj): Obj {
    const coll = Object.keys(COLLECTIONS).find((c) => COLLECTIONS[c]!.kind === obj.kind)!;
    const key = `${coll}/${obj.metadata.namespace}/${obj.metadata.name}`;
    const type = this.store.has(key) ? "MODIFIED" : "ADDED";
    const stored = structuredClone(obj);
    stored.metadata.resourceVersion = String(++this.rv);
    stored.metadata.uid ??= this.store.get(key)?.metadata.uid ?? `uid-${this.rv}`;
    this.store.set(key, stored);
    this.emit({ rv: this.rv, type, coll, obj: stored });
    return stored;
  }

  delete(kind: string, ns: string, name: string): void {
    const coll = Object.keys(COLLECTIONS).find((c) => COLLECTIONS[c]!.kind === kind)!;
    const key = `${coll}/${ns}/${name}`;
    const o = this.store.get(key);
    if (!o) return;
    this.store.delete(key);
    const gone = structuredClone(o);
    gone.metadata.resourceVersion = String(++this.rv);
    this.emit({ rv: this.rv, type: "DELETED", coll, obj: gone });
  }

  get(kind: string, ns: string, name: string): Obj | undefined {
    const coll = Object.keys(COLLECTIONS).find((c) => COLLECTIONS[c]!.kind === kind)!;
    return this.store.get(`${coll}/${ns}/${name}`);
  }

  /** Forget the event history up to now: a watch from an older resourceVersion gets 410 Gone. */
  compact(): void {
    this.compactedRv = this.rv;
    this.events = [];
  }

  /** Cut every open watch connection (as a restarting API server or a load balancer would). */
  dropWatches(): void {
    for (const w of this.watchers) w.res.socket?.destroy();
    this.watchers.clear();
  }

  /** Send a bookmark to every watch that asked for them. */
  bookmark(): void {
    for (const w of this.watchers) {
      if (!w.bookmarks) continue;
      const c = COLLECTIONS[w.coll]!;
      w.res.write(
        `${JSON.stringify({ type: "BOOKMARK", object: { kind: c.kind, apiVersion: c.apiVersion, metadata: { resourceVersion: this.resourceVersion } } })}\n`,
      );
    }
  }

  private emit(e: Ev): void {
    this.events.push(e);
    for (const w of this.watchers) {
      if (w.coll === e.coll && e.obj.metadata.namespace === w.ns && w.sel(e.obj))
        w.res.write(`${JSON.stringify({ type: e.type, object: e.obj })}\n`);
    }
  }

  private handle(q: http.IncomingMessage, s: http.ServerResponse): void {
    const u = new URL(q.url!, "http://x");
    this.calls.push(`${q.method} ${u.pathname}${u.searchParams.has("watch") ? " watch" : ""}`);
    const m = /^\/(?:api\/v1|apis\/[^/]+\/[^/]+)\/namespaces\/([^/]+)\/([^/]+)(?:\/([^/]+))?$/.exec(u.pathname);
    const send = (code: number, body: Obj) => {
      s.writeHead(code, { "content-type": "application/json" });
      s.end(JSON.stringify(body));
    };
    if (!m || !COLLECTIONS[m[2]!]) return send(404, status(404, "NotFound", "the server could not find the requested resource"));
    const [, ns, coll, name] = m as unknown as [string, string, string, string | undefined];
    if (name) {
      const key = `${coll}/${ns}/${name}`;
      if (q.method === "GET") {
        const o = this.store.get(key);
        return o ? send(200, o) : send(404, status(404, "NotFound", `${coll} "${name}" not found`));
      }
      if (q.method === "PUT") {
        let body = "";
        q.setEncoding("utf8");
        q.on("data", (c) => {
          body += c;
        });
        q.on("end", () => {
          const o = JSON.parse(body) as Obj;
          const cur = this.store.get(key);
          if (!cur) return send(404, status(404, "NotFound", `${coll} "${name}" not found`));
          if (o.metadata?.resourceVersion !== cur.metadata.resourceVersion) {
            this.puts.conflict++;
            return send(
              409,
              status(
                409,
                "Conflict",
                `Operation cannot be fulfilled on ${coll} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
              ),
            );
          }
          this.puts.ok++;
          send(200, this.apply(o));
        });
        return;
      }
      return send(405, status(405, "MethodNotAllowed", "method not allowed"));
    }
    const sel = selector(u.searchParams.get("labelSelector"), u.searchParams.get("fieldSelector"));
    if (u.searchParams.get("watch") === "1") {
      const from = Number(u.searchParams.get("resourceVersion") ?? "0");
      s.writeHead(200, { "content-type": "application/json", "transfer-encoding": "chunked" });
      if (from < this.compactedRv) {
        s.end(
          `${JSON.stringify({ type: "ERROR", object: status(410, "Expired", `too old resource version: ${from} (${this.compactedRv})`) })}\n`,
        );
        return;
      }
      for (const e of this.events)
        if (e.rv > from && e.coll === coll && e.obj.metadata.namespace === ns && sel(e.obj))
          s.write(`${JSON.stringify({ type: e.type, object: e.obj })}\n`);
      const w = { coll, ns, sel, res: s, bookmarks: u.searchParams.get("allowWatchBookmarks") === "true" };
      this.watchers.add(w);
      const t = Number(u.searchParams.get("timeoutSeconds") ?? "0");
      const timer =
        t > 0
          ? setTimeout(() => {
              this.watchers.delete(w);
              s.end();
            }, t * 1000)
          : undefined;
      s.on("close", () => {
        this.watchers.delete(w);
        if (timer) clearTimeout(timer);
      });
      return;
    }
    if (this.failLists > 0) {
      this.failLists--;
      return send(500, status(500, "InternalError", "etcdserver: request timed out"));
    }
    const c = COLLECTIONS[coll]!;
    const items = [...this.store.entries()].filter(([k, o]) => k.startsWith(`${coll}/${ns}/`) && sel(o)).map(([, o]) => o);
    send(200, { kind: `${c.kind}List`, apiVersion: c.apiVersion, metadata: { resourceVersion: this.resourceVersion }, items });
  }
}

function selector(label: string | null, field: string | null): (o: Obj) => boolean {
  const eq = (label ?? "")
    .split(",")
    .filter(Boolean)
    .map((t) => t.split("="));
  const fe = (field ?? "")
    .split(",")
    .filter(Boolean)
    .map((t) => t.split("="));
  return (o) =>
    eq.every(([k, v]) => o.metadata?.labels?.[k!] === v) && fe.every(([k, v]) => k === "metadata.name" && o.metadata?.name === v);
}

/** An EndpointSlice as the endpointslice controller writes it for a Service. */
export function endpointSlice(
  ns: string,
  service: string,
  suffix: string,
  endpoints: Array<{ ip: string; ready?: boolean; terminating?: boolean; pod?: string }>,
  port = { name: "http", port: 8000 },
): Obj {
  return {
    apiVersion: "discovery.k8s.io/v1",
    kind: "EndpointSlice",
    metadata: {
      name: `${service}-${suffix}`,
      generateName: `${service}-`,
      namespace: ns,
      labels: { "kubernetes.io/service-name": service, "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io" },
      ownerReferences: [
        { apiVersion: "v1", kind: "Service", name: service, uid: `svc-${service}`, controller: true, blockOwnerDeletion: true },
      ],
    },
    addressType: "IPv4",
    endpoints: endpoints.map((e, i) => ({
      addresses: [e.ip],
      conditions: { ready: e.ready ?? true, serving: e.ready ?? true, terminating: e.terminating ?? false },
      nodeName: `gpu-node-${i}`,
      targetRef: { kind: "Pod", name: e.pod ?? `${service}-${i}`, namespace: ns, uid: `pod-${e.ip}` },
    })),
    ports: [{ name: port.name, port: port.port, protocol: "TCP", appProtocol: "http" }],
  };
}

export function service(ns: string, name: string, port = 8000, targetPort = 8000): Obj {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name, namespace: ns },
    spec: {
      type: "ClusterIP",
      selector: { app: name },
      ports: [{ name: "http", port, targetPort, protocol: "TCP" }],
      clusterIP: "10.96.0.10",
    },
  };
}
