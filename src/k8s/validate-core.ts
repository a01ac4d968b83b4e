// Validation of the plain Kubernetes and Gateway API objects the toolkit generates (sync's Deployment and RBAC,
// ambient's per-pool Services and HTTPRoute), with the schemas of `kubernetes-models` (Kubernetes 1.x core API) and
// `@kubernetes-models/gateway-api` (HTTPRoute v1). Istio kinds go to the toolkit's validator.
import { HTTPRoute } from "@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1/HTTPRoute";
import { Deployment } from "kubernetes-models/apps/v1/Deployment";
import { ConfigMap } from "kubernetes-models/v1/ConfigMap";
import { Service } from "kubernetes-models/v1/Service";
import { ServiceAccount } from "kubernetes-models/v1/ServiceAccount";
import { Role } from "kubernetes-models/rbac.authorization.k8s.io/v1/Role";
import { RoleBinding } from "kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding";
import { type Problem, validateK8sObject } from "../toolkit/validate.js";

type Ctor = new (data: any) => { validate(): void };
const CORE: Record<string, Ctor> = {
  "apps/v1/Deployment": Deployment as unknown as Ctor,
  "v1/ConfigMap": ConfigMap as unknown as Ctor,
  "v1/Service": Service as unknown as Ctor,
  "v1/ServiceAccount": ServiceAccount as unknown as Ctor,
  "rbac.authorization.k8s.io/v1/Role": Role as unknown as Ctor,
  "rbac.authorization.k8s.io/v1/RoleBinding": RoleBinding as unknown as Ctor,
  "gateway.networking.k8s.io/v1/HTTPRoute": HTTPRoute as unknown as Ctor,
};

/** Validates any object the toolkit writes: core and Gateway API kinds here, Istio kinds by the toolkit. */
export function validateObject(obj: Record<string, unknown>, file: string): Problem[] {
  const key = `${String(obj["apiVersion"])}/${String(obj["kind"])}`;
  const Model = CORE[key];
  if (!Model) return validateK8sObject(obj, file);
  const problems: Problem[] = [];
  const meta = obj["metadata"] as Record<string, unknown> | undefined;
  if (!meta || typeof meta["name"] !== "string") problems.push({ file, path: "metadata.name", message: "metadata.name is required" });
  try {
    new Model(obj).validate();
  } catch (e) {
    const errs = (e as { errors?: Array<{ instancePath?: string; message?: string }> }).errors;
    if (errs)
      for (const x of errs)
        problems.push({
          file,
          path: (x.instancePath ?? "").replace(/^\//, "").replace(/\//g, ".") || "$",
          message: x.message ?? "invalid",
        });
    else problems.push({ file, path: "$", message: String((e as Error).message) });
  }
  return problems;
}
