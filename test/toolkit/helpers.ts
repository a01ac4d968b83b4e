// Shared helpers for the toolkit tests.
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";
import { main } from "../../src/cli.js";
import { RouterConfigSchema, type RouterConfig, type RouterConfigInput } from "../../src/config/router-config.js";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
export const EXAMPLE = path.join(ROOT, "examples", "router.yaml");

export function tmp(prefix = "ir-"): string {
  return mkdtempSync(path.join(tmpdir(), prefix));
}

export function exampleInput(): RouterConfigInput {
  return parse(readFileSync(EXAMPLE, "utf8")) as RouterConfigInput;
}

/** The example config changed by `patch` (deep-cloned first). */
export function variant(patch: (c: RouterConfigInput) => void): RouterConfig {
  const c = structuredClone(exampleInput());
  patch(c);
  return RouterConfigSchema.parse(c);
}

export async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const code = await main(argv, { out: (s) => void (out += s), err: (s) => void (err += s) });
  return { code, out, err };
}
