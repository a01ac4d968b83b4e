import { describe, expect, test } from "vitest";
import { parsePluginConfig } from "../../src/config/plugin-config.js";
import type { RouterConfig } from "../../src/config/router-config.js";
import { generate, validateGenerated, type GenerateOptions, type K8sObject } from "../../src/toolkit/generate.js";
import { buildLocal, validateLocal } from "../../src/toolkit/local.js";
import { checkVersions } from "../../src/toolkit/versions.js";
import { exampleInput, variant } from "./helpers.js";
import { RouterConfigSchema } from "../../src/config/router-config.js";

const noBody = (c: { body?: unknown }) => {
  c.body = { enabled: false };
};

const endpoints = (c: { pools: Array<{ endpoints?: string[] }> }) => {
  c.pools[0]!.endpoints = ["10.0.0.1:8000", "10.0.0.2:8000"];
  c.pools[1]!.endpoints = ["10.0.1.1:8000"];
};

/** Every mode the generator has, as (name, config, options). */
const MODES: Array<[string, RouterConfig, GenerateOptions]> = [
  ["pool mode, DestinationRule subsets", variant(noBody), {}],
  [
    "pool mode, per-pool services, external metrics, targetRefs gateway",
    variant((c) => {
      noBody(c);
      c.workload = { targetRefs: [{ kind: "Gateway", name: "inference-gw" }], context: "GATEWAY" };
      c.frontend = { host: "llm", port: 8000, gateways: ["llm/inference-gw"] };
      c.pools[0]!.service = { host: "vllm-a100", port: 8000 };
      c.pools[1]!.service = { host: "vllm-l4.llm.svc.cluster.local", port: 8000 };
      c.pools[1]!.metrics = { service: "metrics.example.com", port: 9090, external: true, engine: "sglang" };
      delete c.hardening;
    }),
    {},
  ],
  [
    "endpoint mode, override_host",
    variant((c) => {
      noBody(c);
      c.steering = "endpoint";
      endpoints(c);
    }),
    {},
  ],
  [
    "endpoint mode, ORIGINAL_DST (unsafe)",
    variant((c) => {
      noBody(c);
      c.steering = "endpoint";
      endpoints(c);
    }),
    { unsafeOriginalDst: true },
  ],
  [
    "TrafficExtension, Istio 1.30",
    variant((c) => {
      noBody(c);
      c.delivery = "TrafficExtension";
      c.versions = { istio: "1.30", envoy: "1.38" };
    }),
    {},
  ],
  [
    "header-only path for Istio 1.24",
    variant((c) => {
      noBody(c);
      c.modelHeader = "x-inference-model-hint";
      c.versions = { istio: "1.24", envoy: "1.32" };
    }),
    {},
  ],
  [
    "body mode, FAIL_RELOAD, sha256, file:// module",
    variant((c) => {
      c.body = { enabled: true };
      c.failStrategy = "FAIL_RELOAD";
      c.wasm = { url: "file:///var/local/wasm/inference-router.wasm" };
      c.hardening = { allowedPrincipals: ["cluster.local/ns/llm/sa/chat"] };
    }),
    { wasmSha256: "a".repeat(64) },
  ],
  [
    "body mode + endpoint mode, remote module",
    variant((c) => {
      c.body = { enabled: true };
      c.steering = "endpoint";
      endpoints(c);
      c.wasm = { url: "https://example.com/ir.wasm", sha256: "b".repeat(64) };
    }),
    {},
  ],
];

function objects(r: ReturnType<typeof generate>): Array<[string, K8sObject]> {
  return r.files.flatMap((f) => (f.objects ?? []).map((o) => [f.path, o] as [string, K8sObject]));
}

function patches(o: K8sObject): Array<Record<string, any>> {
  return (o["spec"] as { configPatches: Array<Record<string, any>> }).configPatches;
}

