// Strict validation of Istio objects (unknown fields rejected at every depth, CRD rules, istiod webhook rules,
// per target version) and the version matrix: for every Istio minor 1.24–1.31, in pool, endpoint and body mode,
// generate either refuses naming the feature and its minimum, or writes objects that version accepts.
import { describe, expect, test } from "vitest";
import type { RouterConfig, RouterConfigInput } from "../../src/config/router-config.js";
import { generate, validateGenerated, type K8sObject } from "../../src/toolkit/generate.js";
import { ISTIO_SCHEMA_SOURCE, validateK8sObject } from "../../src/toolkit/validate.js";
import { checkEnvoy, envoyVersionOfImage, FEATURES, ISTIO_MINORS, supports, type FeatureName } from "../../src/toolkit/versions.js";
import { variant } from "./helpers.js";

const endpointMode = (c: RouterConfigInput) => {
  c.steering = "endpoint";
  c.pools[0]!.endpoints = ["10.0.0.1:8000", "10.0.0.2:8000"];
  c.pools[1]!.endpoints = ["10.0.1.1:8000"];
};
const MODES: Record<string, (c: RouterConfigInput) => void> = {
  pool: (c) => {
    c.body = { enabled: false };
  },
  endpoint: (c) => {
    c.body = { enabled: false };
    endpointMode(c);
  },
  body: () => {},
  "body+endpoint": endpointMode,
  "pool, TrafficExtension": (c) => {
    c.body = { enabled: false };
    c.delivery = "TrafficExtension";
  },
};
/** What each mode needs beyond what every minor has. */
const NEEDS: Record<string, FeatureName[]> = {
  pool: [],
  endpoint: ["overrideHost"],
  body: ["bodyMode"],
  "body+endpoint": ["bodyMode", "overrideHost"],
  "pool, TrafficExtension": ["trafficExtension"],
};

describe("version matrix: Istio 1.24–1.31 × mode", () => {
  for (const istio of ISTIO_MINORS)
    for (const [mode, patch] of Object.entries(MODES)) {
      test(`Istio ${istio}, ${mode}`, () => {
        const cfg = variant(patch);
        const opts = { istio };
        const problems = validateGenerated(cfg, generate(cfg, opts), "router.yaml", opts);
        const lacking = NEEDS[mode]!.filter((f) => !supports({ istio }, f));
        if (lacking.length === 0) expect(problems).toEqual([]);
        else {
          expect(problems.length).toBeGreaterThan(0);
          for (const f of lacking)
            expect(problems.map((p) => p.message).join("\n")).toContain(`${FEATURES[f].title} needs Istio >= ${FEATURES[f].istio}`);
        }
      });
    }

  test("Istio 1.24's istiod drops failure_policy: the ECDS filter says fail_open there, failure_policy from 1.25", () => {
    const wasmConfig = (istio: string, failStrategy: "FAIL_OPEN" | "FAIL_CLOSE") => {
      const cfg = variant((c) => {
        c.body = { enabled: false };
        c.failStrategy = failStrategy;
      });
      const ef = generate(cfg, { istio }).files.find((f) => f.path === "alternatives/wasm-envoyfilter.yaml")!.objects![0]! as any;
      return ef.spec.configPatches[0].patch.value.typed_config.config;
    };
    expect(wasmConfig("1.24", "FAIL_OPEN")).toMatchObject({ fail_open: true });
    expect(wasmConfig("1.24", "FAIL_OPEN").failure_policy).toBeUndefined();
    expect(wasmConfig("1.24", "FAIL_CLOSE").fail_open).toBeUndefined();
    expect(wasmConfig("1.25", "FAIL_OPEN")).toMatchObject({ failure_policy: "FAIL_OPEN" });
    expect(wasmConfig("1.25", "FAIL_OPEN").fail_open).toBeUndefined();
  });

  test("the table's minimums", () => {
    const first = (f: FeatureName) => ISTIO_MINORS.find((v) => supports({ istio: v }, f));
    expect(first("overrideHost")).toBe("1.27");
    expect(first("bodyMode")).toBe("1.28");
    expect(first("failReload")).toBe("1.27");
    expect(first("trafficExtension")).toBe("1.30");
    expect(supports({ envoy: "1.34" }, "overrideHost")).toBe(false);
    expect(supports({ envoy: "1.35" }, "overrideHost")).toBe(true);
    expect(supports({ envoy: "1.35" }, "bodyMode")).toBe(true);
    // Istio 1.27 ships Envoy 1.35, yet istiod 1.27 drops the field: Istio's own minimum is what counts there.
    expect(supports({ istio: "1.27", envoy: "1.35" }, "bodyMode")).toBe(false);
    for (const f of Object.values(FEATURES)) expect(f.source).toMatch(/@ [0-9a-f]{8}/);
    expect(envoyVersionOfImage("envoyproxy/envoy:v1.34.0")).toBe("1.34");
    expect(envoyVersionOfImage("docker.io/envoyproxy/envoy:distroless-v1.36.2")).toBe("1.36");
    expect(envoyVersionOfImage("envoyproxy/envoy:latest")).toBeUndefined();
    expect(
      checkEnvoy(
        variant(() => {}),
        "1.34",
      )[0],
    ).toMatch(/needs Envoy >= 1\.35/);
  });
});

