import { createHash } from "node:crypto";
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
    for (const p of ["namespace", "frontend.port", "wasm.url", "wasm.imagePullPolicy", "failStrategy", "pools[0]"])
      expect(r.err).toContain(`${file}: ${p}:`);
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
    // The example steers OpenAI traffic: body mode, so the ECDS EnvoyFilter is what gets applied.
    expect(kust.resources).toContain("wasm-envoyfilter.yaml");
    expect(readme).toMatch(/Body mode is on: OpenAI-style requests/);
    const wp = parse(readFileSync(path.join(ROOT, "istio", "alternatives", "wasmplugin.yaml"), "utf8"));
    expect(wp.spec.sha256).toBeUndefined();
    parsePluginConfig(wp.spec.pluginConfig);
  });

  test("--wasm: an https url gets the module's sha256, an oci url the image manifest digest", async () => {
    const dir = tmp();
    const wasm = path.join(dir, "m.wasm");
    writeFileSync(wasm, WASM);
    const cfg = parse(readFileSync(EXAMPLE, "utf8"));
    cfg.body = { enabled: false };
    cfg.wasm = { url: "https://example.com/ir.wasm" };
    const https = path.join(dir, "https.yaml");
    writeFileSync(https, JSON.stringify(cfg));
    const out = path.join(dir, "out");
    expect((await run("generate", "-c", https, "-o", out, "--wasm", wasm)).code).toBe(0);
    const moduleSha = createHash("sha256").update(WASM).digest("hex");
    expect(parse(readFileSync(path.join(out, "wasmplugin.yaml"), "utf8")).spec.sha256).toBe(moduleSha);
    expect(readFileSync(path.join(out, "alternatives", "wasm-envoyfilter.yaml"), "utf8")).toContain(`sha256: ${moduleSha}`);
    // oci:// — the WasmPlugin must carry the manifest digest of the image `package` pushes.
    const oci = path.join(dir, "oci");
    const r = await run("generate", "-c", EXAMPLE, "-o", oci, "--wasm", wasm);
    expect(r.code, r.err).toBe(0);
    const manifest = packageWasm(WASM).manifest.digest.replace("sha256:", "");
    expect(manifest).not.toBe(moduleSha);
    expect(parse(readFileSync(path.join(oci, "alternatives", "wasmplugin.yaml"), "utf8")).spec.sha256).toBe(manifest);
    expect(readFileSync(path.join(oci, "wasm-envoyfilter.yaml"), "utf8")).toContain(`sha256: ${manifest}`);
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
    expect(r.err).toMatch(/versions\.istio: body mode .*needs Istio >= 1\.28/);
    expect(existsSync(out)).toBe(false);
    // --istio-version overrides the config's target, both ways.
    const r2 = await run("generate", "-c", EXAMPLE, "-o", out, "--istio-version", "1.27.3");
    expect(r2.code).toBe(1);
    expect(r2.err).toMatch(
      /body mode \(allow_on_headers_stop_iteration on the Wasm filter\) needs Istio >= 1\.28; the target is Istio 1\.27\.3/,
    );
    expect((await run("generate", "-c", file, "-o", out, "--istio-version", "1.28", "--dry-run")).code).toBe(0);
    expect(existsSync(out)).toBe(false);
    expect((await run("generate", "-c", EXAMPLE, "-o", out, "--istio-version", "1.23")).code).toBe(2);
  });

  test("-o - writes one multi-document YAML stream of what kubectl apply -k would apply", async () => {
    const r = await run("generate", "-c", EXAMPLE, "-o", "-");
    expect(r.code, r.err).toBe(0);
    const docs = parseAllDocuments(r.out).map((d) => d.toJS());
    expect(docs.map((d) => d.kind)).toEqual([
      "EnvoyFilter",
      "VirtualService",
      "DestinationRule",
      "AuthorizationPolicy",
      "PeerAuthentication",
    ]);
    expect(r.err).toMatch(/all \d+ objects valid/);
    expect(r.out).not.toContain("wrote");
  });

  test("--dry-run lists what would be written and writes nothing", async () => {
    const out = path.join(tmp(), "out");
    const r = await run("generate", "-c", EXAMPLE, "-o", out, "--dry-run");
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain(`would write ${path.join(out, "wasm-envoyfilter.yaml")}`);
    expect(existsSync(out)).toBe(false);
  });
});

