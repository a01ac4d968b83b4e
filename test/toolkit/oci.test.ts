// For oci:// urls Istio's agent checks the image MANIFEST digest (istio/istio pkg/wasm/imagefetcher.go img.Digest(),
// pkg/wasm/cache.go), not the module's hash. The digest the toolkit writes is derived here from the OCI layout that
// `package` writes, read with the system `tar` and plain sha256 — none of the toolkit's own OCI code.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, test } from "vitest";
import { parse } from "yaml";
import { EXAMPLE, run, tmp } from "./helpers.js";

const WASM = readFileSync(path.join(import.meta.dirname, "..", "..", "build", "inference-router.wasm"));
const sha256 = (b: Buffer) => createHash("sha256").update(b).digest("hex");

/** The manifest digest a registry would serve for the layout's tag, derived from the extracted layout only. */
function manifestDigestFromLayout(dir: string, tag: string): string {
  const index = JSON.parse(readFileSync(path.join(dir, "index.json"), "utf8")) as {
    manifests: Array<{ digest: string; annotations?: Record<string, string> }>;
  };
  const desc = index.manifests.find((m) => m.annotations?.["org.opencontainers.image.ref.name"] === tag)!;
  const blob = readFileSync(path.join(dir, "blobs", "sha256", desc.digest.replace("sha256:", "")));
  // The registry names a manifest by the sha256 of its bytes; the index must agree with the blob.
  expect(`sha256:${sha256(blob)}`).toBe(desc.digest);
  const manifest = JSON.parse(blob.toString()) as { layers: Array<{ digest: string }> };
  // …and the layer holds exactly this module.
  const layer = path.join(dir, "blobs", "sha256", manifest.layers[0]!.digest.replace("sha256:", ""));
  const out = path.join(dir, "layer");
  mkdirSync(out);
  execFileSync("tar", ["-xzf", layer, "-C", out]);
  expect(readFileSync(path.join(out, "plugin.wasm")).equals(WASM)).toBe(true);
  return sha256(blob);
}

describe("OCI: the WasmPlugin carries the image manifest digest", () => {
  test("package prints it; generate --wasm writes it for oci:// urls; https:// keeps the module hash", async () => {
    const dir = tmp();
    const wasm = path.join(dir, "m.wasm");
    writeFileSync(wasm, WASM);
    const tarFile = path.join(dir, "img.tar");
    const p = await run("package", "--wasm", wasm, "-o", tarFile, "--tag", "0.1.0");
    expect(p.code, p.err).toBe(0);
    const layout = path.join(dir, "layout");
    mkdirSync(layout);
    execFileSync("tar", ["-xf", tarFile, "-C", layout]);
    const manifest = manifestDigestFromLayout(layout, "0.1.0");
    expect(manifest).not.toBe(sha256(WASM));
    expect(p.out).toContain(`sha256: ${manifest}`);
    expect(p.out).toContain(`@sha256:${manifest}`);

    const cfg = parse(readFileSync(EXAMPLE, "utf8"));
    cfg.body = { enabled: false };
    cfg.wasm = { url: "oci://registry.example/ir:0.1.0" };
    const oci = path.join(dir, "oci.yaml");
    writeFileSync(oci, JSON.stringify(cfg));
    const g = await run("generate", "-c", oci, "-o", path.join(dir, "out"), "--wasm", wasm);
    expect(g.code, g.err).toBe(0);
    const wp = parse(readFileSync(path.join(dir, "out", "wasmplugin.yaml"), "utf8"));
    expect(wp.spec.sha256).toBe(manifest);
    expect(readFileSync(path.join(dir, "out", "alternatives", "wasm-envoyfilter.yaml"), "utf8")).toContain(`sha256: ${manifest}`);

    // A url pinned by digest: that digest is what the agent checks, and what goes into sha256.
    cfg.wasm = { url: `oci://registry.example/ir@sha256:${manifest}` };
    writeFileSync(oci, JSON.stringify(cfg));
    expect((await run("generate", "-c", oci, "-o", path.join(dir, "pinned"))).code).toBe(0);
    expect(parse(readFileSync(path.join(dir, "pinned", "wasmplugin.yaml"), "utf8")).spec.sha256).toBe(manifest);

    cfg.wasm = { url: "https://example.com/ir.wasm" };
    writeFileSync(oci, JSON.stringify(cfg));
    expect((await run("generate", "-c", oci, "-o", path.join(dir, "https"), "--wasm", wasm)).code).toBe(0);
    expect(parse(readFileSync(path.join(dir, "https", "wasmplugin.yaml"), "utf8")).spec.sha256).toBe(sha256(WASM));
  });
});
