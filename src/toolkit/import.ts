// `inference-router import -f objects.yaml`: a router config from objects that already describe the model servers —
// KServe InferenceService (+ ServingRuntime), GIE InferencePool (+ InferenceModel for model names), or Services
// labelled for the router. Every object is untrusted input: malformed ones are reported and skipped. The result is
// checked by the router-config schema; whatever could not be inferred is said, with the default used.
import { parseAllDocuments, stringify } from "yaml";
import { checkRouterConfig } from "./load.js";
import type { RouterConfig } from "../config/router-config.js";

/** Labels/annotations a plain Service can carry to be imported as a pool. */
export const IMPORT_LABEL_POOL = "inference-router.io/pool";
export const IMPORT_ANNOTATION_MODELS = "inference-router.io/models";
export const IMPORT_ANNOTATION_ENGINE = "inference-router.io/engine";
export const IMPORT_LABEL_GPU = "inference-router.io/gpu";

export interface ImportOptions {
  name?: string;
  /** Pod labels of the clients whose sidecars run the filter (`app=chat`). */
  workloadLabels?: Record<string, string>;
  wasmUrl?: string;
}

export interface ImportResult {
  config?: RouterConfig;
  /** The config as written (defaults left implicit). */
  raw: Record<string, unknown>;
  notes: string[];
  problems: string[];
}

type Obj = Record<string, any>;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const MODEL = /^[\x21-\x7e]{1,128}$/;

function engineOf(image: string | undefined, hint?: string): string | undefined {
  const s = `${hint ?? ""} ${image ?? ""}`.toLowerCase();
  if (/sglang/.test(s)) return "sglang";
  if (/tensorrt|trtllm|trt-llm/.test(s)) return /triton/.test(s) ? "triton-trtllm" : "trtllm";
  if (/triton/.test(s)) return "triton";
  if (/vllm|huggingface/.test(s)) return "vllm";
  return undefined;
}

function argValue(args: unknown, flag: string): string | undefined {
  if (!Array.isArray(args)) return undefined;
  for (let i = 0; i < args.length; i++) {
    const a = String(args[i]);
    if (a === flag && i + 1 < args.length) return String(args[i + 1]);
    if (a.startsWith(`${flag}=`)) return a.slice(flag.length + 1);
  }
  return undefined;
}

function gpuOf(spec: Obj | undefined): string {
  const sel = spec?.nodeSelector ?? {};
  const product = sel["nvidia.com/gpu.product"] ?? sel["cloud.google.com/gke-accelerator"] ?? sel["karpenter.k8s.aws/instance-gpu-name"];
  return typeof product === "string"
    ? product
        .toLowerCase()
        .replace(/[^a-z0-9._-]/g, "-")
        .slice(0, 32)
    : "";
}