describe.each(MODES)("%s", (_name, cfg, opts) => {
  const result = generate(cfg, opts);

  test("every generated object passes the Istio CRD schemas and the strict Envoy proto check", () => {
    expect(validateGenerated(cfg, result, "router.yaml", opts)).toEqual([]);
    expect(objects(result).length).toBeGreaterThanOrEqual(3);
  });

  test("pluginConfig passes the filter's own schema, in the WasmPlugin and in the EnvoyFilter alike", () => {
    const wp = objects(result).find(([, o]) => o.kind === "WasmPlugin" || o.kind === "TrafficExtension")![1];
    const spec = wp["spec"] as { pluginConfig?: unknown; wasm?: { pluginConfig: unknown } };
    const fromWasmPlugin = spec.pluginConfig ?? spec.wasm!.pluginConfig;
    expect(parsePluginConfig(fromWasmPlugin)).toEqual(result.pluginConfig);
    const ef = objects(result).find(([p]) => p.endsWith("wasm-envoyfilter.yaml"))![1];
    const wasmCfg = patches(ef)[0]!["patch"].value.typed_config.config;
    expect(parsePluginConfig(JSON.parse(wasmCfg.configuration.value))).toEqual(result.pluginConfig);
    expect(result.pluginConfig.steering).toBe(cfg.steering);
    expect(result.pluginConfig.body.enabled).toBe(cfg.body.enabled);
  });

  test("local test bed: bootstrap and compose file are valid", () => {
    const local = buildLocal(cfg, { outDir: "/tmp/x/local", projectRoot: "/tmp/x", wasmPath: "/tmp/x/build/inference-router.wasm" });
    expect(validateLocal(local)).toEqual([]);
    expect(parsePluginConfig(local.pluginConfig).pools.every((p) => p.endpoints.length === 2)).toBe(true);
  });
});

describe("router config names", () => {
  test("routing.endpointHeader (the filter's headers.endpoint); the old name destinationHeader still works, not both", () => {
    const withRouting = (routing: Record<string, string>) => RouterConfigSchema.safeParse({ ...exampleInput(), routing });
    expect(withRouting({ endpointHeader: "x-ep" }).data?.routing.endpointHeader).toBe("x-ep");
    expect(withRouting({ destinationHeader: "x-old" }).data?.routing.endpointHeader).toBe("x-old");
    expect(withRouting({}).data?.routing.endpointHeader).toBe("x-gateway-destination-endpoint");
    expect(withRouting({ endpointHeader: "x-ep", destinationHeader: "x-old" }).success).toBe(false);
    const old = variant((c) => {
      c.routing = { destinationHeader: "x-old" };
    });
    expect(generate(old, {}).pluginConfig.headers.endpoint).toBe("x-old");
  });
});

