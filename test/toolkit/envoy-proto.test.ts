import path from "node:path";
import protobuf from "protobufjs";
import { describe, expect, test } from "vitest";
import { envoyChecker, loadShippedRoot, OVERLAY_DIR, OVERLAY_FIELDS, OVERLAY_TYPES } from "../../src/toolkit/envoy-proto.js";

const checker = envoyChecker();
const shipped = loadShippedRoot();

function lookup(root: protobuf.Root, name: string): protobuf.ReflectionObject | null {
  try {
    return root.lookupTypeOrEnum(name);
  } catch {
    return null;
  }
}

function allTypes(ns: protobuf.NamespaceBase): Array<protobuf.Type | protobuf.Enum> {
  const out: Array<protobuf.Type | protobuf.Enum> = [];
  for (const n of ns.nestedArray) {
    if (n instanceof protobuf.Type || n instanceof protobuf.Enum) out.push(n);
    if (n instanceof protobuf.Namespace || n instanceof protobuf.Type) out.push(...allTypes(n));
  }
  return out;
}

describe("overlay of Envoy protos", () => {
  test("lists exactly what the overlay files define", () => {
    const defined = allTypes(checker.root)
      .filter((t) => t.filename?.startsWith(OVERLAY_DIR) && t.parent instanceof protobuf.Namespace && !(t.parent instanceof protobuf.Type))
      .map((t) => t.fullName.slice(1))
      .sort();
    expect(defined).toEqual([...OVERLAY_TYPES].sort());
    for (const f of OVERLAY_FIELDS) {
      const i = f.lastIndexOf(".");
      const t = checker.root.lookupType(f.slice(0, i));
      expect(t.fields[f.slice(i + 1)], f).toBeDefined();
    }
    // Field numbers and types as in Envoy's API reference.
    const pc = checker.root.lookupType("envoy.extensions.wasm.v3.PluginConfig");
    expect([pc.fields["failure_policy"]!.id, pc.fields["reload_config"]!.id, pc.fields["allow_on_headers_stop_iteration"]!.id]).toEqual([
      7, 8, 9,
    ]);
    expect(checker.root.lookupEnum("envoy.extensions.wasm.v3.FailurePolicy").values).toEqual({
      UNSPECIFIED: 0,
      FAIL_RELOAD: 1,
      FAIL_CLOSED: 2,
      FAIL_OPEN: 3,
    });
    const oh = checker.root.lookupType("envoy.extensions.load_balancing_policies.override_host.v3.OverrideHost");
    expect(Object.fromEntries(oh.fieldsArray.map((f) => [f.name, f.id]))).toEqual({
      override_host_sources: 1,
      selected_host_key: 2,
      fallback_policy: 3,
    });
    expect(path.isAbsolute(OVERLAY_DIR)).toBe(true);
  });

  test("the shipped Envoy API does not define anything the overlay adds (else shrink the overlay)", () => {
    for (const t of OVERLAY_TYPES)
      expect(lookup(shipped, t), `${t} now ships with @grpc/grpc-js-xds: delete it from the overlay`).toBeNull();
    for (const f of OVERLAY_FIELDS) {
      const i = f.lastIndexOf(".");
      const t = shipped.lookupType(f.slice(0, i));
      expect(t.fields[f.slice(i + 1)], `${f} now ships: delete it from the overlay`).toBeUndefined();
    }
  });
});

describe("strict decoding", () => {
  const wasm = (config: Record<string, unknown>) => ({
    config: { name: "x", vm_config: { runtime: "envoy.wasm.runtime.v8", code: { local: { filename: "/x.wasm" } } }, ...config },
  });

  test("accepts a valid wasm filter config with overlay fields", () => {
    expect(
      checker.check(
        "envoy.extensions.filters.http.wasm.v3.Wasm",
        wasm({
          failure_policy: "FAIL_RELOAD",
          reload_config: { backoff: { base_interval: "1s" } },
          allow_on_headers_stop_iteration: true,
          configuration: { "@type": "type.googleapis.com/google.protobuf.StringValue", value: "{}" },
        }),
      ),
    ).toEqual([]);
  });

  test("a misspelt field is caught with its path and a suggestion", () => {
    const issues = checker.check("envoy.extensions.filters.http.wasm.v3.Wasm", wasm({ root_idd: "r" }));
    expect(issues).toHaveLength(1);
    expect(issues[0]!.path).toBe("config.root_idd");
    expect(issues[0]!.message).toMatch(/unknown field "root_idd".*did you mean "root_id"/);
  });

  test("unknown fields inside Any values are caught at any depth", () => {
    const issues = checker.check("envoy.config.cluster.v3.Cluster", {
      name: "c",
      load_balancing_policy: {
        policies: [
          {
            typed_extension_config: {
              name: "oh",
              typed_config: {
                "@type": "type.googleapis.com/envoy.extensions.load_balancing_policies.override_host.v3.OverrideHost",
                override_host_sources: [{ header: "h", headr: "x" }],
                fallback_policy: {
                  policies: [
                    {
                      typed_extension_config: {
                        name: "lr",
                        typed_config: {
                          "@type": "type.googleapis.com/envoy.extensions.load_balancing_policies.least_request.v3.LeastRequest",
                          choice_count: "two",
                        },
                      },
                    },
                  ],
                },
              },
            },
          },
        ],
      },
    });
    expect(issues.map((i) => i.path)).toEqual([
      "load_balancing_policy.policies[0].typed_extension_config.typed_config.override_host_sources[0].headr",
      "load_balancing_policy.policies[0].typed_extension_config.typed_config.fallback_policy.policies[0].typed_extension_config.typed_config.choice_count",
    ]);
  });

  test("enum names, scalar kinds, durations, oneofs, required and min_items are enforced", () => {
    const c = (v: unknown) => checker.check("envoy.config.cluster.v3.Cluster", v).map((i) => i.message);
    expect(c({ lb_policy: "LEAST_REQUSET" })[0]).toMatch(/not a value of enum .*LbPolicy.*did you mean LEAST_REQUEST/);
    expect(c({ connect_timeout: "5 seconds" })[0]).toMatch(/duration/);
    expect(c({ per_connection_buffer_limit_bytes: "lots" })[0]).toMatch(/integer/);
    expect(c({ type: "STATIC", cluster_type: { name: "x" } })[0]).toMatch(/only one of/);
    const oh = (v: unknown) =>
      checker.check("envoy.extensions.load_balancing_policies.override_host.v3.OverrideHost", v).map((i) => i.message);
    expect(oh({ override_host_sources: [] })).toEqual(
      expect.arrayContaining([expect.stringMatching(/at least 1/), expect.stringMatching(/required field fallback_policy/)]),
    );
    expect(
      checker.check("envoy.config.core.v3.TypedExtensionConfig", {
        name: "x",
        typed_config: { "@type": "type.googleapis.com/envoy.nope.v3.Nope" },
      })[0]!.message,
    ).toMatch(/unknown or unloaded/);
  });
});
