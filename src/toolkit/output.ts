// Writing generated files and validating a directory of them (`inference-router validate-output`).
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { parseAllDocuments } from "yaml";
import { renderFile, type OutputFile } from "./generate.js";
import { validateStatsDoc } from "./observability.js";
import { type Problem, validateBootstrap, validateCompose, validateK8sObject } from "./validate.js";

export function writeFiles(dir: string, files: OutputFile[]): string[] {
  const written: string[] = [];
  for (const f of files) {
    const p = path.join(dir, f.path);
    mkdirSync(path.dirname(p), { recursive: true });
    writeFileSync(p, renderFile(f));
    written.push(p);
  }
  return written;
}

function yamlFiles(dir: string, base = dir): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) out.push(...yamlFiles(p, base));
    else if (/\.ya?ml$/.test(name)) out.push(p);
  }
  return out;
}

/** Validates every YAML file under `dir`: Istio objects, Envoy bootstraps, compose files. */
export function validateOutputDir(dir: string, opts: { istio?: string } = {}): { problems: Problem[]; checked: string[] } {
  const problems: Problem[] = [];
  const checked: string[] = [];
  const files = statSync(dir).isDirectory() ? yamlFiles(dir) : [dir];
  for (const file of files) {
    const rel = path.relative(process.cwd(), file) || file;
    checked.push(rel);
    const docs = parseAllDocuments(readFileSync(file, "utf8"));
    const list = Array.isArray(docs) ? docs : [docs];
    list.forEach((doc, i) => {
      const where = list.length > 1 ? `${rel}#${i}` : rel;
      if (doc.errors.length > 0) {
        problems.push(...doc.errors.map((e) => ({ file: where, path: "$", message: e.message.split("\n")[0]! })));
        return;
      }
      const v = doc.toJS() as Record<string, unknown> | null;
      if (v === null) return;
      const base = path.basename(file);
      if (typeof v["kind"] === "string" && typeof v["apiVersion"] === "string") problems.push(...validateK8sObject(v, where, opts));
      else if ("static_resources" in v || "admin" in v || "dynamic_resources" in v) problems.push(...validateBootstrap(v, where));
      else if ("stats_config" in v || "meshConfig" in v) problems.push(...validateStatsDoc(v, where));
      else if ("services" in v || /compose/.test(base)) problems.push(...validateCompose(v, where));
      else
        problems.push({ file: where, path: "$", message: "unrecognised YAML (not a Kubernetes object, Envoy bootstrap or compose file)" });
    });
  }
  return { problems, checked };
}
