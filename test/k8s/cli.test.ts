// The `sync --once` and `sync-manifests` commands end to end.
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { main } from "../../src/cli.js";
import { RouterConfigSchema } from "../../src/config/router-config.js";
import { validateObject } from "../../src/k8s/validate-core.js";
import { generate } from "../../src/toolkit/generate.js";
import { endpointSlice, service, TestApiServer } from "./api-server.js";

const ROUTER = `namespace: llm
name: inference-router
workload: { selector: { matchLabels: { app: chat } } }
frontend: { host: llm, port: 8000 }
wasm: { url: "oci://ghcr.io/example/inference-router:0.1.0" }
steering: endpoint
pools:
  - { name: a100, models: [big], endpoints: ["10.0.0.1:8000"], service: { host: vllm-a100, port: 8000 } }
  - { name: l4, models: [small], endpoints: ["10.0.1.1:8000"], service: { host: vllm-l4.gpu-l4.svc.cluster.local, port: 8000 } }
`;

function run(args: string[]) {
  let out = "",
    err = "";
  return main(args, {
    out: (s) => {
      out += s;
    },
    err: (s) => {
      err += s;
    },
  }).then((code) => ({ code, out, err }));
}

let api: TestApiServer | undefined;
afterEach(async () => {
  await api?.close();
  api = undefined;
});

describe("sync CLI", () => {
  it("--once prints the pluginConfig it would write and writes nothing", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "ir-sync-"));
    const file = path.join(dir, "router.yaml");
    writeFileSync(file, ROUTER);
    api = await new TestApiServer().start();
    const cfg = RouterConfigSchema.parse((await import("yaml")).parse(ROUTER));
    api.apply(
      generate(cfg)
        .files.flatMap((f) => f.objects ?? [])
        .find((o) => o.kind === "WasmPlugin")!,
    );
    api.apply(service("llm", "vllm-a100"));
    api.apply(service("gpu-l4", "vllm-l4"));
    api.apply(endpointSlice("llm", "vllm-a100", "abcde", [{ ip: "10.0.0.8" }]));
    api.apply(endpointSlice("gpu-l4", "vllm-l4", "fghij", [{ ip: "10.0.1.8" }, { ip: "10.0.1.9", ready: false }]));
    const r = await run(["sync", "-c", file, "--once", "--server", api.url]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out).pools.map((p: { endpoints: string[] }) => p.endpoints)).toEqual([["10.0.0.8:8000"], ["10.0.1.8:8000"]]);
    expect(r.err).toContain("differs from WasmPlugin llm/inference-router");
    expect(api.puts.ok).toBe(0);
  });

  it("sync-manifests writes a valid Deployment, ServiceAccount, least-privilege RBAC (per namespace read) and ConfigMap", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "ir-syncm-"));
    const file = path.join(dir, "router.yaml");
    writeFileSync(file, ROUTER);
    const r = await run(["sync-manifests", "-c", file, "-o", dir, "--image", "ghcr.io/example/inference-router-cli:0.1.0"]);
    expect(r.code).toBe(0);
    const docs = parseAllDocuments(readFileSync(path.join(dir, "sync.yaml"), "utf8")).map((d) => d.toJS());
    expect(docs.map((d) => `${d.kind}/${d.metadata.namespace}`)).toEqual([
      "ServiceAccount/llm",
      "Role/llm",
      "RoleBinding/llm",
      "Role/gpu-l4",
      "RoleBinding/gpu-l4",
      "ConfigMap/llm",
      "Deployment/llm",
    ]);
    for (const d of docs) expect(validateObject(d, "sync.yaml")).toEqual([]);
    const role = docs.find((d) => d.kind === "Role" && d.metadata.namespace === "llm");
    expect(role.rules).toEqual([
      { apiGroups: ["discovery.k8s.io"], resources: ["endpointslices"], verbs: ["list", "watch"] },
      { apiGroups: [""], resources: ["services"], verbs: ["list", "watch"] },
      { apiGroups: ["extensions.istio.io"], resources: ["wasmplugins"], resourceNames: ["inference-router"], verbs: ["get", "update"] },
    ]);
    // The other namespace's Role reads only; it cannot write anything.
    const other = docs.find((d) => d.kind === "Role" && d.metadata.namespace === "gpu-l4");
    expect(other.rules.flatMap((x: { verbs: string[] }) => x.verbs)).not.toContain("update");
    const dep = docs.find((d) => d.kind === "Deployment");
    expect(dep.spec.template.spec.containers[0].args).toEqual([
      "sync",
      "-c",
      "/etc/inference-router/router.yaml",
      "--source",
      "endpointslices",
      "--debounce-ms",
      "1000",
    ]);
    // A broken object is caught by the validator (it is not a rubber stamp).
    expect(validateObject({ ...dep, spec: { ...dep.spec, replicas: "two" } }, "x").length).toBeGreaterThan(0);
  });
});