export function importObjects(text: string, o: ImportOptions = {}): ImportResult {
  const notes: string[] = [];
  const problems: string[] = [];
  const objs: Obj[] = [];
  for (const d of parseAllDocuments(text)) {
    if (d.errors.length) {
      problems.push(`YAML: ${d.errors[0]!.message}`);
      continue;
    }
    const v = d.toJS({ maxAliasCount: 100 });
    if (v && typeof v === "object" && v.kind === "List" && Array.isArray(v.items))
      objs.push(...v.items.filter((x: unknown) => x && typeof x === "object"));
    else if (v && typeof v === "object") objs.push(v);
  }
  const runtimes = new Map<string, Obj>();
  for (const x of objs)
    if (/^serving\.kserve\.io\//.test(x.apiVersion) && /ServingRuntime$/.test(x.kind) && typeof x.metadata?.name === "string")
      runtimes.set(x.metadata.name, x);
  const pools: Obj[] = [];
  const namespaces = new Set<string>();
  const add = (pool: Obj, ns: string | undefined, what: string) => {
    if (!DNS_LABEL.test(pool.name)) {
      problems.push(`${what}: name "${pool.name}" is not a DNS label: skipped`);
      return;
    }
    if (pools.some((p) => p.name === pool.name)) {
      problems.push(`${what}: a pool named "${pool.name}" already exists: skipped`);
      return;
    }
    pool.models = (pool.models as string[]).filter((m) => MODEL.test(m));
    if (pool.models.length === 0)
      notes.push(`${what}: could not infer the model name(s): pool "${pool.name}" serves none until you add models (or enable discovery)`);
    if (ns) namespaces.add(ns);
    pools.push(pool);
  };
  for (const x of objs) {
    const name = x.metadata?.name,
      ns = x.metadata?.namespace;
    if (typeof name !== "string") continue;
    const what = `${x.kind} ${ns ?? "?"}/${name}`;
    if (/^serving\.kserve\.io\//.test(x.apiVersion) && x.kind === "InferenceService") {
      const pred = x.spec?.predictor ?? {};
      const model = pred.model ?? {};
      const rt = typeof model.runtime === "string" ? runtimes.get(model.runtime) : undefined;
      const container = (rt?.spec?.containers ?? pred.containers ?? [])[0];
      const args = [...(Array.isArray(model.args) ? model.args : []), ...(Array.isArray(container?.args) ? container.args : [])];
      // KServe's huggingface/vLLM runtimes serve the model under --model_name, defaulting to the InferenceService name.
      const served = argValue(args, "--model_name") ?? argValue(args, "--served-model-name") ?? name;
      const engine = engineOf(container?.image, `${model.modelFormat?.name ?? ""} ${model.runtime ?? ""}`);
      if (!engine) notes.push(`${what}: could not tell the model server from the runtime: metrics preset vllm assumed`);
      if (model.runtime && !rt)
        notes.push(`${what}: ServingRuntime ${model.runtime} not among the objects: engine guessed from the model format`);
      // Raw deployment mode: Service <name>-predictor, port 80 → the container's 8080 (KServe's defaults).
      add(
        {
          name,
          models: [served],
          gpu: gpuOf(pred),
          service: { host: `${name}-predictor`, port: 80 },
          metrics: { engine: engine ?? "vllm", port: 8080, path: "/metrics" },
        },
        ns,
        what,
      );
      notes.push(
        `${what}: Service ${name}-predictor:80 assumed (KServe RawDeployment); in Serverless mode point pools[].service at the Knative service`,
      );
    } else if (/^inference\.networking\.(x-)?k8s\.io\//.test(x.apiVersion) && x.kind === "InferencePool") {
      const ports = Array.isArray(x.spec?.targetPorts) ? x.spec.targetPorts.map((p: Obj) => p?.number) : [x.spec?.targetPortNumber];
      const models = objs
        .filter((m) => (m.kind === "InferenceModel" || m.kind === "InferenceObjective") && m.spec?.poolRef?.name === name)
        .map((m) => m.spec?.modelName)
        .filter((m): m is string => typeof m === "string");
      add({ name, models, metrics: { engine: "vllm", path: "/metrics" } }, ns, what);
      notes.push(
        `${what}: selects pods ${JSON.stringify(x.spec?.selector?.matchLabels ?? x.spec?.selector ?? {})} on port ${ports[0] ?? "?"}: there is no Service to route to; ` +
          `steer by endpoint and keep endpoints current with \`inference-router sync --source inferencepools\``,
      );
    } else if (x.apiVersion === "v1" && x.kind === "Service" && typeof x.metadata?.labels?.[IMPORT_LABEL_POOL] === "string") {
      const ann = x.metadata?.annotations ?? {};
      const port = (x.spec?.ports ?? [])[0]?.port;
      add(
        {
          name: x.metadata.labels[IMPORT_LABEL_POOL],
          gpu: String(x.metadata.labels[IMPORT_LABEL_GPU] ?? ""),
          models: String(ann[IMPORT_ANNOTATION_MODELS] ?? "")
            .split(",")
            .map((s) => s.trim())
            .filter(Boolean),
          service: { host: name, port: typeof port === "number" ? port : 80 },
          ...(ann[IMPORT_ANNOTATION_ENGINE] ? { metrics: { engine: ann[IMPORT_ANNOTATION_ENGINE], path: "/metrics" } } : {}),
        },
        ns,
        what,
      );
    }
  }
  if (pools.length === 0) {
    problems.push(`nothing to import: no InferenceService, InferencePool or Service labelled ${IMPORT_LABEL_POOL}`);
    return { raw: {}, notes, problems };
  }
  const ns = [...namespaces][0] ?? "default";
  if (namespaces.size > 1)
    notes.push(
      `objects span namespaces ${[...namespaces].join(", ")}: the router config uses ${ns}; services elsewhere are written as FQDNs`,
    );
  for (const p of pools) if (p.service && namespaces.size > 1) p.service.host = `${p.service.host}.${ns}.svc.cluster.local`;
  const endpointMode = pools.some((p) => !p.service);
  const first = pools.find((p) => p.service);
  const raw: Record<string, unknown> = {
    name: o.name ?? "inference-router",
    namespace: ns,
    workload: { selector: { matchLabels: o.workloadLabels ?? { "inference-router.io/client": "true" } } },
    frontend: first ? { host: first.service.host, port: first.service.port } : { host: pools[0]!.name, port: 8000 },
    wasm: { url: o.wasmUrl ?? "oci://ghcr.io/example/inference-router:0.1.0" },
    steering: endpointMode ? "endpoint" : "pool",
    pools: pools.map((p) => (endpointMode && !p.service ? { ...p, endpoints: ["192.0.2.1:8000"] } : p)),
  };
  if (!o.workloadLabels)
    notes.push(
      "could not infer which workloads call the models: workload selects pods labelled inference-router.io/client=true (pass --workload key=value)",
    );
  if (!first) notes.push(`no Service found for any pool: frontend ${pools[0]!.name}:8000 is a placeholder`);
  else notes.push(`frontend (the service clients call) assumed to be ${first.service.host}:${first.service.port}`);
  if (endpointMode)
    notes.push(
      "endpoint steering: pools without a Service got the placeholder endpoint 192.0.2.1:8000 (TEST-NET); `sync` replaces it with the ready pods",
    );
  if (!o.wasmUrl) notes.push("wasm.url defaults to oci://ghcr.io/example/inference-router:0.1.0 (pass --wasm-url)");
  const checked = checkRouterConfig(raw, "imported");
  for (const p of checked.problems) problems.push(`${p.path}: ${p.message}`);
  return { ...(checked.config ? { config: checked.config } : {}), raw, notes, problems };
}

export function renderImported(r: ImportResult): string {
  return `# Imported by inference-router import. Not inferred (defaults used):\n${r.notes.map((n) => `#  - ${n}`).join("\n")}\n${stringify(r.raw, { lineWidth: 0 })}`;
}