describe("what each output contains", () => {
  test("WasmPlugin is primary without body mode; the ECDS EnvoyFilter inserts before the router", () => {
    const r = generate(MODES[0]![1]);
    const kust = r.files.find((f) => f.path === "kustomization.yaml")!.content!;
    expect(kust).toContain("wasmplugin.yaml");
    expect(kust).not.toContain("wasm-envoyfilter");
    const ef = r.files.find((f) => f.path === "alternatives/wasm-envoyfilter.yaml")!.objects![0]!;
    const [ext, http] = patches(ef);
    expect(ext!["applyTo"]).toBe("EXTENSION_CONFIG");
    expect(http!["applyTo"]).toBe("HTTP_FILTER");
    expect(http!["patch"].operation).toBe("INSERT_BEFORE");
    expect(http!["match"].listener.filterChain.filter.subFilter.name).toBe("envoy.filters.http.router");
    expect(http!["patch"].value.name).toBe(ext!["patch"].value.name);
    // The agent answers with an RBAC filter when the module cannot be fetched: both types are accepted.
    expect(http!["patch"].value.config_discovery.type_urls).toEqual([
      "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm",
      "type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC",
    ]);
    // In sidecars it is inserted only on the inference service's listener port.
    expect(http!["match"].listener.portNumber).toBe(8000);
    const wp = r.files.find((f) => f.path === "wasmplugin.yaml")!.objects![0]!;
    expect((wp["spec"] as Record<string, unknown>)["match"]).toEqual([{ mode: "CLIENT", ports: [{ number: 8000 }] }]);
    expect(r.files.find((f) => f.path === "alternatives/wasm-envoyfilter.yaml")!.header!.join("\n")).toMatch(
      /FAIL_OPEN: if the module cannot be fetched the agent puts an allow-all RBAC filter/,
    );
    const c = ext!["patch"].value.typed_config.config;
    expect(c.failure_policy).toBe("FAIL_OPEN");
    expect(c.vm_config.vm_id).toBe("inference-router");
    expect(c.allow_on_headers_stop_iteration).toBeUndefined();
  });

  test("body mode makes the EnvoyFilter primary with allow_on_headers_stop_iteration", () => {
    const mode = MODES.find(([n]) => n.startsWith("body mode, FAIL_RELOAD"))!;
    const r = generate(mode[1], mode[2]);
    const kust = r.files.find((f) => f.path === "kustomization.yaml")!.content!;
    expect(kust).toContain("wasm-envoyfilter.yaml");
    expect(kust).not.toContain("wasmplugin.yaml");
    const c = patches(r.files.find((f) => f.path === "wasm-envoyfilter.yaml")!.objects![0]!)[0]!["patch"].value.typed_config.config;
    expect(c.allow_on_headers_stop_iteration).toBe(true);
    expect(c.failure_policy).toBe("FAIL_RELOAD");
    expect(c.vm_config.code).toEqual({ local: { filename: "/var/local/wasm/inference-router.wasm" } });
    const wp = r.files.find((f) => f.path === "alternatives/wasmplugin.yaml")!.objects![0]!;
    expect((wp["spec"] as Record<string, unknown>)["sha256"]).toBe("a".repeat(64));
  });

  test("pool mode routes on the pool header to subsets; metrics use the subset clusters", () => {
    const r = generate(MODES[0]![1]);
    const vs = r.files.find((f) => f.path === "virtualservice.yaml")!.objects![0]!;
    const http = (vs["spec"] as { http: Array<Record<string, any>> }).http;
    expect(http[0]!["match"][0].headers["x-inference-pool"]).toEqual({ exact: "a100" });
    expect(http[0]!["route"][0].destination).toEqual({ host: "llm.llm.svc.cluster.local", subset: "a100", port: { number: 8000 } });
    expect(http.at(-1)!["match"]).toBeUndefined();
    expect(r.metrics.map((m) => m.cluster)).toEqual([
      "outbound|8000|a100|llm.llm.svc.cluster.local",
      "outbound|8000|l4|llm.llm.svc.cluster.local",
    ]);
  });

  test("per-pool services and an external metrics host get their clusters and a ServiceEntry", () => {
    const r = generate(MODES[1]![1]);
    expect(r.files.some((f) => f.path === "destinationrule.yaml")).toBe(false);
    expect(r.metrics.map((m) => m.cluster)).toEqual([
      "outbound|8000||vllm-a100.llm.svc.cluster.local",
      "outbound|9090||metrics.example.com",
    ]);
    const se = r.files.find((f) => f.path === "serviceentry-metrics.yaml")!.objects![0]!;
    expect(se["spec"]).toMatchObject({
      hosts: ["metrics.example.com"],
      location: "MESH_EXTERNAL",
      ports: [{ number: 9090, protocol: "HTTP" }],
    });
    const wp = r.files.find((f) => f.path === "wasmplugin.yaml")!.objects![0]!;
    expect((wp["spec"] as Record<string, unknown>)["targetRefs"]).toEqual([
      { group: "gateway.networking.k8s.io", kind: "Gateway", name: "inference-gw" },
    ]);
  });

  test("endpoint mode merges override_host into Istio's own cluster (EDS and mTLS kept)", () => {
    const r = generate(MODES[2]![1]);
    const [cp] = patches(r.files.find((f) => f.path === "override-host-envoyfilter.yaml")!.objects![0]!);
    expect(cp!["applyTo"]).toBe("CLUSTER");
    expect(cp!["match"].cluster).toEqual({ service: "llm.llm.svc.cluster.local", portNumber: 8000 });
    expect(cp!["patch"].operation).toBe("MERGE");
    const oh = cp!["patch"].value.load_balancing_policy.policies[0].typed_extension_config;
    expect(oh.name).toBe("envoy.load_balancing_policies.override_host");
    expect(oh.typed_config.override_host_sources).toEqual([{ header: "x-gateway-destination-endpoint" }]);
    expect(oh.typed_config.fallback_policy.policies[0].typed_extension_config.name).toBe("envoy.load_balancing_policies.least_request");
    expect(cp!["patch"].value.type).toBeUndefined();
    expect(r.warnings.join("\n")).not.toMatch(/ORIGINAL_DST/);
    // Locality LB is switched off for the host, so Istio never adds locality_weighted_lb_config next to the policy.
    const dr = r.files.find((f) => f.path === "destinationrule.yaml")!.objects![0]!;
    expect(dr["spec"]).toEqual({
      host: "llm.llm.svc.cluster.local",
      trafficPolicy: { loadBalancer: { localityLbSetting: { enabled: false } } },
    });
    expect(r.files.find((f) => f.path === "override-host-envoyfilter.yaml")!.header!.join("\n")).toMatch(/fallback policy least_request/);
  });

  test("ORIGINAL_DST only with the unsafe option, and it warns about mTLS and spoofing", () => {
    const r = generate(MODES[3]![1], { unsafeOriginalDst: true });
    const ef = r.files.find((f) => f.path === "original-dst-envoyfilter.yaml")!;
    expect(patches(ef.objects![0]!)[0]!["patch"].value.type).toBe("ORIGINAL_DST");
    expect(r.warnings.join(" ")).toMatch(/mTLS/);
    expect(r.warnings.join(" ")).toMatch(/spoofing/);
    expect(ef.header!.join("\n")).toMatch(/UNSAFE/);
  });

  test("hardening: AuthorizationPolicy for the named clients, PeerAuthentication STRICT", () => {
    const r = generate(MODES[0]![1]);
    const ap = r.files.find((f) => f.path === "authorizationpolicy.yaml")!.objects![0]!;
    expect(ap["spec"]).toEqual({
      selector: { matchLabels: { app: "llm" } },
      action: "ALLOW",
      rules: [{ from: [{ source: { principals: ["cluster.local/ns/llm/sa/chat-frontend"] } }] }],
    });
    const pa = r.files.find((f) => f.path === "peerauthentication.yaml")!.objects![0]!;
    expect((pa["spec"] as Record<string, unknown>)["mtls"]).toEqual({ mode: "STRICT" });
    expect(generate(MODES[1]![1]).files.some((f) => f.path.includes("authorization"))).toBe(false);
  });

  test("versions: features the targeted Istio/Envoy lack are reported with a fix", () => {
    const old = variant((c) => {
      c.body = { enabled: true };
      c.versions = { istio: "1.27", envoy: "1.35" };
    });
    const problems = checkVersions(old, "router.yaml");
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ path: "versions.istio" });
    expect(problems[0]!.message).toMatch(/allow_on_headers_stop_iteration.*needs Istio >= 1\.28.*target is Istio 1\.27.*fix:/);
    const ep = variant((c) => {
      noBody(c);
      c.steering = "endpoint";
      endpoints(c);
      c.versions = { istio: "1.28", envoy: "1.34" };
    });
    expect(checkVersions(ep, "router.yaml").map((p) => p.path)).toEqual(["versions.envoy"]);
    expect(validateGenerated(ep, generate(ep), "router.yaml")).toHaveLength(1);
  });

  test("targetRefs get each kind's own group; Service/ServiceEntry targetRefs are refused outside waypoints", () => {
    const gw = variant((c) => {
      noBody(c);
      c.workload = { targetRefs: [{ kind: "Gateway", name: "gw" }], context: "GATEWAY" };
    });
    const r = generate(gw);
    const wp = r.files.find((f) => f.path === "wasmplugin.yaml")!.objects![0]!;
    expect((wp["spec"] as Record<string, unknown>)["targetRefs"]).toEqual([
      { group: "gateway.networking.k8s.io", kind: "Gateway", name: "gw" },
    ]);
    // A gateway's listener ports are its own: no port narrowing there, the filter's :authority scope does it.
    expect((wp["spec"] as Record<string, unknown>)["match"]).toEqual([{ mode: "CLIENT" }]);
    const svc = variant((c) => {
      noBody(c);
      c.workload = { targetRefs: [{ kind: "Service", name: "llm" }], context: "SIDECAR_OUTBOUND" };
    });
    expect(
      checkVersions(svc, "router.yaml")
        .map((p) => p.message)
        .join(),
    ).toMatch(/waypoint/);
    expect(() =>
      variant((c) => {
        c.workload = { targetRefs: [{ group: "", kind: "Gateway", name: "gw" }], context: "GATEWAY" };
      }),
    ).toThrow(/gateway\.networking\.k8s\.io/);
  });

  test("endpoint steering refuses a headless service with a clear message", () => {
    expect(() =>
      variant((c) => {
        noBody(c);
        c.steering = "endpoint";
        endpoints(c);
        c.frontend.headless = true;
      }),
    ).toThrow(/headless Service: Istio builds its cluster as ORIGINAL_DST/);
  });

  test("pools[].orca reaches the plugin configuration only when set (the filter defaults it from the engine)", () => {
    const unset = generate(variant(noBody)).pluginConfig.pools;
    expect(unset.every((p) => p.orca === undefined)).toBe(true);
    const set = generate(
      variant((c) => {
        noBody(c);
        c.pools[0]!.orca = false;
        c.pools[1]!.orca = true;
      }),
    ).pluginConfig.pools;
    expect([set[0]!.orca, set[1]!.orca]).toEqual([false, true]);
  });

  test("an engine alias that answers no ORCA report (vllm-v0) gets orca: false written, since its preset (vllm) would ask", () => {
    const pools = generate(
      variant((c) => {
        noBody(c);
        c.pools[0]!.metrics!.engine = "vllm-v0";
      }),
    ).pluginConfig.pools;
    expect(pools[0]!.metrics!.engine).toBe("vllm");
    expect(pools[0]!.orca).toBe(false);
    expect(pools[1]!.orca).toBeUndefined();
  });

  test("the filter is scoped to the services' :authority forms, as Istio names them", () => {
    const r = generate(variant(noBody));
    const hosts = r.pluginConfig.pools[0]!.hosts;
    for (const h of [
      "llm",
      "llm:8000",
      "llm.llm",
      "llm.llm:8000",
      "llm.llm.svc",
      "llm.llm.svc:8000",
      "llm.llm.svc.cluster.local",
      "llm.llm.svc.cluster.local:8000",
    ])
      expect(hosts).toContain(h);
    expect(hosts).not.toContain("llm:9000");
    // A service in another namespace has no short name from the clients' namespace.
    const other = generate(
      variant((c) => {
        noBody(c);
        c.frontend.host = "llm.models.svc.cluster.local";
      }),
    ).pluginConfig.pools[0]!.hosts;
    expect(other).toContain("llm.models:8000");
    expect(other).not.toContain("llm:8000");
    const extra = generate(
      variant((c) => {
        noBody(c);
        c.frontend.authorities = ["api.example.com"];
      }),
    ).pluginConfig.pools[1]!.hosts;
    expect(extra).toContain("api.example.com");
  });
});

test("decisionTrace of the router config reaches the filter's pluginConfig (off unless set)", () => {
  const on = generate(
    variant((c) => {
      c.decisionTrace = { header: true, headerName: "x-why" };
    }),
    {},
  );
  expect(on.pluginConfig.decisionTrace).toEqual({ header: true, headerName: "x-why", log: false });
  expect(
    generate(
      variant(() => {}),
      {},
    ).pluginConfig.decisionTrace,
  ).toEqual({ header: false, headerName: "x-inference-router-decision", log: false });
});
