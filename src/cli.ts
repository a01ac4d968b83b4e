#!/usr/bin/env node
// inference-router CLI. Exit codes: 0 ok, 1 validation or generation failure, 2 usage error.
import { existsSync, mkdirSync, readFileSync, realpathSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { Command, CommanderError, Option } from "commander";
import { routerConfigJsonSchema } from "./config/router-config.js";
import { generate, localWasmPath, renderFile, validateGenerated, type GenerateOptions } from "./toolkit/generate.js";
import { checkEnvoy, envoyVersionOfImage, ISTIO_MINORS } from "./toolkit/versions.js";
import { ConfigError, loadRouterConfig, parseConfigText, checkRouterConfig } from "./toolkit/load.js";
import { buildLocal, DEFAULT_ENVOY_IMAGE, validateLocal } from "./toolkit/local.js";
import { packageWasm } from "./toolkit/oci.js";
import { validateOutputDir, writeFiles } from "./toolkit/output.js";
import { formatProblems, type Problem } from "./toolkit/validate.js";
import { runDemo } from "./demo.js";
import { Simulator } from "./sim/server.js";
import { ENGINE_TABLE, SIMULATOR_ENGINES, simulatorOf } from "./config/engines.js";
import { loadLocalConfig, parseLocalConfig } from "./gateway/local-config.js";
import { startStack } from "./gateway/stack.js";
import { runStart } from "./gateway/start.js";
import { runBench, summaryTable, targetsTable } from "./bench/index.js";
import { registerK8sCommands } from "./k8s/commands.js";

export const DEFAULT_WASM = "build/inference-router.wasm";
const VERSION = (createRequire(import.meta.url)("../package.json") as { version: string }).version;

export interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
}

class Exit extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}

function fail(io: Io, problems: Problem[], what: string): never {
  io.err(`${formatProblems(problems)}\n${problems.length} problem(s); ${what}\n`);
  throw new Exit(1);
}

function usage(io: Io, msg: string): never {
  io.err(`error: ${msg}\n`);
  throw new Exit(2);
}

/** A file the user named: it must exist and be a regular file; otherwise one line and exit 2. */
function inputFile(io: Io, file: string, what: string): void {
  if (!existsSync(file)) usage(io, `${file} not found; expected ${what}`);
  if (statSync(file).isDirectory()) usage(io, `${file} is a directory; expected ${what}`);
}

/** An output directory: absent (it is created) or a directory. */
function outputDir(io: Io, dir: string): void {
  if (existsSync(dir) && !statSync(dir).isDirectory())
    usage(io, `${dir} is an existing file; expected a directory to write into (or - for stdout)`);
}

/** An output file: absent or a file (overwritten), never a directory. */
function outputFile(io: Io, file: string): void {
  if (existsSync(file) && statSync(file).isDirectory()) usage(io, `${file} is a directory; expected a file path to write`);
}

const CONFIG_WHAT = "a router config file (YAML or JSON mapping)";
const WASM_WHAT = "a WebAssembly module (.wasm, built with npm run build:wasm)";

/** Reads a module the user named and checks it is one (\0asm magic). */
function readWasm(io: Io, file: string): Buffer {
  inputFile(io, file, WASM_WHAT);
  const b = readFileSync(file);
  if (b.length < 8 || b.readUInt32BE(0) !== 0x0061736d)
    usage(io, `${file} is not a WebAssembly module (no \\0asm header); expected ${WASM_WHAT}`);
  return b;
}

/** The raw config document; a file that is not a YAML/JSON mapping is a usage error. */
function rawConfig(io: Io, file: string): unknown {
  inputFile(io, file, CONFIG_WHAT);
  const text = readFileSync(file, "utf8");
  if (text.includes("\u0000")) usage(io, `${file} is a binary file; expected ${CONFIG_WHAT}`);
  let raw: unknown;
  try {
    raw = parseConfigText(text, file);
  } catch (e) {
    if (e instanceof ConfigError) fail(io, e.problems, `fix the syntax of ${file}`);
    throw e;
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw))
    usage(io, `${file} holds ${raw === null ? "nothing" : Array.isArray(raw) ? "a list" : `a ${typeof raw}`}; expected ${CONFIG_WHAT}`);
  return raw;
}

