// Ambient output: the filter on the waypoint (targetRefs), per-pool Services and an HTTPRoute bound to the frontend
// Service, each strictly valid; endpoint mode refused with the reason and the alternative.
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { main } from "../../src/cli.js";
import { RouterConfigSchema } from "../../src/config/router-config.js";
import { validateObject } from "../../src/k8s/validate-core.js";
import { AmbientError, generateAmbient, validateTrafficExtension } from "../../src/toolkit/ambient.js";
import { packageWasm } from "../../src/toolkit/oci.js";

const base = (extra: Record<string, unknown> = {}) =>
  RouterConfigSchema.parse({
    namespace: "llm",
    name: "inference-router",
    workload: { targetRefs: [{ group: "gateway.networking.k8s.io", kind: "Gateway", name: "waypoint" }] },
    frontend: { host: "llm", port: 8000 },
    wasm: { url: "oci://ghcr.io/example/inference-router:0.1.0" },
    steering: "pool",
    pools: [
      { name: "a100", models: ["big"], endpoints: ["10.0.0.1:8080"] },
      { name: "l4", models: ["small"], service: { host: "vllm-l4", port: 9000 } },
    ],
    ...extra,
  });

function objects(files: ReturnType<typeof generateAmbient>["files"]) {
  return files.flatMap((f) => (f.objects ?? []).map((o) => ({ file: f.path, o })));
}

describe("ambient waypoint output", () => {
  it("pins an oci:// module by its image manifest digest, never the module hash (as sidecars and gateways)", () => {
    const wasm = Buffer.from("\0asm\x01\0\0\0 any module bytes");
    const wp = objects(generateAmbient(base(), { waypoint: "waypoint", wasm }).files)[0]!.o as any;
    const manifest = packageWasm(wasm).manifest.digest.slice("sha256:".length);
    expect(wp.spec.sha256).toBe(manifest);
    expect(wp.spec.sha256).not.toBe(createHash("sha256").update(wasm).digest("hex"));
  });

  it("Istio 1.28: WasmPlugin targeting the waypoint, a Service for the pool without one, an HTTPRoute on x-inference-pool; all valid", () => {
    const r = generateAmbient(base(), { waypoint: "waypoint" });
    const objs = objects(r.files);
    expect(objs.map((x) => `${x.file}:${x.o.kind}/${x.o.metadata.name}`)).toEqual([
      "wasmplugin.yaml:WasmPlugin/inference-router",
      "pool-services.yaml:Service/llm-a100",
      "httproute.yaml:HTTPRoute/inference-router-pools",
    ]);
    for (const { file, o } of objs) expect(validateObject(o, file)).toEqual([]);
    const wp = objs[0]!.o as any;
    expect(wp.spec.targetRefs).toEqual([{ group: "gateway.networking.k8s.io", kind: "Gateway", name: "waypoint" }]);
    expect(wp.spec.selector).toBeUndefined();
    const svc = objs[1]!.o as any;
    expect(svc.spec.selector).toEqual({ "inference.pool": "a100" });
    expect(svc.spec.ports[0]).toMatchObject({ port: 8000, targetPort: 8080 });
    const route = objs[2]!.o as any;
    expect(route.spec.parentRefs).toEqual([{ group: "", kind: "Service", name: "llm", port: 8000 }]);
    expect(route.spec.rules.map((x: any) => [x.matches?.[0].headers[0].value, x.backendRefs[0].name, x.backendRefs[0].port])).toEqual([
      ["a100", "llm-a100", 8000],
      ["l4", "vllm-l4", 9000],
      [undefined, "llm", 8000],
    ]);
    expect(r.steps[0]).toContain("istio.io/use-waypoint=waypoint");
  });

  it("Istio 1.30+: TrafficExtension (strictly valid) with the WasmPlugin as an alternative", () => {
    const r = generateAmbient(base({ versions: { istio: "1.30", envoy: "1.38" } }), { waypoint: "waypoint" });
    const te = objects(r.files).find((x) => x.o.kind === "TrafficExtension")!;
    expect(te.file).toBe("trafficextension.yaml");
    expect(validateTrafficExtension(te.o, te.file)).toEqual([]);
    expect((te.o as any).spec.wasm.pluginConfig.steering).toBe("pool");
    expect(r.files.map((f) => f.path)).toContain("alternatives/wasmplugin.yaml");
    // Strict: a field the CRD does not define is an error, as are both selector and targetRefs.
    expect(validateTrafficExtension({ ...te.o, spec: { ...(te.o as any).spec, url: "x" } }, "t").length).toBeGreaterThan(0);
    expect(
      validateTrafficExtension({ ...te.o, spec: { ...(te.o as any).spec, selector: { matchLabels: { a: "b" } } } }, "t")[0]!.message,
    ).toMatch(/only one of targetRefs or selector/);
  });

  it("refuses endpoint mode with the reason and what to use instead", () => {
    const cfg = base({ steering: "endpoint", pools: [{ name: "a100", models: ["big"], endpoints: ["10.0.0.1:8080"] }] });
    expect(() => generateAmbient(cfg, { waypoint: "waypoint" })).toThrow(AmbientError);
    expect(() => generateAmbient(cfg, { waypoint: "waypoint" })).toThrow(
      /override_host.*EnvoyFilter.*waypoints never use selector.*Use steering: pool/s,
    );
  });

  it("the CLI writes the files, validated, and prints the enrolment step", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "ir-amb-"));
    const file = path.join(dir, "router.yaml");
    writeFileSync(
      file,
      JSON.stringify({
        namespace: "llm",
        name: "inference-router",
        workload: { targetRefs: [{ group: "gateway.networking.k8s.io", kind: "Gateway", name: "waypoint" }] },
        frontend: { host: "llm", port: 8000 },
        wasm: { url: "oci://ghcr.io/example/inference-router:0.1.0" },
        steering: "pool",
        pools: [{ name: "a100", models: ["big"] }],
      }),
    );
    let out = "",
      err = "";
    const code = await main(["ambient", "-c", file, "-o", path.join(dir, "out"), "--waypoint", "waypoint"], {
      out: (s) => {
        out += s;
      },
      err: (s) => {
        err += s;
      },
    });
    expect(err).toBe("");
    expect(code).toBe(0);
    expect(out).toContain("kubectl label service llm -n llm istio.io/use-waypoint=waypoint");
    const docs = parseAllDocuments(readFileSync(path.join(dir, "out", "httproute.yaml"), "utf8")).map((d) => d.toJS());
    expect(docs[0].kind).toBe("HTTPRoute");
    const bad = path.join(dir, "bad.json");
    writeFileSync(
      bad,
      readFileSync(file, "utf8")
        .replace('"steering":"pool"', '"steering":"endpoint"')
        .replace('"models":["big"]', '"models":["big"],"endpoints":["10.0.0.1:80"]'),
    );
    err = "";
    expect(
      await main(["ambient", "-c", bad, "-o", path.join(dir, "out2"), "--waypoint", "waypoint"], {
        out: () => {},
        err: (s) => {
          err += s;
        },
      }),
    ).toBe(1);
    expect(err).toMatch(/steering: endpoint cannot work on a waypoint/);
  });
});
