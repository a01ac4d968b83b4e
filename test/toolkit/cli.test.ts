import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, test } from "vitest";
import { parse, parseAllDocuments } from "yaml";
import { parsePluginConfig } from "../../src/config/plugin-config.js";
import { routerConfigJsonSchema } from "../../src/config/router-config.js";
import { packageWasm, readWasmFromLayout, untar, MEDIA_CONFIG, MEDIA_LAYER } from "../../src/toolkit/oci.js";
import { EXAMPLE, ROOT, run, tmp } from "./helpers.js";

function listFiles(dir: string, base = dir): string[] {
  return readdirSync(dir)
    .flatMap((n) => {
      const p = path.join(dir, n);
      return statSync(p).isDirectory() ? listFiles(p, base) : [path.relative(base, p)];
    })
    .sort();
}

/** A tiny valid module: magic + version + empty custom section. */
const WASM = Buffer.from([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x00, 0x03, 0x01, 0x78, 0x00]);

describe("inference-router validate", () => {
  test("the example config is valid", async () => {
    const r = await run("validate", EXAMPLE);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/ok \(2 pool/);
  });

  test("reports every problem at once with file, field path and fix; exit 1", async () => {
    const dir = tmp();
    const file = path.join(dir, "bad.yaml");
    writeFileSync(
      file,
      [
        "namespace: LLM",
        "workload: {selector: {matchLabels: {app: x}}}",
        "frontend: {host: llm, port: 80000}",
        "wasm: {url: 'ftp://x', imagePullPolicy: Sometimes}",
        "failStrategy: FAIL_CLOSED",
        "pools: [{name: a100, models: [m], fallbak: l4}]",
      ].join("\n"),
    );
    const r = await run("validate", file);
    expect(r.code).toBe(1);
    for (const p of ["namespace", "frontend.port", "wasm.url", "wasm.imagePullPolicy", "failStrategy", "pools[0]"]) expect(r.err).toContain(`${file}: ${p}:`);
    expect(r.err).toMatch(/failStrategy: .*fix: use one of: "FAIL_CLOSE", "FAIL_OPEN", "FAIL_RELOAD"/);
    expect(r.err).toMatch(/remove "fallbak"/);
    expect(r.err).toMatch(/6 problem\(s\)/);
  });

  test("semantic problems (duplicate pools, missing endpoints in endpoint mode) have paths too", async () => {
    const dir = tmp();
    const file = path.join(dir, "bad.json");
    const cfg = parse(readFileSync(EXAMPLE, "utf8"));
    cfg.steering = "endpoint";
    cfg.pools[1].name = "a100";
    writeFileSync(file, JSON.stringify(cfg));
    const r = await run("validate", file);
    expect(r.code).toBe(1);
    expect(r.err).toContain("pools[1].name: duplicate pool name");
    expect(r.err).toContain("pools[0].endpoints:");
  });

  test("YAML syntax errors name the line", async () => {
    const file = path.join(tmp(), "broken.yaml");
    writeFileSync(file, "namespace: llm\npools: [\n");
    const r = await run("validate", file);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/broken\.yaml: line \d+:\d+/);
  });

  test("usage errors exit 2; --help on every command exits 0", async () => {
    expect((await run("validate", "/nonexistent.yaml")).code).toBe(2);
    expect((await run("generate", "-c", EXAMPLE)).code).toBe(2);
    expect((await run("bogus")).code).toBe(2);
    expect((await run("generate", "-c", EXAMPLE, "-o", tmp(), "--unsafe-original-dst")).code).toBe(2);
    for (const cmd of ["validate", "schema", "generate", "validate-output", "local", "package"]) {
      const r = await run(cmd, "--help");
      expect(r.code, cmd).toBe(0);
      expect(r.out).toContain(`Usage: inference-router ${cmd}`);
    }
    expect((await run("--help")).code).toBe(0);
  });
});

describe("inference-router schema", () => {
  test("schema/router-config.schema.json is the current schema (regenerate: inference-router schema -o schema/router-config.schema.json)", async () => {
    const r = await run("schema");
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toEqual(routerConfigJsonSchema());
    expect(readFileSync(path.join(ROOT, "schema", "router-config.schema.json"), "utf8")).toBe(r.out);
  });
});