function load(io: Io, file: string) {
  const { config, problems } = checkRouterConfig(rawConfig(io, file), file);
  if (!config) fail(io, problems, `fix ${file} and run again (\`inference-router schema\` documents every field)`);
  return config;
}

export function buildProgram(io: Io): Command {
  const program = new Command("inference-router");
  program
    .description("Generate, validate and run the inference-router proxy-wasm filter for Istio and Envoy")
    .version(VERSION, "-V, --version", "print the version")
    .exitOverride()
    .configureOutput({ writeOut: io.out, writeErr: io.err })
    .showHelpAfterError();

  program
    .command("demo")
    .description("Run the built filter in the local proxy-wasm host and show how it steers a burst of requests")
    .option("-c, --config <file>", "router config", "examples/router.yaml")
    .option("--wasm <file>", "filter module", DEFAULT_WASM)
    .option("-n, --requests <n>", "inference requests to send", "24")
    .action(async (opts: { config: string; wasm: string; requests: string }) => {
      if (!existsSync(opts.wasm)) usage(io, `${opts.wasm} not found: run \`npm run build\` first`);
      const n = Number(opts.requests);
      if (!Number.isInteger(n) || n < 1 || n > 100000) usage(io, "--requests must be an integer from 1 to 100000");
      load(io, opts.config);
      await runDemo({ config: opts.config, wasm: opts.wasm, requests: n, out: io.out });
    });

  program
    .command("validate")
    .description("Check a router config (YAML or JSON); reports every problem with its field path")
    .argument("<config>", "router config file")
    .action((file: string) => {
      const raw = rawConfig(io, file) as Record<string, unknown>;
      let config;
      if ("local" in raw) {
        // A local test-bed config (`npm start`): the router config plus its local: section.
        try {
          config = parseLocalConfig(raw, file).router;
        } catch (e) {
          if (e instanceof ConfigError)
            fail(io, e.problems, `fix ${file} (router config + local: section, see src/gateway/local-config.ts)`);
          throw e;
        }
      } else {
        const checked = checkRouterConfig(raw, file);
        if (!checked.config) fail(io, checked.problems, `fix ${file}; \`inference-router schema\` documents every field`);
        config = checked.config;
      }
      io.out(
        `${file}: ok (${config.pools.length} pool(s), steering ${config.steering}, body mode ${config.body.enabled ? "on" : "off"}${"local" in raw ? ", local section" : ""})\n`,
      );
    });

  program
    .command("schema")
    .description("Print the router config JSON Schema (for editors: yaml-language-server $schema)")
    .option("-o, --out <file>", "write it to a file instead")
    .action((o: { out?: string }) => {
      const text = `${JSON.stringify(routerConfigJsonSchema(), null, 2)}\n`;
      if (o.out) {
        outputFile(io, o.out);
        mkdirSync(path.dirname(o.out), { recursive: true });
        writeFileSync(o.out, text);
        io.out(`wrote ${o.out}\n`);
      } else io.out(text);
    });

  program
    .command("generate")
    .description("Generate the Istio resources (kustomize-ready) from a router config; validates everything before writing")
    .requiredOption("-c, --config <file>", "router config (YAML or JSON)")
    .requiredOption("-o, --out <dir>", "output directory, or - for one multi-document YAML stream on stdout (… -o - | kubectl apply -f -)")
    .option(
      "--wasm [file]",
      `built module: its sha256 (https/file urls) or the manifest digest of the image \`package\` builds from it (oci urls) goes into the output (default ${DEFAULT_WASM})`,
    )
    .option(
      "--istio-version <version>",
      `Istio version to generate for (${ISTIO_MINORS[0]} … ${ISTIO_MINORS[ISTIO_MINORS.length - 1]}); refuses what it lacks. Default: the config's versions.istio`,
    )
    .option("--dry-run", "validate and list what would be written, write nothing")
    .option("--unsafe-original-dst", "endpoint mode through an ORIGINAL_DST cluster instead of override_host (no mTLS, spoofable)")
    .action(
      (o: {
        config: string;
        out: string;
        wasm?: string | boolean;
        istioVersion?: string;
        dryRun?: boolean;
        unsafeOriginalDst?: boolean;
      }) => {
        const toStdout = o.out === "-";
        if (!toStdout) outputDir(io, o.out);
        if (o.istioVersion !== undefined) {
          const m = /^v?(1\.(\d+))(\.\d+)?(-[0-9A-Za-z.-]+)?$/.exec(o.istioVersion);
          if (!m || !(ISTIO_MINORS as readonly string[]).includes(m[1]!))
            usage(
              io,
              `--istio-version ${o.istioVersion} is not supported; expected one of ${ISTIO_MINORS.join(", ")} (optionally with a patch, e.g. 1.28.2)`,
            );
        }
        const cfg = load(io, o.config);
        const wasmFile = o.wasm === true ? DEFAULT_WASM : typeof o.wasm === "string" ? o.wasm : localWasmPath(cfg);
        const wasm = wasmFile !== undefined ? readWasm(io, wasmFile) : undefined;
        if (cfg.steering !== "endpoint" && o.unsafeOriginalDst) usage(io, "--unsafe-original-dst only applies to steering: endpoint");
        const opts: GenerateOptions = {
          source: path.basename(o.config),
          ...(wasm ? { wasm } : {}),
          ...(o.istioVersion !== undefined ? { istio: o.istioVersion.replace(/^v/, "") } : {}),
          unsafeOriginalDst: o.unsafeOriginalDst === true,
        };
        const result = generate(cfg, opts);
        const problems = validateGenerated(cfg, result, o.config, opts);
        if (problems.length > 0) fail(io, problems, "nothing written");
        for (const w of result.warnings) io.err(`warning: ${w}\n`);
        const count = result.files.reduce((n, f) => n + (f.objects?.length ?? 0), 0);
        const summary = `all ${count} objects valid (Istio ${opts.istio ?? cfg.versions.istio} CRD schemas and rules, Envoy v3 protos)`;
        if (toStdout) {
          // Only what `kubectl apply -k` would apply: the primary resources, one stream, documents separated by ---.
          const docs = result.files.filter((f) => f.kustomize && f.objects).map((f) => renderFile({ ...f, header: [] }).replace(/\n$/, ""));
          if (!o.dryRun) io.out(`${docs.join("\n---\n")}\n`);
          io.err(`${summary}${o.dryRun ? " (dry run: nothing written)" : ""}\n`);
          return;
        }
        if (o.dryRun) {
          io.out(
            `${result.files.map((f) => `would write ${path.join(o.out, f.path)}`).join("\n")}\n${summary} (dry run: nothing written)\n`,
          );
          return;
        }
        const written = writeFiles(o.out, result.files);
        io.out(`${written.map((w) => `wrote ${w}`).join("\n")}\n${summary}\n`);
      },
    );

  program
    .command("validate-output")
    .description(
      "Validate every YAML file in a directory: Istio objects against the CRD schemas, Envoy fragments and bootstraps against Envoy's protos, compose files against the compose spec",
    )
    .argument("<dir>", "directory written by generate or local")
    .option("--istio-version <version>", "Istio version to validate for (default: the newest supported)")
    .action((dir: string, o: { istioVersion?: string }) => {
      if (!existsSync(dir)) usage(io, `${dir} not found; expected a directory written by generate or local (or one YAML file)`);
      const { problems, checked } = validateOutputDir(dir, o.istioVersion !== undefined ? { istio: o.istioVersion.replace(/^v/, "") } : {});
      if (problems.length > 0) fail(io, problems, `in ${checked.length} file(s)`);
      io.out(`${checked.length} file(s) valid\n`);
    });

  program
    .command("local")
    .description("Write a docker-compose test bed: official Envoy image + the built filter + simulated GPU model servers")
    .requiredOption("-c, --config <file>", "router config (YAML or JSON)")
    .requiredOption("-o, --out <dir>", "output directory")
    .option("--wasm <file>", "built module mounted into Envoy", DEFAULT_WASM)
    .option("--replicas <n>", "simulated servers per pool", "2")
    .option(
      "--envoy-image <image>",
      `Envoy image, tag with its version (default ${DEFAULT_ENVOY_IMAGE}; body and endpoint mode need >= 1.35)`,
    )
    .option("--project-root <dir>", "build context of the simulator image", ".")
    .option("--dry-run", "validate and list what would be written, write nothing")
    .action(
      (o: { config: string; out: string; wasm: string; replicas: string; envoyImage?: string; projectRoot: string; dryRun?: boolean }) => {
        outputDir(io, o.out);
        const cfg = load(io, o.config);
        const replicas = Number(o.replicas);
        if (!Number.isInteger(replicas) || replicas < 1 || replicas > 50) usage(io, "--replicas must be an integer 1..50");
        if (existsSync(o.wasm)) readWasm(io, o.wasm);
        const image = o.envoyImage ?? DEFAULT_ENVOY_IMAGE;
        const envoy = envoyVersionOfImage(image);
        if (envoy === undefined)
          usage(
            io,
            `--envoy-image ${image} has no version in its tag; expected an image tagged with its Envoy version, e.g. envoyproxy/envoy:v1.36.0`,
          );
        const lacks = checkEnvoy(cfg, envoy);
        if (lacks.length > 0)
          fail(
            io,
            lacks.map((message) => ({ file: o.config, path: "--envoy-image", message })),
            `use a newer --envoy-image (default ${DEFAULT_ENVOY_IMAGE}) or change the config`,
          );
        const result = buildLocal(cfg, {
          outDir: path.resolve(o.out),
          projectRoot: path.resolve(o.projectRoot),
          wasmPath: path.resolve(o.wasm),
          replicas,
          source: path.basename(o.config),
          ...(o.envoyImage ? { envoyImage: o.envoyImage } : {}),
        });
        const problems = validateLocal(result);
        if (problems.length > 0) fail(io, problems, "nothing written");
        if (o.dryRun) {
          io.out(
            `${result.files.map((f) => `would write ${path.join(o.out, f.path)}`).join("\n")}\nbootstrap valid, compose file valid (dry run: nothing written)\n`,
          );
          return;
        }
        const written = writeFiles(o.out, result.files);
        if (!existsSync(o.wasm)) io.err(`warning: ${o.wasm} does not exist yet; build it (npm run build:wasm) before docker compose up\n`);
        io.out(
          `${written.map((w) => `wrote ${w}`).join("\n")}\n` +
            `bootstrap valid (envoy.config.bootstrap.v3.Bootstrap), compose file valid (compose spec)\n` +
            `run: cd ${o.out} && docker compose up --build   then: curl localhost:10000/v1/completions -d '{"model":"${cfg.pools[0]!.models[0] ?? "m"}","prompt":"hi"}'\n`,
        );
      },
    );

  program
    .command("package")
    .description("Package the .wasm as an OCI image layout tar (Wasm OCI compat variant) for oras/crane push")
    .option("--wasm <file>", "module to package", DEFAULT_WASM)
    .option("-o, --out <file>", "output tar", "build/inference-router-oci.tar")
    .option("--tag <tag>", "reference name recorded in index.json", "latest")
    .action((o: { wasm: string; out: string; tag: string }) => {
      const wasm = readWasm(io, o.wasm);
      outputFile(io, o.out);
      if (!/^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/.test(o.tag))
        usage(io, `--tag ${o.tag} is not an image tag; expected 1-128 of letters, digits, '_', '.', '-'`);
      const pkg = packageWasm(wasm, { tag: o.tag });
      const manifestHex = pkg.manifest.digest.slice("sha256:".length);
      mkdirSync(path.dirname(o.out), { recursive: true });
      writeFileSync(o.out, pkg.tar);
      io.out(
        [
          `wrote ${o.out}`,
          `manifest ${pkg.manifest.digest}`,
          `config   ${pkg.config.digest}`,
          `layer    ${pkg.layer.digest} (plugin.wasm, sha256 ${pkg.wasmSha256})`,
          `push: mkdir oci && tar -xf ${o.out} -C oci && oras cp --from-oci-layout oci:${o.tag} REGISTRY/REPO:${o.tag}`,
          "",
          "For an oci:// url Istio checks the image MANIFEST digest, not the module's hash. In the router config use either:",
          `  wasm: { url: oci://REGISTRY/REPO:${o.tag}, sha256: ${manifestHex} }`,
          `  wasm: { url: "oci://REGISTRY/REPO@sha256:${manifestHex}" }`,
          `(or pass --wasm ${o.wasm} to generate, which computes the same digest). For https:// or file:// urls the sha256 is the module's: ${pkg.wasmSha256}`,
          "",
        ].join("\n"),
      );
    });

  program
    .command("bench")
    .description("Simulate routing quality (the built filter vs baselines, on a virtual clock) and measure the filter's cost")
    .option("--quick", "CI-sized run (shorter, fewer loads, 100 sidecars in the scale scenario)")
    .option("--out <dir>", "where summary.json, summary.md and the SVG charts go", "bench-results")
    .option("--seed <n>", "first workload seed", "42")
    .option("--seeds <n>", "seeds per point (default 5, --quick 2; the scale scenario runs at most 3)")
    .option("--epp-delay-ms <ms>", "per-request ext_proc delay of the EPP-style peer", "2")
    .option("--cost-only", "only the filter-cost benchmark")
    .option("--no-scale", "skip the 1000-sidecar scale scenario")
    .option("--no-cost", "skip the filter-cost benchmark")
    .option(
      "--only <names>",
      "comma-separated scenario names (homogeneous, heterogeneous, single-gateway, multi-model, prefix-heavy, bursty, degrading, dying, scale)",
    )
    .option(
      "--policies <names>",
      "comma-separated policies (inference-router, inference-router-no-weights, epp, least-request, least-request+outlier, round-robin, clairvoyant-greedy, random)",
    )
    .option(
      "--plugin-config <json>",
      "merged into the filter's plugin configuration (experiments; recorded in summary.json as pluginConfig)",
    )
    .addOption(new Option("--filter-config <json>", "deprecated name of --plugin-config").hideHelp())
    .option("--wasm <file>", "filter module", DEFAULT_WASM)
    .action(
      async (opts: {
        quick?: boolean;
        out: string;
        seed: string;
        seeds?: string;
        eppDelayMs: string;
        cost: boolean;
        costOnly?: boolean;
        scale: boolean;
        only?: string;
        policies?: string;
        pluginConfig?: string;
        filterConfig?: string;
        wasm: string;
      }) => {
        if (!existsSync(opts.wasm)) usage(io, `${opts.wasm} not found: run \`npm run build\` first`);
        const seed = Number(opts.seed);
        if (!Number.isInteger(seed) || seed < 0) usage(io, "--seed must be a non-negative integer");
        const seeds = opts.seeds === undefined ? undefined : Number(opts.seeds);
        if (seeds !== undefined && (!Number.isInteger(seeds) || seeds < 1 || seeds > 20))
          usage(io, "--seeds must be an integer from 1 to 20");
        const eppDelayMs = Number(opts.eppDelayMs);
        if (!Number.isFinite(eppDelayMs) || eppDelayMs < 0 || eppDelayMs > 1000)
          usage(io, "--epp-delay-ms must be a number from 0 to 1000");
        let pluginConfig: Record<string, unknown> | undefined;
        const pluginJson = opts.pluginConfig ?? opts.filterConfig;
        if (pluginJson !== undefined) {
          try {
            pluginConfig = JSON.parse(pluginJson) as Record<string, unknown>;
          } catch {
            usage(io, "--plugin-config must be a JSON object");
          }
        }
        const parts: Array<"routing" | "scale" | "cost"> = opts.costOnly
          ? ["cost"]
          : ["routing", ...(opts.scale ? ["scale" as const] : []), ...(opts.cost ? ["cost" as const] : [])];
        const sum = await runBench({
          quick: !!opts.quick,
          out: opts.out,
          seed,
          wasm: opts.wasm,
          parts,
          eppDelayMs,
          ...(seeds !== undefined ? { seeds } : {}),
          ...(opts.only ? { only: opts.only.split(",").map((x) => x.trim()) } : {}),
          ...(opts.policies ? { policies: opts.policies.split(",").map((x) => x.trim()) } : {}),
          ...(pluginConfig ? { pluginConfig } : {}),
          log: (s) => io.out(`${s}\n`),
        });
        if (sum.scenarios.length || sum.scale) io.out(`\n${summaryTable(sum)}\n`);
        io.out(`\n${targetsTable(sum.targets)}\n`);
      },
    );

  // ---- local simulation: simulate / serve / start (src/sim, src/gateway) ----
  const intIn = (v: string, name: string, lo: number, hi: number): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < lo || n > hi) usage(io, `${name} must be an integer from ${lo} to ${hi}`);
    return n;
  };
  const loopback = (h: string): string => {
    if (!/^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|localhost|::1|0\.0\.0\.0)$/.test(h))
      usage(io, "--host must be a loopback address (or 0.0.0.0 inside a container)");
    return h;
  };
  const loadLocal = (file: string) => {
    if (!existsSync(file)) usage(io, `config file ${file} not found`);
    try {
      return loadLocalConfig(file);
    } catch (e) {
      if (e instanceof ConfigError)
        fail(io, e.problems, `fix ${file} (router config + optional local: section, see src/gateway/local-config.ts)`);
      throw e;
    }
  };
  const untilSignal = () =>
    new Promise<void>((resolve) => {
      const done = () => {
        process.off("SIGINT", done);
        process.off("SIGTERM", done);
        resolve();
      };
      process.once("SIGINT", done);
      process.once("SIGTERM", done);
    });

  program
    .command("simulate")
    .description(
      "Run a simulated GPU model server (the engine's own routes over HTTP/1.1 and h2c, KServe v2 gRPC for triton/kserve, its /metrics, fault injection at /admin/fault)",
    )
    .option("--port <port>", "listen port (0 = ephemeral)", "8000")
    .option(
      "--host <host>",
      "listen address (default 127.0.0.1; 0.0.0.0 inside a container, e.g. the `local` docker-compose)",
      existsSync("/.dockerenv") ? "0.0.0.0" : "127.0.0.1",
    )
    .option("--models <list>", "comma-separated model names served", "llama-3.1-8b-instruct")
    .option(
      "--engine <engine>",
      `server engine: ${SIMULATOR_ENGINES.join(" | ")} (or any engine of src/config/engines.ts: ${Object.keys(ENGINE_TABLE)
        .filter((n) => simulatorOf(n) && !(SIMULATOR_ENGINES as readonly string[]).includes(n))
        .join(", ")} map to the server that speaks them)`,
      "vllm",
    )
    .option("--gpu <type>", "GPU preset: a100, l4, h100, l40s, a10g, t4", "a100")
    .option("--speed <f>", "relative speed (A100 = 1.0); overrides the preset")
    .option("--no-orca", "ignore endpoint-load-metrics-format (by default ORCA reports are sent when a request asks, as vLLM does)")
    .option("--seed <n>", "seed of the failure-injection PRNG", "1")
    .action(
      async (o: {
        port: string;
        host: string;
        models: string;
        engine: string;
        gpu: string;
        speed?: string;
        orca?: boolean;
        seed: string;
      }) => {
        const port = intIn(o.port, "--port", 0, 65535);
        // Accepts every engine that has a simulator (toolkit/local.ts passes pool.metrics.engine): engines.ts maps it.
        const engine = simulatorOf(o.engine);
        if (engine === undefined)
          usage(
            io,
            `--engine must be one of ${Object.keys(ENGINE_TABLE)
              .filter((n) => simulatorOf(n))
              .join(", ")}`,
          );
        const models = o.models
          .split(",")
          .map((m) => m.trim())
          .filter(Boolean);
        if (models.length === 0) usage(io, "--models needs at least one model name");
        const speed = o.speed === undefined ? undefined : Number(o.speed);
        if (speed !== undefined && !(speed > 0 && speed <= 100)) usage(io, "--speed must be a number in (0, 100]");
        const sim = new Simulator({
          models,
          engine,
          gpu: o.gpu,
          ...(speed !== undefined ? { speed } : {}),
          orca: o.orca !== false,
          seed: intIn(o.seed, "--seed", 0, 2 ** 31),
        });
        const bound = await sim.listen(port, loopback(o.host));
        io.out(
          `simulated ${sim.model.spec.gpu} (speed ${sim.model.spec.speed}, KV ${sim.model.spec.kvCacheTokens} tokens, ${engine} metrics) serving ${models.join(", ")} on http://${o.host}:${bound}\n`,
        );
        await untilSignal();
        await sim.close();
      },
    );

  program
    .command("serve")
    .description(
      "Run a local gateway: the built filter in the proxy-wasm host in front of model servers (simulated ones are started for pools that need them)",
    )
    .requiredOption("-c, --config <file>", "router config with an optional local: section (e.g. examples/local.yaml)")
    .option("--port <port>", "gateway port (default: local.port or 8080)")
    .option("--admin-port <port>", "admin port for /stats/prometheus (default: local.adminPort or 9901)")
    .option("--workers <n>", "worker VMs (default: local.workers or 2)")
    .option("--wasm <file>", "filter module", DEFAULT_WASM)
    .action(async (o: { config: string; port?: string; adminPort?: string; workers?: string; wasm: string }) => {
      if (!existsSync(o.wasm)) usage(io, `${o.wasm} not found: run \`npm run build\` first`);
      const cfg = loadLocal(o.config);
      const stack = await startStack(cfg, {
        wasm: o.wasm,
        ...(o.port !== undefined ? { port: intIn(o.port, "--port", 0, 65535) } : {}),
        ...(o.adminPort !== undefined ? { adminPort: intIn(o.adminPort, "--admin-port", 0, 65535) } : {}),
        ...(o.workers !== undefined ? { workers: intIn(o.workers, "--workers", 1, 64) } : {}),
      });
      const gw = stack.gateway;
      io.out(
        `gateway http://127.0.0.1:${gw.port} (filter in ${gw.proxy.workers.length} worker VMs, steering ${cfg.router.steering}); admin http://127.0.0.1:${gw.adminPort}/stats/prometheus\n`,
      );
      for (const [pool, members] of Object.entries(stack.upstreams)) io.out(`  pool ${pool}: ${members.join(", ")}\n`);
      await untilSignal();
      await stack.close();
    });

  program
    .command("start")
    .description(
      "Local demo: simulated A100 + L4 servers, the gateway with the built filter, a short live load and a summary; then keeps serving for curl",
    )
    .option("-c, --config <file>", "local router config", "examples/local.yaml")
    .option("--duration <s>", "seconds of load", "20")
    .option("--rate <n>", "requests per second offered", "12")
    .option("--exit", "exit after the summary instead of serving")
    .option("--port <port>", "gateway port (default: local.port or 8080)")
    .option("--admin-port <port>", "admin port (default: local.adminPort or 9901)")
    .option("--workers <n>", "worker VMs (default: local.workers or 2)")
    .option("--wasm <file>", "filter module", DEFAULT_WASM)
    .action(
      async (o: {
        config: string;
        duration: string;
        rate: string;
        exit?: boolean;
        port?: string;
        adminPort?: string;
        workers?: string;
        wasm: string;
      }) => {
        if (!existsSync(o.wasm)) usage(io, `${o.wasm} not found: run \`npm run build\` first`);
        const durationS = Number(o.duration);
        if (!(durationS > 0 && durationS <= 600)) usage(io, "--duration must be a number of seconds in (0, 600]");
        const rate = Number(o.rate);
        if (!(rate > 0 && rate <= 500)) usage(io, "--rate must be in (0, 500] requests per second");
        loadLocal(o.config);
        await runStart({
          config: o.config,
          wasm: o.wasm,
          durationS,
          rate,
          exit: o.exit === true,
          out: io.out,
          live: process.stdout.isTTY === true && !process.env.CI,
          ...(o.port !== undefined ? { port: intIn(o.port, "--port", 0, 65535) } : {}),
          ...(o.adminPort !== undefined ? { adminPort: intIn(o.adminPort, "--admin-port", 0, 65535) } : {}),
          ...(o.workers !== undefined ? { workers: intIn(o.workers, "--workers", 1, 64) } : {}),
        });
      },
    );

  registerK8sCommands(program, {
    out: io.out,
    err: io.err,
    load: (f) => load(io, f),
    fail: (p, w) => fail(io, p, w),
    usage: (m) => usage(io, m),
  });
  return program;
}

/** Runs the CLI; returns the exit code instead of exiting (tests call this). */
export async function main(
  argv: string[],
  io: Io = { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s) },
): Promise<number> {
  const program = buildProgram(io);
  try {
    await program.parseAsync(argv, { from: "user" });
    return 0;
  } catch (e) {
    if (e instanceof Exit) return e.code;
    if (e instanceof CommanderError) {
      // --help / --version exit 0; anything else commander reports is a usage error.
      return e.exitCode === 0 ? 0 : 2;
    }
    io.err(`internal error: ${(e as Error).stack ?? String(e)}\n`);
    return 1;
  }
}

function isEntryPoint(): boolean {
  const arg = process.argv[1];
  if (!arg) return false;
  try {
    return realpathSync(arg) === realpathSync(fileURLToPath(import.meta.url)) || pathToFileURL(arg).href === import.meta.url;
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  process.exitCode = await main(process.argv.slice(2));
}
