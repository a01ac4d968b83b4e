// CLI commands for the cluster side: `sync`, `sync-manifests`, `ambient`, `import`. Registered from cli.ts with one
// call so the command file stays the toolkit's.
import { readFileSync, writeFileSync, mkdirSync, existsSync } from "node:fs";
import path from "node:path";
import type { Command } from "commander";
import type { RouterConfig } from "../config/router-config.js";
import type { Problem } from "../toolkit/validate.js";
import { inClusterConfig, KubeClient, kubeconfigFile, type KubeConfig } from "./client.js";
import { renderObjects, syncObjects } from "./manifests.js";
import { SyncController, type SyncSource, type SyncTarget } from "./sync.js";
import { validateObject } from "./validate-core.js";
import { AmbientError, AMBIENT_SINCE, generateAmbient, validateTrafficExtension } from "../toolkit/ambient.js";
import { writeFiles } from "../toolkit/output.js";
import { importObjects, renderImported } from "../toolkit/import.js";

export interface CommandHelpers {
  out: (s: string) => void;
  err: (s: string) => void;
  load: (file: string) => RouterConfig;
  fail: (problems: Problem[], what: string) => never;
  usage: (msg: string) => never;
}

function source(h: CommandHelpers, s: string): SyncSource {
  if (s !== "endpointslices" && s !== "inferencepools") h.usage("--source must be endpointslices or inferencepools");
  return s;
}

function target(h: CommandHelpers, t: string): SyncTarget {
  if (t !== "wasmplugin" && t !== "trafficextension") h.usage("--target must be wasmplugin or trafficextension");
  return t;
}

function kubeConfig(
  h: CommandHelpers,
  o: { server?: string; tokenFile?: string; caFile?: string; insecureSkipTlsVerify?: boolean; kubeconfig?: string },
): KubeConfig {
  if (o.server) {
    return {
      server: o.server,
      ...(o.tokenFile ? { token: readFileSync(o.tokenFile, "utf8").trim() } : {}),
      ...(o.caFile ? { ca: readFileSync(o.caFile) } : {}),
      insecureSkipTlsVerify: o.insecureSkipTlsVerify === true,
    };
  }
  const c = (o.kubeconfig ? kubeconfigFile(o.kubeconfig) : undefined) ?? inClusterConfig() ?? kubeconfigFile();
  if (!c) h.usage("no Kubernetes API: not in a cluster, no kubeconfig; pass --server (and --token-file, --ca-file)");
  return c;
}