describe("inference-router generate", () => {
  test("istio/ is exactly what the example config generates (regenerate: inference-router generate -c examples/router.yaml -o istio)", async () => {
    const out = tmp();
    const r = await run("generate", "-c", EXAMPLE, "-o", out);
    expect(r.code, r.err).toBe(0);
    const checkedIn = path.join(ROOT, "istio");
    expect(listFiles(checkedIn)).toEqual(listFiles(out));
    for (const f of listFiles(out)) expect(readFileSync(path.join(checkedIn, f), "utf8"), f).toBe(readFileSync(path.join(out, f), "utf8"));
  });

  test("the checked-in output passes validate-output and is kustomize-ready with headers", async () => {
    const r = await run("validate-output", path.join(ROOT, "istio"));
    expect(r.code, r.err).toBe(0);
    const kust = parse(readFileSync(path.join(ROOT, "istio", "kustomization.yaml"), "utf8"));
    for (const res of kust.resources as string[]) {
      const text = readFileSync(path.join(ROOT, "istio", res), "utf8");
      expect(text.startsWith("# Generated by inference-router")).toBe(true);
      expect(text).toMatch(/# Needs:\n#   .*Istio >= /);
    }
    const readme = readFileSync(path.join(ROOT, "istio", "README.md"), "utf8");
    expect(readme).toContain("## Version matrix");
    expect(readme).toContain("outbound\\|8000\\|a100\\|llm.llm.svc.cluster.local");
    const wp = parse(readFileSync(path.join(ROOT, "istio", "wasmplugin.yaml"), "utf8"));
    expect(wp.spec.sha256).toBeUndefined();
    parsePluginConfig(wp.spec.pluginConfig);
  });

  test("--wasm puts the module's sha256 into the WasmPlugin and the EnvoyFilter", async () => {
    const dir = tmp();
    const wasm = path.join(dir, "m.wasm");
    writeFileSync(wasm, WASM);
    const out = path.join(dir, "out");
    const r = await run("generate", "-c", EXAMPLE, "-o", out, "--wasm", wasm);
    expect(r.code, r.err).toBe(0);
    const sha = packageWasm(WASM).wasmSha256;
    expect(parse(readFileSync(path.join(out, "wasmplugin.yaml"), "utf8")).spec.sha256).toBe(sha);
    expect(readFileSync(path.join(out, "alternatives", "wasm-envoyfilter.yaml"), "utf8")).toContain(`sha256: ${sha}`);
    expect((await run("generate", "-c", EXAMPLE, "-o", out, "--wasm", path.join(dir, "missing.wasm"))).code).toBe(2);
  });

  test("a generation that fails validation writes nothing and exits 1", async () => {
    const dir = tmp();
    const cfg = parse(readFileSync(EXAMPLE, "utf8"));
    cfg.body = { enabled: true };
    cfg.versions = { istio: "1.24", envoy: "1.32" };
    const file = path.join(dir, "old.yaml");
    writeFileSync(file, JSON.stringify(cfg));
    const out = path.join(dir, "out");
    const r = await run("generate", "-c", file, "-o", out);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/versions\.istio: .*needs Istio >= 1\.2\d/);
    expect(existsSync(out)).toBe(false);
  });
});

describe("inference-router validate-output", () => {
  test("a misspelt Envoy field and an invalid Istio enum in fixtures are caught", async () => {
    const r = await run("validate-output", path.join(ROOT, "test", "toolkit", "fixtures"));
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/misspelt-envoy-field\.yaml: spec\.configPatches\[0\]\.patch\.value\.typed_config\.config\.root_idd: unknown field "root_idd".*did you mean "root_id"/);
    expect(r.err).toMatch(/override_host_source: unknown field .*did you mean "override_host_sources"/);
    expect(r.err).toMatch(/invalid-istio-enum\.yaml: spec\.failStrategy: must be equal to one of the allowed values \(allowed: FAIL_CLOSE, FAIL_OPEN, FAIL_RELOAD\)/);
  });
});

