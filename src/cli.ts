#!/usr/bin/env node
// inference-router CLI. Exit codes: 0 ok, 1 validation or generation failure, 2 usage error.
import { existsSync, mkdirSync, readFileSync, realpathSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { Command, CommanderError } from "commander";
import { routerConfigJsonSchema } from "./config/router-config.js";
import { generate, localWasmPath, sha256File, validateGenerated } from "./toolkit/generate.js";
import { ConfigError, loadRouterConfig, parseConfigText, checkRouterConfig } from "./toolkit/load.js";
import { buildLocal, validateLocal } from "./toolkit/local.js";
import { packageWasm } from "./toolkit/oci.js";
import { validateOutputDir, writeFiles } from "./toolkit/output.js";
import { formatProblems, type Problem } from "./toolkit/validate.js";
import { runDemo } from "./demo.js";

export const DEFAULT_WASM = "build/inference-router.wasm";

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

function load(io: Io, file: string) {
  if (!existsSync(file)) usage(io, `config file ${file} not found`);
  try {
    return loadRouterConfig(file);
  } catch (e) {
    if (e instanceof ConfigError) fail(io, e.problems, `fix ${file} and run again (\`inference-router schema\` documents every field)`);
    throw e;
  }
}

export function buildProgram(io: Io): Command {
  const program = new Command("inference-router");
  program
    .description("Generate, validate and run the inference-router proxy-wasm filter for Istio and Envoy")
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
      if (!existsSync(file)) usage(io, `config file ${file} not found`);
      let raw: unknown;
      try {
        raw = parseConfigText(readFileSync(file, "utf8"), file);
      } catch (e) {
        if (e instanceof ConfigError) fail(io, e.problems, "fix the syntax");
        throw e;
      }
      const { config, problems } = checkRouterConfig(raw, file);
      if (!config) fail(io, problems, `fix ${file}; \`inference-router schema\` documents every field`);
      io.out(`${file}: ok (${config.pools.length} pool(s), steering ${config.steering}, body mode ${config.body.enabled ? "on" : "off"})\n`);
    });

  program
    .command("schema")
    .description("Print the router config JSON Schema (for editors: yaml-language-server $schema)")
    .option("-o, --out <file>", "write it to a file instead")
    .action((o: { out?: string }) => {
      const text = `${JSON.stringify(routerConfigJsonSchema(), null, 2)}\n`;
      if (o.out) {
        mkdirSync(path.dirname(o.out), { recursive: true });
        writeFileSync(o.out, text);
        io.out(`wrote ${o.out}\n`);
      } else io.out(text);
    });

  program
    .command("generate")
    .description("Generate the Istio resources (kustomize-ready) from a router config; validates everything before writing")
    .requiredOption("-c, --config <file>", "router config (YAML or JSON)")
    .requiredOption("-o, --out <dir>", "output directory")
    .option("--wasm [file]", `built module whose sha256 goes into the output (default ${DEFAULT_WASM})`)
    .option("--unsafe-original-dst", "endpoint mode through an ORIGINAL_DST cluster instead of override_host (no mTLS, spoofable)")
    .action((o: { config: string; out: string; wasm?: string | boolean; unsafeOriginalDst?: boolean }) => {
      const cfg = load(io, o.config);
      let wasmSha256: string | undefined;
      const wasmFile = o.wasm === true ? DEFAULT_WASM : typeof o.wasm === "string" ? o.wasm : localWasmPath(cfg);
      if (wasmFile !== undefined) {
        if (!existsSync(wasmFile)) usage(io, `wasm module ${wasmFile} not found (build it with npm run build:wasm)`);
        wasmSha256 = sha256File(wasmFile);
      }
      if (cfg.steering !== "endpoint" && o.unsafeOriginalDst) usage(io, "--unsafe-original-dst only applies to steering: endpoint");
      const opts = { source: path.basename(o.config), ...(wasmSha256 ? { wasmSha256 } : {}), unsafeOriginalDst: o.unsafeOriginalDst === true };
      const result = generate(cfg, opts);
      const problems = validateGenerated(cfg, result, o.config, opts);
      if (problems.length > 0) fail(io, problems, "nothing written");
      for (const w of result.warnings) io.err(`warning: ${w}\n`);
      const written = writeFiles(o.out, result.files);
      io.out(`${written.map((w) => `wrote ${w}`).join("\n")}\nall ${result.files.reduce((n, f) => n + (f.objects?.length ?? 0), 0)} objects valid (Istio CRD schemas, Envoy v3 protos)\n`);
    });

  program
    .command("validate-output")
    .description("Validate every YAML file in a directory: Istio objects against the CRD schemas, Envoy fragments and bootstraps against Envoy's protos, compose files against the compose spec")
    .argument("<dir>", "directory written by generate or local")
    .action((dir: string) => {
      if (!existsSync(dir)) usage(io, `directory ${dir} not found`);
      const { problems, checked } = validateOutputDir(dir);
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
    .option("--envoy-image <image>", "Envoy image (needs >= 1.35 for body mode, >= 1.34 for endpoint mode)")
    .option("--project-root <dir>", "build context of the simulator image", ".")
    .action((o: { config: string; out: string; wasm: string; replicas: string; envoyImage?: string; projectRoot: string }) => {
      const cfg = load(io, o.config);
      const replicas = Number(o.replicas);
      if (!Number.isInteger(replicas) || replicas < 1 || replicas > 50) usage(io, "--replicas must be an integer 1..50");
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
      const written = writeFiles(o.out, result.files);
      if (!existsSync(o.wasm)) io.err(`warning: ${o.wasm} does not exist yet; build it (npm run build:wasm) before docker compose up\n`);
      io.out(
        `${written.map((w) => `wrote ${w}`).join("\n")}\n` +
          `bootstrap valid (envoy.config.bootstrap.v3.Bootstrap), compose file valid (compose spec)\n` +
          `run: cd ${o.out} && docker compose up --build   then: curl localhost:10000/v1/completions -d '{"model":"${cfg.pools[0]!.models[0] ?? "m"}","prompt":"hi"}'\n`,
      );
    });

  program
    .command("package")
    .description("Package the .wasm as an OCI image layout tar (Wasm OCI compat variant) for oras/crane push")
    .option("--wasm <file>", "module to package", DEFAULT_WASM)
    .option("-o, --out <file>", "output tar", "build/inference-router-oci.tar")
    .option("--tag <tag>", "reference name recorded in index.json", "latest")
    .action((o: { wasm: string; out: string; tag: string }) => {
      if (!existsSync(o.wasm)) usage(io, `wasm module ${o.wasm} not found (build it with npm run build:wasm)`);
      let pkg;
      try {
        pkg = packageWasm(readFileSync(o.wasm), { tag: o.tag });
      } catch (e) {
        fail(io, [{ file: o.wasm, path: "$", message: (e as Error).message }], "not packaged");
      }
      mkdirSync(path.dirname(o.out), { recursive: true });
      writeFileSync(o.out, pkg.tar);
      io.out(
        [
          `wrote ${o.out}`,
          `manifest ${pkg.manifest.digest}`,
          `config   ${pkg.config.digest}`,
          `layer    ${pkg.layer.digest} (plugin.wasm, sha256 ${pkg.wasmSha256})`,
          `push: mkdir oci && tar -xf ${o.out} -C oci && oras cp --from-oci-layout oci:${o.tag} REGISTRY/REPO:${o.tag}`,
          `WasmPlugin: url oci://REGISTRY/REPO:${o.tag}  sha256 ${pkg.wasmSha256}`,
          "",
        ].join("\n"),
      );
    });

  return program;
}

/** Runs the CLI; returns the exit code instead of exiting (tests call this). */
export async function main(argv: string[], io: Io = { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s) }): Promise<number> {
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
