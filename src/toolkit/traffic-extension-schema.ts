// Structural schema of TrafficExtension (extensions.istio.io/v1alpha1, Istio >= 1.30), in the shape
// scripts/istio-schemas.mjs produces. No npm package ships it: @kubernetes-models/istio 3.0.1 is generated from
// Istio 1.29.2, before the kind existed. Written by hand from the CRD in istio/istio
// manifests/charts/base/files/crd-all.gen.yaml @ 56df41f63e513f834c9a3af33d8aed82d1d961f2 (1.30.3), checked field by
// field against it and against 1.31.0-rc.0 (423f108b…, same fields). Value constraints and CEL rules are in
// istio-rules.ts; the oneOf wasm/lua is the rule "exactly one of wasm or lua must be set".
const str = { type: "string" };
const obj = (properties: Record<string, unknown>, required: string[] = []) => ({
  type: "object",
  properties,
  ...(required.length ? { required } : {}),
  additionalProperties: false,
});

export const TRAFFIC_EXTENSION_SCHEMA = obj(
  {
    apiVersion: { const: "extensions.istio.io/v1alpha1" },
    kind: { const: "TrafficExtension" },
    metadata: { type: "object" },
    status: { type: "object" },
    spec: obj({
      lua: obj({ inlineCode: str }, ["inlineCode"]),
      match: {
        type: "array",
        items: obj({
          mode: { type: "string", enum: ["UNDEFINED", "CLIENT", "SERVER", "CLIENT_AND_SERVER"] },
          ports: { type: "array", items: obj({ number: { type: "number" } }, ["number"]) },
        }),
      },
      phase: { type: "string", enum: ["UNSPECIFIED", "AUTHN", "AUTHZ", "STATS"] },
      priority: { anyOf: [{ type: "number" }, { type: "null" }] },
      selector: obj({ matchLabels: { type: "object", additionalProperties: str } }),
      targetRefs: { type: "array", items: obj({ group: str, kind: str, name: str, namespace: str }, ["kind", "name"]) },
      wasm: obj(
        {
          failStrategy: { type: "string", enum: ["FAIL_CLOSE", "FAIL_OPEN", "FAIL_RELOAD"] },
          imagePullPolicy: { type: "string", enum: ["UNSPECIFIED_POLICY", "IfNotPresent", "Always"] },
          imagePullSecret: str,
          pluginConfig: { type: "object" },
          pluginName: str,
          sha256: str,
          type: { type: "string", enum: ["UNSPECIFIED_PLUGIN_TYPE", "HTTP", "NETWORK"] },
          url: str,
          verificationKey: str,
          vmConfig: obj({
            env: {
              type: "array",
              items: obj({ name: str, value: str, valueFrom: { type: "string", enum: ["INLINE", "HOST"] } }, ["name"]),
            },
          }),
        },
        ["url"],
      ),
    }),
  },
  ["spec"],
);