describe("kubectl-style habits", () => {
  test("--version prints the package version", async () => {
    const r = await run("--version");
    expect(r.code).toBe(0);
    expect(r.out.trim()).toBe(JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")).version);
  });

  test("user errors: one line naming the problem and the expected type, exit 2, no stack trace", async () => {
    const dir = tmp();
    const notWasm = path.join(dir, "x.wasm");
    writeFileSync(notWasm, "hello");
    const list = path.join(dir, "list.yaml");
    writeFileSync(list, "- a\n- b\n");
    const existing = path.join(dir, "file.txt");
    writeFileSync(existing, "x");
    const cases: Array<[string[], RegExp]> = [
      [["validate", dir], /is a directory; expected a router config file/],
      [["validate", path.join(dir, "nope.yaml")], /not found; expected a router config file/],
      [["validate", list], /holds a list; expected a router config file/],
      [["validate", notWasm], /holds a string; expected a router config file/],
      [["generate", "-c", dir, "-o", path.join(dir, "o")], /is a directory; expected a router config file/],
      [["generate", "-c", EXAMPLE, "-o", existing], /is an existing file; expected a directory/],
      [
        ["generate", "-c", EXAMPLE, "-o", path.join(dir, "o"), "--wasm", notWasm],
        /is not a WebAssembly module.*expected a WebAssembly module/,
      ],
      [["generate", "-c", EXAMPLE, "-o", path.join(dir, "o"), "--wasm", dir], /is a directory; expected a WebAssembly module/],
      [["package", "--wasm", notWasm, "-o", path.join(dir, "p.tar")], /expected a WebAssembly module/],
      [["package", "--wasm", path.join(dir, "none.wasm")], /not found; expected a WebAssembly module/],
      [["schema", "-o", dir], /is a directory; expected a file path/],
      [["local", "-c", EXAMPLE, "-o", existing], /is an existing file; expected a directory/],
    ];
    for (const [argv, msg] of cases) {
      const r = await run(...argv);
      expect(r.code, argv.join(" ")).toBe(2);
      expect(r.err, argv.join(" ")).toMatch(msg);
      expect(r.err.trim().split("\n"), argv.join(" ")).toHaveLength(1);
      expect(r.err).not.toMatch(/\n\s+at /);
    }
  });

  test("validate accepts every config the project ships", async () => {
    const shipped = readdirSync(path.join(ROOT, "examples")).filter((f) => /\.ya?ml$/.test(f));
    expect(shipped.length).toBeGreaterThanOrEqual(3);
    for (const f of shipped) {
      const r = await run("validate", path.join(ROOT, "examples", f));
      expect(r.code, `${f}: ${r.err}`).toBe(0);
    }
  });
});

describe("inference-router validate-output", () => {
  test("a misspelt Envoy field and an invalid Istio enum in fixtures are caught", async () => {
    const r = await run("validate-output", path.join(ROOT, "test", "toolkit", "fixtures"));
    expect(r.code).toBe(1);
    expect(r.err).toMatch(
      /misspelt-envoy-field\.yaml: spec\.configPatches\[0\]\.patch\.value\.typed_config\.config\.root_idd: unknown field "root_idd".*did you mean "root_id"/,
    );
    expect(r.err).toMatch(/override_host_source: unknown field .*did you mean "override_host_sources"/);
    expect(r.err).toMatch(
      /invalid-istio-enum\.yaml: spec\.failStrategy: must be equal to one of the allowed values \(allowed: FAIL_CLOSE, FAIL_OPEN, FAIL_RELOAD\)/,
    );
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
    expect(envoy.static_resources.clusters.map((c: { name: string }) => c.name)).toEqual([
      "a100",
      "l4",
      "metrics-a100",
      "metrics-l4",
      ...sims.map((s) => `metrics-sim-${s}`),
    ]);
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

  test("--envoy-image refuses an Envoy older than the config needs, naming the feature and its minimum", async () => {
    const dir = tmp();
    const body = await run("local", "-c", EXAMPLE, "-o", path.join(dir, "a"), "--envoy-image", "envoyproxy/envoy:v1.34.0");
    expect(body.code).toBe(1);
    expect(body.err).toMatch(/body mode .* needs Envoy >= 1\.35; the target is Envoy 1\.34/);
    const cfg = parse(readFileSync(EXAMPLE, "utf8"));
    cfg.body = { enabled: false };
    cfg.steering = "endpoint";
    cfg.pools[0].endpoints = ["10.0.0.1:8000"];
    cfg.pools[1].endpoints = ["10.0.0.2:8000"];
    const ep = path.join(dir, "ep.yaml");
    writeFileSync(ep, JSON.stringify(cfg));
    const r = await run("local", "-c", ep, "-o", path.join(dir, "b"), "--envoy-image", "envoyproxy/envoy:distroless-v1.34.2");
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/override_host.* needs Envoy >= 1\.35; the target is Envoy 1\.34/);
    expect((await run("local", "-c", ep, "-o", path.join(dir, "c"), "--envoy-image", "envoyproxy/envoy:v1.35.0", "--dry-run")).code).toBe(
      0,
    );
    expect((await run("local", "-c", ep, "-o", path.join(dir, "c"), "--envoy-image", "envoyproxy/envoy:latest")).code).toBe(2);
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
    expect(
      untar(tarBuf)
        .map((e) => e.name)
        .slice(0, 2),
    ).toEqual(["oci-layout", "index.json"]);
    expect(JSON.stringify(back.index)).toContain('"org.opencontainers.image.ref.name":"0.1.0"');
    // The exact lines to put in the router config: the manifest digest for oci://, never the module hash.
    const manifest = packageWasm(WASM).manifest.digest.replace("sha256:", "");
    expect(r.out).toContain(`wasm: { url: oci://REGISTRY/REPO:0.1.0, sha256: ${manifest} }`);
    expect(r.out).toContain(`oci://REGISTRY/REPO@sha256:${manifest}`);
    // Reproducible: same module, same bytes.
    expect(packageWasm(WASM, { tag: "0.1.0" }).tar.equals(tarBuf)).toBe(true);
    writeFileSync(wasm, "not wasm");
    expect((await run("package", "--wasm", wasm, "-o", out)).code).toBe(2);
    expect((await run("package", "--wasm", path.join(dir, "none.wasm"))).code).toBe(2);
  });
});