/** The generated objects of the endpoint-mode example, by file. */
function objects(cfg: RouterConfig): Record<string, K8sObject> {
  return Object.fromEntries(generate(cfg, { istio: "1.28" }).files.flatMap((f) => (f.objects ?? []).map((o) => [f.path, o])));
}
const clean = objects(variant(MODES["endpoint"]!));
const WP = "wasmplugin.yaml",
  EF = "override-host-envoyfilter.yaml";

/** Planted faults: each must be caught, at the path given. */
const FAULTS: Array<[string, string, (o: any) => void, RegExp]> = [
  [
    "unknown WasmPlugin field",
    WP,
    (o) => {
      o.spec.urll = "x";
    },
    /spec: must NOT have additional properties "urll"/,
  ],
  [
    "unknown field deep in match",
    WP,
    (o) => {
      o.spec.match[0].ports[0].num = 1;
    },
    /spec\.match\.0\.ports\.0: must NOT have additional properties "num"/,
  ],
  [
    "unknown top-level field",
    WP,
    (o) => {
      o.specs = {};
    },
    /must NOT have additional properties "specs"/,
  ],
  [
    "bad enum",
    WP,
    (o) => {
      o.spec.failStrategy = "FAIL_CLOSED";
    },
    /allowed: FAIL_CLOSE, FAIL_OPEN, FAIL_RELOAD/,
  ],
  [
    "sha256 not hex",
    WP,
    (o) => {
      o.spec.sha256 = "ABC";
    },
    /sha256: must match/,
  ],
  [
    "port out of range",
    WP,
    (o) => {
      o.spec.match[0].ports[0].number = 70000;
    },
    /ports\[0\]\.number: must be an integer from 1 to 65535/,
  ],
  [
    "selector and targetRefs (CEL)",
    WP,
    (o) => {
      o.spec.targetRefs = [{ group: "gateway.networking.k8s.io", kind: "Gateway", name: "gw" }];
    },
    /only one of targetRefs or selector/,
  ],
  [
    "targetRef group wrong for kind (webhook)",
    WP,
    (o) => {
      delete o.spec.selector;
      o.spec.targetRefs = [{ group: "", kind: "Gateway", name: "gw" }];
    },
    /targetRef must be to one of/,
  ],
  [
    "targetRef cross-namespace (CEL)",
    WP,
    (o) => {
      delete o.spec.selector;
      o.spec.targetRefs = [{ group: "gateway.networking.k8s.io", kind: "Gateway", name: "gw", namespace: "x" }];
    },
    /cross namespace/,
  ],
  [
    "url scheme (CEL)",
    WP,
    (o) => {
      o.spec.url = "ftp://x/y";
    },
    /url must have schema one of/,
  ],
  [
    "env valueFrom HOST with a value (CEL)",
    WP,
    (o) => {
      o.spec.vmConfig.env[0].valueFrom = "HOST";
    },
    /value may only be set when valueFrom is INLINE/,
  ],
  [
    "wrong type",
    WP,
    (o) => {
      o.spec.priority = "high";
    },
    /priority/,
  ],
  [
    "bad metadata name",
    WP,
    (o) => {
      o.metadata.name = "Bad_Name";
    },
    /metadata\.name: must be a DNS-1123 subdomain/,
  ],
  [
    "EnvoyFilter unknown match field",
    EF,
    (o) => {
      o.spec.configPatches[0].match.clusterr = {};
    },
    /additional properties "clusterr"/,
  ],
  [
    "EnvoyFilter applyTo vs match (webhook)",
    EF,
    (o) => {
      o.spec.configPatches[0].applyTo = "HTTP_FILTER";
    },
    /applyTo for listener class objects cannot have non listener match/,
  ],
  [
    "EnvoyFilter workloadSelector and targetRefs (CEL)",
    EF,
    (o) => {
      o.spec.targetRefs = [{ group: "gateway.networking.k8s.io", kind: "Gateway", name: "gw" }];
    },
    /only one of targetRefs or workloadSelector/,
  ],
  [
    "EnvoyFilter misspelt Envoy field",
    EF,
    (o) => {
      o.spec.configPatches[0].patch.value.lb_polcy = "X";
    },
    /unknown field "lb_polcy"/,
  ],
  [
    "EnvoyFilter bad duration",
    EF,
    (o) => {
      o.spec.configPatches[0].patch.value.connect_timeout = "5 seconds";
    },
    /connect_timeout/,
  ],
  [
    "DestinationRule unknown field",
    "destinationrule.yaml",
    (o) => {
      o.spec.trafficPolicy.loadBalancer.localityLbSettings = {};
    },
    /localityLbSettings/,
  ],
  [
    "PeerAuthentication bad mode",
    "peerauthentication.yaml",
    (o) => {
      o.spec.mtls.mode = "STRICTER";
    },
    /mtls\.mode/,
  ],
  [
    "AuthorizationPolicy unknown field",
    "authorizationpolicy.yaml",
    (o) => {
      o.spec.rules[0].from[0].source.principal = ["x"];
    },
    /"principal"/,
  ],
];

