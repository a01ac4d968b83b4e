// `import`: router configs from KServe, GIE and labelled Services that validate and generate without edits, and a
// clear account of what was not inferred.
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { main } from "../../src/cli.js";
import { generate, validateGenerated } from "../../src/toolkit/generate.js";
import { importObjects } from "../../src/toolkit/import.js";
import { loadRouterConfig } from "../../src/toolkit/load.js";

const KSERVE = `apiVersion: serving.kserve.io/v1alpha1
kind: ServingRuntime
metadata: { name: kserve-vllm, namespace: llm }
spec:
  supportedModelFormats: [{ name: huggingface, version: "1", autoSelect: true }]
  containers:
    - name: kserve-container
      image: kserve/huggingfaceserver:v0.15.0-gpu
      args: ["--backend=vllm"]
---
apiVersion: serving.kserve.io/v1beta1
kind: InferenceService
metadata: { name: llama-70b, namespace: llm }
spec:
  predictor:
    nodeSelector: { nvidia.com/gpu.product: NVIDIA-A100-SXM4-80GB }
    model:
      modelFormat: { name: huggingface }
      runtime: kserve-vllm
      args: ["--model_name=llama-3.1-70b-instruct", "--model_id=meta-llama/Llama-3.1-70B-Instruct"]
      resources: { limits: { nvidia.com/gpu: "4" } }
---
apiVersion: serving.kserve.io/v1beta1
kind: InferenceService
metadata: { name: qwen-7b, namespace: llm }
spec:
  predictor:
    model:
      modelFormat: { name: huggingface }
      storageUri: hf://Qwen/Qwen2.5-7B-Instruct
`;

const GIE = `apiVersion: inference.networking.k8s.io/v1
kind: InferencePool
metadata: { name: vllm-llama3-8b, namespace: llm }
spec:
  selector: { matchLabels: { app: vllm-llama3-8b } }
  targetPorts: [{ number: 8000 }]
  endpointPickerRef: { name: vllm-llama3-8b-epp, port: { number: 9002 } }
---
apiVersion: inference.networking.x-k8s.io/v1alpha2
kind: InferenceModel
metadata: { name: base, namespace: llm }
spec: { modelName: meta-llama/Llama-3.1-8B-Instruct, poolRef: { name: vllm-llama3-8b } }
`;

const SERVICES = `apiVersion: v1
kind: List
items:
  - apiVersion: v1
    kind: Service
    metadata:
      name: vllm-a100
      namespace: llm
      labels: { inference-router.io/pool: a100, inference-router.io/gpu: a100 }
      annotations: { inference-router.io/models: "llama-3.1-70b-instruct, llama-3.1-8b-instruct", inference-router.io/engine: vllm }
    spec: { ports: [{ name: http, port: 8000, targetPort: 8000 }], selector: { app: vllm-a100 } }
  - apiVersion: v1
    kind: Service
    metadata: { name: unrelated, namespace: llm }
    spec: { ports: [{ port: 80 }] }
`;

function generatesClean(text: string) {
  const r = importObjects(text, { workloadLabels: { app: "chat" } });
  expect(r.problems).toEqual([]);
  const result = generate(r.config!);
  expect(validateGenerated(r.config!, result, "imported.yaml")).toEqual([]);
  return r;
}

describe("import", () => {
  it("KServe InferenceServices + ServingRuntime: one pool each, served model names, predictor Services, engine, GPU", () => {
    const r = generatesClean(KSERVE);
    expect(r.config!.steering).toBe("pool");
    expect(r.config!.pools.map((p) => [p.name, p.models, p.service, p.metrics?.engine, p.gpu])).toEqual([
      ["llama-70b", ["llama-3.1-70b-instruct"], { host: "llama-70b-predictor", port: 80 }, "vllm", "nvidia-a100-sxm4-80gb"],
      ["qwen-7b", ["qwen-7b"], { host: "qwen-7b-predictor", port: 80 }, "vllm", ""],
    ]);
    expect(r.notes.join("\n")).toMatch(/frontend .* assumed to be llama-70b-predictor:80/);
  });

  it("GIE InferencePool + InferenceModel: endpoint steering with a placeholder endpoint, and says sync fills it", () => {
    const r = generatesClean(GIE);
    expect(r.config!.steering).toBe("endpoint");
    expect(r.config!.pools[0]).toMatchObject({
      name: "vllm-llama3-8b",
      models: ["meta-llama/Llama-3.1-8B-Instruct"],
      endpoints: ["192.0.2.1:8000"],
    });
    expect(r.notes.join("\n")).toMatch(/sync --source inferencepools/);
  });

  it("Services labelled inference-router.io/pool (in a List); others are ignored", () => {
    const r = generatesClean(SERVICES);
    expect(r.config!.pools.map((p) => [p.name, p.models, p.service, p.gpu])).toEqual([
      ["a100", ["llama-3.1-70b-instruct", "llama-3.1-8b-instruct"], { host: "vllm-a100", port: 8000 }, "a100"],
    ]);
  });

  it("hostile or empty input: a clear problem, never a throw", () => {
    expect(importObjects("kind: Nothing\n").problems[0]).toMatch(/nothing to import/);
    expect(importObjects("{{{").problems.length).toBeGreaterThan(0);
    const bad = importObjects(
      `apiVersion: v1\nkind: Service\nmetadata: { name: x, namespace: llm, labels: { inference-router.io/pool: "Bad_Name" } }\n`,
    );
    expect(bad.problems.join("\n")).toMatch(/not a DNS label/);
  });

  it("the CLI writes a config that `validate` and `generate` accept, listing what it assumed", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "ir-imp-"));
    writeFileSync(path.join(dir, "objects.yaml"), KSERVE);
    let out = "",
      err = "";
    const io = {
      out: (s: string) => {
        out += s;
      },
      err: (s: string) => {
        err += s;
      },
    };
    expect(await main(["import", "-f", path.join(dir, "objects.yaml"), "-o", path.join(dir, "router.yaml")], io)).toBe(0);
    expect(err).toMatch(/not inferred: could not infer which workloads/);
    expect(readFileSync(path.join(dir, "router.yaml"), "utf8")).toMatch(/^# Imported by inference-router import/);
    loadRouterConfig(path.join(dir, "router.yaml"));
    expect(await main(["generate", "-c", path.join(dir, "router.yaml"), "-o", path.join(dir, "out")], io)).toBe(0);
  });
});
