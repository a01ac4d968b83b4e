// Reading the router config: YAML or JSON, every problem reported with file, field path and a fix.
import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";
import type { z } from "zod";
import { RouterConfigSchema, type RouterConfig } from "../config/router-config.js";
import type { Problem } from "./validate.js";

export class ConfigError extends Error {
  constructor(readonly problems: Problem[]) {
    super(problems.map((p) => `${p.file}: ${p.path}: ${p.message}`).join("\n"));
  }
}

/** Dotted path with [i] for indices: `pools[1].metrics.port`. */
export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let s = "";
  for (const k of path) {
    if (typeof k === "number") s += `[${k}]`;
    else s += s === "" ? String(k) : `.${String(k)}`;
  }
  return s || "$";
}

function fixFor(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case "unrecognized_keys":
      return `remove ${issue.keys.map((k) => `"${k}"`).join(", ")} (check the spelling against \`inference-router schema\`)`;
    case "invalid_value":
      return `use one of: ${issue.values.map((v) => JSON.stringify(v)).join(", ")}`;
    case "invalid_type":
      return issue.input === undefined ? `add this required field (${issue.expected})` : `give a ${issue.expected}`;
    case "too_small":
      return `use at least ${String(issue.minimum)}`;
    case "too_big":
      return `use at most ${String(issue.maximum)}`;
    default:
      return "";
  }
}

export function zodProblems(file: string, error: z.ZodError): Problem[] {
  return error.issues.map((issue) => {
    const fix = fixFor(issue);
    return { file, path: formatPath(issue.path), message: fix ? `${issue.message}; fix: ${fix}` : issue.message };
  });
}

/** Parses YAML or JSON text (JSON is YAML); a multi-document file is an error. */
export function parseConfigText(text: string, file: string): unknown {
  const docs = parseAllDocuments(text, { prettyErrors: true });
  const list = Array.isArray(docs) ? docs : [docs];
  const errs = list.flatMap((d) => d.errors);
  if (errs.length > 0) {
    throw new ConfigError(
      errs.map((e) => ({
        file,
        path: e.linePos ? `line ${e.linePos[0].line}:${e.linePos[0].col}` : "$",
        message: `${e.message.split("\n")[0]}; fix: correct the YAML/JSON syntax there`,
      })),
    );
  }
  if (list.length !== 1)
    throw new ConfigError([{ file, path: "$", message: "expected exactly one YAML document; fix: keep one config per file" }]);
  return list[0]!.toJS();
}

export function checkRouterConfig(raw: unknown, file: string): { config?: RouterConfig; problems: Problem[] } {
  const r = RouterConfigSchema.safeParse(raw);
  if (r.success) return { config: r.data, problems: [] };
  return { problems: zodProblems(file, r.error) };
}

/** Loads and validates a router config file; throws ConfigError listing every problem. */
export function loadRouterConfig(file: string): RouterConfig {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new ConfigError([{ file, path: "$", message: `cannot read: ${(e as Error).message}` }]);
  }
  const { config, problems } = checkRouterConfig(parseConfigText(text, file), file);
  if (!config) throw new ConfigError(problems);
  return config;
}
