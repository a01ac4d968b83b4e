// `inference-router package`: the .wasm as an OCI image layout tar in the Wasm OCI image "compat"
// variant Istio pulls: one layer (application/vnd.oci.image.layer.v1.tar+gzip) holding plugin.wasm,
// config application/vnd.oci.image.config.v1+json. Deterministic: same module → same digests.
// Push with e.g. `oras cp --from-oci-layout out.tar:TAG registry/repo:TAG` or `crane push out.tar registry/repo:TAG`
// after `tar -xf` into a directory.
import { createHash } from "node:crypto";
import { gunzipSync, gzipSync } from "node:zlib";

export const MEDIA_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
export const MEDIA_INDEX = "application/vnd.oci.image.index.v1+json";
export const MEDIA_CONFIG = "application/vnd.oci.image.config.v1+json";
export const MEDIA_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip";

export interface TarEntry {
  name: string;
  data: Buffer;
  type?: "file" | "dir";
}

function octal(n: number, width: number): string {
  return n.toString(8).padStart(width - 1, "0") + "\0";
}

/** A POSIX ustar archive, mtime 0, uid/gid 0, mode 0644/0755: byte-for-byte reproducible. */
export function tar(entries: TarEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const isDir = e.type === "dir";
    const name = isDir && !e.name.endsWith("/") ? `${e.name}/` : e.name;
    if (Buffer.byteLength(name) > 100) throw new Error(`tar entry name too long: ${name}`);
    const h = Buffer.alloc(512, 0);
    h.write(name, 0, 100, "utf8");
    h.write(octal(isDir ? 0o755 : 0o644, 8), 100, "ascii");
    h.write(octal(0, 8), 108, "ascii");
    h.write(octal(0, 8), 116, "ascii");
    h.write(octal(isDir ? 0 : e.data.length, 12), 124, "ascii");
    h.write(octal(0, 12), 136, "ascii");
    h.write("        ", 148, "ascii");
    h.write(isDir ? "5" : "0", 156, "ascii");
    h.write("ustar\0", 257, "ascii");
    h.write("00", 263, "ascii");
    let sum = 0;
    for (const b of h) sum += b;
    h.write(sum.toString(8).padStart(6, "0") + "\0 ", 148, "ascii");
    parts.push(h);
    if (!isDir) {
      parts.push(e.data);
      const pad = (512 - (e.data.length % 512)) % 512;
      if (pad) parts.push(Buffer.alloc(pad, 0));
    }
  }
  parts.push(Buffer.alloc(1024, 0));
  return Buffer.concat(parts);
}

/** Reads a ustar archive (the subset `tar()` writes, plus GNU/pax-free archives from other tools). */
export function untar(buf: Buffer): TarEntry[] {
  const out: TarEntry[] = [];
  let off = 0;
  while (off + 512 <= buf.length) {
    const h = buf.subarray(off, off + 512);
    if (h.every((b) => b === 0)) break;
    const str = (s: number, l: number) =>
      h
        .subarray(s, s + l)
        .toString("utf8")
        .replace(/\0.*$/s, "");
    const prefix = str(345, 155);
    const name = prefix ? `${prefix}/${str(0, 100)}` : str(0, 100);
    const size = parseInt(str(124, 12).trim() || "0", 8);
    const type = str(156, 1);
    off += 512;
    if (type === "5") out.push({ name, data: Buffer.alloc(0), type: "dir" });
    else out.push({ name, data: Buffer.from(buf.subarray(off, off + size)), type: "file" });
    off += Math.ceil(size / 512) * 512;
  }
  return out;
}

export function sha256(data: Buffer | string): string {
  return createHash("sha256").update(data).digest("hex");
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
}

export interface OciPackage {
  tar: Buffer;
  manifest: Descriptor;
  config: Descriptor;
  layer: Descriptor;
  wasmSha256: string;
}

