// Unit harness for assembly/router/config-parse.ts and json-check.ts (built by scripts/build-wasm.mjs --only units
// config into build/units/config.wasm; test/units/config.test.ts drives it through @assemblyscript/loader).
// parse() returns "error: <message>" or the parsed RouterConfig as JSON with the key names and order of the zod
// schema's output (src/config/plugin-config.ts; the dump is generated from it: generated/config-dump.ts), so tests can
// compare the two directly.
// The product abort handler (asconfig `use abort=routerAbort`); it imports env.proxy_log.
import "../../assembly/runtime/abort";
import { parseConfig } from "../../assembly/router/config-parse";
import { checkJson } from "../../assembly/router/json-check";
import { dumpConfig } from "./generated/config-dump";

/** "error: <message>" or the parsed config as JSON (zod's key names and order). */
export function parse(json: string): string {
  const r = parseConfig(json);
  const c = r.config;
  if (c === null) return "error: " + r.error;
  return dumpConfig(c);
}

/** checkJson's verdict: "" or "offset N: reason". */
export function check(json: string, maxDepth: i32): string {
  return checkJson(json, maxDepth);
}