export function registerK8sCommands(program: Command, h: CommandHelpers): void {
  program
    .command("sync")
    .description(
      "Keep the endpoints in the generated WasmPlugin's pluginConfig equal to the ready endpoints of each pool (EndpointSlices of pools[].service, or GIE InferencePools)",
    )
    .requiredOption("-c, --config <file>", "router config (YAML or JSON), the one generate used")
    .option("--source <source>", "endpointslices | inferencepools", "endpointslices")
    .option("--debounce-ms <ms>", "longest wait between a change in the cluster and the write", "1000")
    .option("--target <kind>", "wasmplugin (generate's output) | trafficextension (ambient's output on Istio >= 1.30)", "wasmplugin")
    .option("--once", "list once and print the pluginConfig it would write; write nothing")
    .option("--server <url>", "API server URL (default: in-cluster, then kubeconfig)")
    .option("--token-file <file>", "bearer token file (with --server)")
    .option("--ca-file <file>", "CA bundle of the API server (with --server)")
    .option("--insecure-skip-tls-verify", "do not verify the API server's certificate (with --server)")
    .option("--kubeconfig <file>", "kubeconfig file (current context; token or client certificate)")
    .action(
      async (o: {
        config: string;
        source: string;
        target: string;
        debounceMs: string;
        once?: boolean;
        server?: string;
        tokenFile?: string;
        caFile?: string;
        insecureSkipTlsVerify?: boolean;
        kubeconfig?: string;
      }) => {
        const cfg = h.load(o.config);
        const debounceMs = Number(o.debounceMs);
        if (!Number.isInteger(debounceMs) || debounceMs < 10 || debounceMs > 600_000)
          h.usage("--debounce-ms must be an integer in [10, 600000]");
        const client = new KubeClient(kubeConfig(h, o));
        const c = new SyncController(client, cfg, {
          source: source(h, o.source),
          target: target(h, o.target),
          debounceMs,
          log: (l) => h.err(`${new Date().toISOString()} ${l}\n`),
        });
        if (o.once) {
          try {
            const r = await c.once();
            h.out(`${JSON.stringify(r.config, null, 2)}\n`);
            h.err(
              `${r.changed ? "differs from" : "equals"} ${c.kind} ${c.namespace}/${c.name}${r.kept.length ? `; kept current endpoints of: ${r.kept.join(", ")}` : ""}\n`,
            );
          } finally {
            client.close();
          }
          return;
        }
        c.start();
        h.err(`syncing ${c.kind} ${c.namespace}/${c.name} from ${o.source} (debounce ${debounceMs} ms)\n`);
        await new Promise<void>((resolve) => {
          const stop = () => {
            c.stop();
            client.close();
            resolve();
          };
          process.once("SIGTERM", stop);
          process.once("SIGINT", stop);
        });
      },
    );

  program
    .command("sync-manifests")
    .description(
      "Write the Deployment, ServiceAccount, least-privilege Role/RoleBinding and ConfigMap that run `sync` in the cluster (validated)",
    )
    .requiredOption("-c, --config <file>", "router config (YAML or JSON)")
    .requiredOption("-o, --out <dir>", "output directory (writes sync.yaml)")
    .requiredOption("--image <image>", "container image whose entrypoint is the inference-router CLI")
    .option("--source <source>", "endpointslices | inferencepools", "endpointslices")
    .option("--debounce-ms <ms>", "debounce of the controller", "1000")
    .option("--target <kind>", "wasmplugin | trafficextension", "wasmplugin")
    .action((o: { config: string; out: string; image: string; source: string; target: string; debounceMs: string }) => {
      const cfg = h.load(o.config);
      const objects = syncObjects(cfg, {
        image: o.image,
        source: source(h, o.source),
        target: target(h, o.target),
        routerConfigText: readFileSync(o.config, "utf8"),
        debounceMs: Number(o.debounceMs),
      });
      const problems = objects.flatMap((x) => validateObject(x, "sync.yaml"));
      if (problems.length) h.fail(problems, "nothing written");
      if (!existsSync(o.out)) mkdirSync(o.out, { recursive: true });
      const file = path.join(o.out, "sync.yaml");
      writeFileSync(
        file,
        renderObjects(objects, [
          `# Generated by inference-router from ${path.basename(o.config)}: runs \`inference-router sync\` (${o.source}).`,
        ]),
      );
      h.out(`wrote ${file}\nall ${objects.length} objects valid (Kubernetes API schemas)\n`);
    });

  program
    .command("ambient")
    .description(
      `Generate for an ambient-mesh waypoint (Istio >= ${AMBIENT_SINCE}): the filter on the waypoint (WasmPlugin, or TrafficExtension from Istio 1.30), one Service per pool and an HTTPRoute on x-inference-pool (validated)`,
    )
    .requiredOption("-c, --config <file>", "router config (YAML or JSON); steering must be pool")
    .requiredOption("-o, --out <dir>", "output directory")
    .requiredOption("--waypoint <name>", "the waypoint Gateway in the router's namespace")
    .option("--wasm <file>", "built module: its sha256 (https/file urls) or its image's manifest digest (oci urls) goes into the output")
    .action((o: { config: string; out: string; waypoint: string; wasm?: string }) => {
      const cfg = h.load(o.config);
      let result;
      try {
        result = generateAmbient(cfg, {
          waypoint: o.waypoint,
          source: path.basename(o.config),
          ...(o.wasm ? { wasm: readFileSync(o.wasm) } : {}),
        });
      } catch (e) {
        if (e instanceof AmbientError) h.fail([{ file: o.config, path: "steering", message: e.message }], "nothing written");
        throw e;
      }
      const problems = result.files.flatMap((f) =>
        (f.objects ?? []).flatMap((x) => (x.kind === "TrafficExtension" ? validateTrafficExtension(x, f.path) : validateObject(x, f.path))),
      );
      if (problems.length) h.fail(problems, "nothing written");
      for (const w of result.warnings) h.err(`warning: ${w}\n`);
      const written = writeFiles(o.out, result.files);
      h.out(
        `${written.map((w) => `wrote ${w}`).join("\n")}\nall ${result.files.reduce((n, f) => n + (f.objects?.length ?? 0), 0)} objects valid\nthen: ${result.steps.join("\n      ")}\n`,
      );
    });

  program
    .command("import")
    .description(
      "Build a router config from existing objects: KServe InferenceService/ServingRuntime, GIE InferencePool (+ InferenceModel), or Services labelled inference-router.io/pool; says what it could not infer",
    )
    .requiredOption("-f, --file <file>", "YAML with the objects (kubectl get -o yaml output, List objects included)")
    .option("-o, --out <file>", "write the router config here (default: stdout)")
    .option("--name <name>", "router name", "inference-router")
    .option("--workload <label>", "key=value label of the client pods that run the filter")
    .option("--wasm-url <url>", "where proxies fetch the module")
    .action((o: { file: string; out?: string; name: string; workload?: string; wasmUrl?: string }) => {
      if (!existsSync(o.file)) h.usage(`${o.file} not found`);
      let workloadLabels: Record<string, string> | undefined;
      if (o.workload) {
        const m = /^([^=]+)=(.*)$/.exec(o.workload);
        if (!m) h.usage("--workload must be key=value");
        workloadLabels = { [m[1]!]: m[2]! };
      }
      const r = importObjects(readFileSync(o.file, "utf8"), {
        name: o.name,
        ...(workloadLabels ? { workloadLabels } : {}),
        ...(o.wasmUrl ? { wasmUrl: o.wasmUrl } : {}),
      });
      if (!r.config)
        h.fail(
          r.problems.map((m) => ({ file: o.file, path: "$", message: m })),
          "no router config written",
        );
      for (const p of r.problems) h.err(`skipped: ${p}\n`);
      for (const n of r.notes) h.err(`not inferred: ${n}\n`);
      const text = renderImported(r);
      if (o.out) {
        writeFileSync(o.out, text);
        h.out(`wrote ${o.out} (${r.config.pools.length} pool(s), steering ${r.config.steering})\n`);
      } else h.out(text);
    });
}