/** Builds the OCI image layout tar for a module. `tag` goes in index.json as org.opencontainers.image.ref.name. */
export function packageWasm(wasm: Buffer, opts: { tag?: string; title?: string } = {}): OciPackage {
  if (wasm.length < 8 || wasm.readUInt32BE(0) !== 0x0061736d) throw new Error("not a WebAssembly module (missing \\0asm magic)");
  const layerTar = tar([{ name: "plugin.wasm", data: wasm }]);
  // gzip header mtime is 0 and OS byte fixed by zlib: reproducible.
  const layerGz = gzipSync(layerTar, { level: 9 });
  const layer: Descriptor = {
    mediaType: MEDIA_LAYER,
    digest: `sha256:${sha256(layerGz)}`,
    size: layerGz.length,
    annotations: { "org.opencontainers.image.title": "plugin.wasm" },
  };
  const configJson = Buffer.from(
    JSON.stringify({
      architecture: "wasm",
      os: "wasip1",
      rootfs: { type: "layers", diff_ids: [`sha256:${sha256(layerTar)}`] },
      config: {},
    }),
  );
  const config: Descriptor = { mediaType: MEDIA_CONFIG, digest: `sha256:${sha256(configJson)}`, size: configJson.length };
  const manifestJson = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MEDIA_MANIFEST,
      config,
      layers: [layer],
      annotations: { "org.opencontainers.image.title": opts.title ?? "inference-router" },
    }),
  );
  const manifest: Descriptor = { mediaType: MEDIA_MANIFEST, digest: `sha256:${sha256(manifestJson)}`, size: manifestJson.length };
  const index = {
    schemaVersion: 2,
    mediaType: MEDIA_INDEX,
    manifests: [{ ...manifest, annotations: { "org.opencontainers.image.ref.name": opts.tag ?? "latest" } }],
  };
  const blob = (d: Descriptor) => `blobs/sha256/${d.digest.slice("sha256:".length)}`;
  const out = tar([
    { name: "oci-layout", data: Buffer.from(JSON.stringify({ imageLayoutVersion: "1.0.0" })) },
    { name: "index.json", data: Buffer.from(JSON.stringify(index)) },
    { name: "blobs", data: Buffer.alloc(0), type: "dir" },
    { name: "blobs/sha256", data: Buffer.alloc(0), type: "dir" },
    { name: blob(manifest), data: manifestJson },
    { name: blob(config), data: configJson },
    { name: blob(layer), data: layerGz },
  ]);
  return { tar: out, manifest, config, layer, wasmSha256: sha256(wasm) };
}

/** Reads an OCI layout tar back and returns the module, checking every digest on the way. */
export function readWasmFromLayout(buf: Buffer): { wasm: Buffer; manifest: Record<string, unknown>; index: Record<string, unknown> } {
  const files = new Map(
    untar(buf)
      .filter((e) => e.type !== "dir")
      .map((e) => [e.name, e.data]),
  );
  const layout = JSON.parse(files.get("oci-layout")?.toString() ?? "null") as { imageLayoutVersion?: string } | null;
  if (layout?.imageLayoutVersion !== "1.0.0") throw new Error("oci-layout missing or not 1.0.0");
  const index = JSON.parse(files.get("index.json")?.toString() ?? "null") as { manifests: Descriptor[] };
  const get = (d: Descriptor): Buffer => {
    const data = files.get(`blobs/sha256/${d.digest.replace(/^sha256:/, "")}`);
    if (!data) throw new Error(`blob ${d.digest} missing`);
    if (`sha256:${sha256(data)}` !== d.digest || data.length !== d.size) throw new Error(`blob ${d.digest} digest or size mismatch`);
    return data;
  };
  const manifest = JSON.parse(get(index.manifests[0]!).toString()) as { config: Descriptor; layers: Descriptor[] };
  if (manifest.config.mediaType !== MEDIA_CONFIG) throw new Error(`config mediaType ${manifest.config.mediaType}`);
  get(manifest.config);
  if (manifest.layers.length !== 1 || manifest.layers[0]!.mediaType !== MEDIA_LAYER) throw new Error("expected one tar+gzip layer");
  const entries = untar(gunzipSync(get(manifest.layers[0]!)));
  const wasm = entries.find((e) => e.name === "plugin.wasm");
  if (!wasm) throw new Error("layer has no plugin.wasm");
  return { wasm: wasm.data, manifest: manifest as unknown as Record<string, unknown>, index: index as unknown as Record<string, unknown> };
}