describe("inference-router local", () => {
  test("writes a valid compose file, bootstrap, Dockerfile and pluginConfig", async () => {
    const dir = tmp();
    const wasm = path.join(dir, "build", "inference-router.wasm");
    const out = path.join(dir, "local");
    const r = await run("local", "-c", EXAMPLE, "-o", out, "--wasm", wasm, "--replicas", "3", "--project-root", dir);
    expect(r.code, r.err).toBe(0);
    expect(r.err).toMatch(/does not exist yet/);
    expect(listFiles(out)).toEqual(["Dockerfile.simulator", "docker-compose.yaml", "envoy.yaml", "plugin-config.json"]);
    const compose = parse(readFileSync(path.join(out, "docker-compose.yaml"), "utf8"));
    expect(Object.keys(compose.services)).toHaveLength(1 + 2 * 3);
    expect(compose.services.envoy.image).toMatch(/^envoyproxy\/envoy:v1\.3[6-9]/);
    expect(compose.services.envoy.volumes).toContain("../build/inference-router.wasm:/etc/envoy/inference-router.wasm:ro");
    expect(compose.services["sim-l4-2"].command.slice(0, 3)).toEqual(["node", "dist/cli.js", "simulate"]);
    expect(compose.services["sim-l4-2"].build).toEqual({ context: "..", dockerfile: "local/Dockerfile.simulator" });
    const envoy = parseAllDocuments(readFileSync(path.join(out, "envoy.yaml"), "utf8"))[0]!.toJS();
    const routes = envoy.static_resources.listeners[0].filter_chains[0].filters[0].typed_config.route_config.virtual_hosts[0].routes;
    expect(routes[0].route.cluster_header).toBe("x-inference-pool");
    const sims = ["a100-0", "a100-1", "a100-2", "l4-0", "l4-1", "l4-2"];
    expect(envoy.static_resources.clusters.map((c: { name: string }) => c.name)).toEqual(
      ["a100", "l4", "metrics-a100", "metrics-l4", ...sims.map((s) => `metrics-sim-${s}`)]);
    const pc = parsePluginConfig(JSON.parse(readFileSync(path.join(out, "plugin-config.json"), "utf8")));
    expect(pc.pools[0]!.endpoints).toHaveLength(3);
    // Each poll goes to the cluster of the one server it is about.
    expect(pc.pools[0]!.metrics!.cluster).toBe("metrics-a100");
    const ec = pc.pools[0]!.metrics!.endpointClusters!;
    expect(Object.values(ec)).toEqual(["metrics-sim-a100-0", "metrics-sim-a100-1", "metrics-sim-a100-2"]);
    expect(Object.keys(ec)).toEqual(pc.pools[0]!.endpoints);
    expect((await run("validate-output", out)).code).toBe(0);
    expect((await run("local", "-c", EXAMPLE, "-o", out, "--replicas", "0")).code).toBe(2);
  });
});

describe("inference-router package", () => {
  test("writes an OCI layout tar in the Wasm compat layout; reading it back gives the module", async () => {
    const dir = tmp();
    const wasm = path.join(dir, "m.wasm");
    writeFileSync(wasm, WASM);
    const out = path.join(dir, "oci.tar");
    const r = await run("package", "--wasm", wasm, "-o", out, "--tag", "0.1.0");
    expect(r.code, r.err).toBe(0);
    const tarBuf = readFileSync(out);
    const back = readWasmFromLayout(tarBuf);
    expect(back.wasm.equals(WASM)).toBe(true);
    const m = back.manifest as { config: { mediaType: string }; layers: Array<{ mediaType: string }> };
    expect(m.config.mediaType).toBe(MEDIA_CONFIG);
    expect(m.layers.map((l) => l.mediaType)).toEqual([MEDIA_LAYER]);
    expect(untar(tarBuf).map((e) => e.name).slice(0, 2)).toEqual(["oci-layout", "index.json"]);
    expect(JSON.stringify(back.index)).toContain('"org.opencontainers.image.ref.name":"0.1.0"');
    expect(r.out).toContain(`sha256 ${packageWasm(WASM).wasmSha256}`);
    // Reproducible: same module, same bytes.
    expect(packageWasm(WASM, { tag: "0.1.0" }).tar.equals(tarBuf)).toBe(true);
    writeFileSync(wasm, "not wasm");
    expect((await run("package", "--wasm", wasm, "-o", out)).code).toBe(1);
    expect((await run("package", "--wasm", path.join(dir, "none.wasm"))).code).toBe(2);
  });
});