describe("strict Istio validation", () => {
  test(`schemas come from the npm package ${ISTIO_SCHEMA_SOURCE}; the clean output passes`, () => {
    expect(ISTIO_SCHEMA_SOURCE).toBe("@kubernetes-models/istio@3.0.1");
    for (const [file, o] of Object.entries(clean)) expect(validateK8sObject(o, file, { istio: "1.28" }), file).toEqual([]);
  });

  test.each(FAULTS)("catches: %s", (_name, file, mutate, message) => {
    const o = structuredClone(clean[file]!);
    mutate(o);
    const problems = validateK8sObject(o, file, { istio: "1.28" });
    expect(problems.map((p) => `${p.path}: ${p.message}`).join("\n")).toMatch(message);
  });

  test("per version: FAIL_RELOAD before 1.27, TrafficExtension before 1.30, GatewayClass targetRefs before 1.26", () => {
    const wp = structuredClone(clean[WP]!) as any;
    wp.spec.failStrategy = "FAIL_RELOAD";
    expect(
      validateK8sObject(wp, WP, { istio: "1.26" })
        .map((p) => p.message)
        .join(),
    ).toMatch(/FAIL_RELOAD is not in Istio 1\.26/);
    expect(validateK8sObject(wp, WP, { istio: "1.27" })).toEqual([]);
    const te = generate(variant(MODES["pool, TrafficExtension"]!), { istio: "1.30" }).files.find((f) => f.path === "trafficextension.yaml")!
      .objects![0]!;
    expect(validateK8sObject(te, "te", { istio: "1.30" })).toEqual([]);
    expect(validateK8sObject(te, "te", { istio: "1.29" })[0]!.message).toMatch(/does not exist before Istio 1\.30/);
    const gc = structuredClone(clean[WP]!) as any;
    delete gc.spec.selector;
    gc.spec.targetRefs = [{ group: "gateway.networking.k8s.io", kind: "GatewayClass", name: "istio" }];
    expect(validateK8sObject(gc, WP, { istio: "1.25" }).length).toBeGreaterThan(0);
    expect(validateK8sObject(gc, WP, { istio: "1.26" })).toEqual([]);
  });
});
