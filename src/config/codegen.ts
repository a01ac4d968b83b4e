// Everything derived from the plugin-config schema of record (./plugin-config.ts), generated so that a field is
// defined once:
//   assembly/router/config.ts         the AssemblyScript config classes the filter reads
//   assembly/router/config-schema.ts  the parser's walk: one function per object, keys by name, defaults, bounds,
//                                     patterns (the non-trapping readers it calls are in config-read.ts)
//   test/units/generated/config-dump.ts        the parsed config back to JSON in zod's output shape (the parity test's view)
//   test/fuzz/config-keys.ts          the keys of every object of the schema (fuzz and mutation vocabularies)
//   README.md                         the field table between the `plugin-config-table` markers
// and, from the shared records' layouts (src/shared/load-record.ts):
//   assembly/router/load-record.ts    the filter's codec of the shared-data load record and VM registry
// and, from the engine list (src/config/engines.ts):
//   assembly/router/signals/engines.ts  the filter's metrics-preset ids and engineFromName
// Run `npm run gen:config` after changing the schema; test/units/config-generated.test.ts fails while any of these
// is stale. Cross-field rules (the schema's superRefine) are not generated: config-parse.ts mirrors them by hand.
//
// How a zod node becomes an AssemblyScript field (a new field of a plain kind needs nothing else):
//   string (pattern / enum)  string, default value or "" when unset
//   number                   i32 if .int(), else f64; 0 when unset
//   boolean                  bool
//   array of strings/objects Array<string> / Array<ItemClass>
//   object with a default    its class, filled in place; optional object: `Class | null`
//   record string → string   Array<string> [k0, v0, k1, v1, ...] plus has<Field>
// An optional scalar whose "unset" value (""/0) is also a valid value gets a has<Field> flag. Patterns are matched
// to AssemblyScript checkers by their regex source (PATTERNS below): a new pattern needs a checker there and in
// config-read.ts. Names and representations that differ from this default are listed in HINTS.
import { z } from "zod";
import { PluginConfigSchema } from "./plugin-config.js";
import { ENGINE_TABLE, METRICS_ENGINES } from "./engines.js";
import {
  HEADER as LOAD_HEADER,
  LOAD_RECORD_MAX_SLOTS,
  SLOT as LOAD_SLOT,
  VM_ENTRY,
  VM_HEADER,
  VM_REGISTRY_MAX_ENTRIES,
  type Laid,
} from "../shared/load-record.js";

type Zod = z.core.$ZodType;

/** A regex of the schema → the AssemblyScript checker in config-read.ts, how many units it reads at most, and the
 *  message when zod's pattern carries none. */
interface Pattern {
  check: string;
  cap: number;
  /** What it is, for the README. */
  what: string;
  msg?: string;
}
const PATTERNS: Record<string, Pattern> = {
  "^[a-z0-9!#$%&'*+.^_`|~-]{1,64}$": { check: "isHeaderName", cap: 64, what: "header name" },
  "^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$": { check: "isIdent", cap: 63, what: "name (1-63 of `A-Za-z0-9._-`)" },
  "^[^\\x00-\\x1f\\x7f-\\x9f\\ud800-\\udfff]{1,256}$": {
    check: "isModelName",
    cap: 256,
    what: "model name (1-256 bytes of UTF-8, no control characters)",
  },
  "^(?:spiffe:\\/\\/[\\x21-\\x7e]{1,240}|ns:[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?)$": {
    check: "isTrustedPeer",
    cap: 249,
    what: "`spiffe://…` or `ns:<namespace>`",
  },
  "^[\\x21-\\x7e]{1,255}$": { check: "isVisible255", cap: 255, what: "cluster / authority" },
  "^\\/[\\x21-\\x7e]{0,254}$": { check: "isPath", cap: 255, what: "path" },
  "^[A-Za-z0-9._-]{0,32}$": {
    check: "isGpu",
    cap: 32,
    what: "label (0-32 of `A-Za-z0-9._-`)",
    msg: "must be 0-32 characters of letters, digits, '.', '_' or '-'",
  },
  "^[A-Za-z_:][A-Za-z0-9_:]{0,199}$": { check: "isMetricName", cap: 200, what: "metric name" },
  "^[A-Za-z_][A-Za-z0-9_]{0,63}$": { check: "isLabelName", cap: 64, what: "label name" },
  "^[\\x20\\x21\\x23-\\x5b\\x5d-\\x7e]{0,256}$": { check: "isLabelValue", cap: 256, what: "label value" },
  "^[^\\ud800-\\udfff]{1,256}$": { check: "isLabelText", cap: 512, what: "label value as a server emits it (any text)" },
};
// the authority regex is long too: matched by its start below
const AUTHORITY_PATTERN: Pattern = { check: "isAuthority", cap: 259, what: "host or host:port (lower case)" };
const ENDPOINT_PATTERN: Pattern = { check: "isEndpoint", cap: 64, what: "`ip:port` / `[ipv6]:port`" }; // the endpoint regex is long: matched by its start below

interface Hint {
  /** Class name of an object (or of an array's items). Default: PascalCase(key) + "Config". */
  class?: string;
  /** Field name in AssemblyScript. Default: the key. */
  field?: string;
  /** Object whose fields live in the parent class, with has<Key> telling whether it was given. */
  flatten?: boolean;
  /** Enum read into a number: [constant name per entry], values 0, 1, ... (type u8). */
  constants?: string[];
  /** Enum read into a bool: true when the value is this entry. */
  trueWhen?: string;
  /** Extra doc comment on the field. */
  doc?: string;
}

/** Where the filter's representation differs from the defaults above. Keys are paths with `[]` for array items. */
const HINTS: Record<string, Hint> = {
  "": { class: "RouterConfig" },
  steering: { constants: ["STEER_POOL", "STEER_ENDPOINT"] },
  headers: { class: "HeaderNames" },
  "headers.class": { field: "klass" },
  "pools[]": { class: "PoolConfig" },
  "pools[].metrics.series": { flatten: true, class: "SeriesSet" },
  "pools[].metrics.series.queue[]": { class: "SeriesConfig" },
  "pools[].metrics.series.running[]": { class: "SeriesConfig" },
  "pools[].metrics.series.kvCache[]": { class: "SeriesConfig" },
  "models[]": { class: "ModelConfig" },
  unknownModel: {
    field: "unknownModelPassthrough",
    trueWhen: "passthrough",
    doc: "true: a model no pool serves is routed untouched; false: 404.",
  },
  "affinity.prefix": { class: "PrefixAffinityConfig" },
};

// ---------------------------------------------------------------------------------------------------------------
// The schema as a tree.

type Leaf =
  | { kind: "string"; pattern: Pattern & { msg: string } }
  | { kind: "enum"; values: string[] }
  | { kind: "number"; int: boolean; min: number; max: number }
  | { kind: "boolean" };

type Node =
  | (Leaf & { optional: boolean; dflt: unknown })
  | { kind: "array"; element: Node; min: number; max: number; optional: boolean; dflt: unknown }
  | { kind: "record"; key: Leaf & { kind: "string" }; value: Leaf & { kind: "string" }; optional: boolean; dflt: unknown }
  | { kind: "object"; cls: string; fields: Field[]; optional: boolean; dflt: unknown; path: string };

interface Field {
  key: string;
  name: string;
  path: string;
  node: Node;
  description: string;
  hint: Hint;
}

const def = (s: Zod) => (s as unknown as { _zod: { def: Record<string, any> } })._zod.def;
const descOf = (s: Zod) => (s as unknown as { description?: string }).description;
const pascal = (k: string) => k.charAt(0).toUpperCase() + k.slice(1);

function stringLeaf(s: Zod, path: string): Leaf & { kind: "string" } {
  const checks = (def(s).checks ?? []) as Zod[];
  const rx = checks.map(def).find((c) => c.check === "string_format" && c.format === "regex");
  if (!rx) throw new Error(`${path}: strings need a pattern (the filter checks every string it accepts)`);
  const source = (rx.pattern as RegExp).source;
  const known = source.startsWith("^(?:(?:25[0-5]")
    ? ENDPOINT_PATTERN
    : source.startsWith("^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]")
      ? AUTHORITY_PATTERN
      : PATTERNS[source];
  if (!known)
    throw new Error(`${path}: no AssemblyScript checker for /${source}/: add one to config-read.ts and PATTERNS in src/config/codegen.ts`);
  const msg = typeof rx.error === "function" ? (rx.error() as string) : known.msg;
  if (!msg) throw new Error(`${path}: pattern /${source}/ has no message`);
  return { kind: "string", pattern: { ...known, msg } };
}

function toNode(s: Zod, path: string, key: string): { node: Node; description: string } {
  let optional = false;
  let dflt: unknown = undefined;
  let description = descOf(s) ?? "";
  for (;;) {
    const d = def(s);
    if (d.type === "optional") optional = true;
    else if (d.type === "default") dflt = typeof d.defaultValue === "function" ? d.defaultValue() : d.defaultValue;
    else break;
    s = d.innerType as Zod;
    description ||= descOf(s) ?? "";
  }
  const d = def(s);
  const base = { optional, dflt };
  switch (d.type) {
    case "string":
      return { node: { ...stringLeaf(s, path), ...base }, description };
    case "enum":
      return { node: { kind: "enum", values: Object.values(d.entries as Record<string, string>), ...base }, description };
    case "number": {
      const n = s as unknown as { minValue: number | null; maxValue: number | null; isInt: boolean };
      if (n.minValue === null || n.maxValue === null) throw new Error(`${path}: numbers need bounds`);
      if (n.isInt && (n.minValue < -(2 ** 31) || n.maxValue > 2 ** 31 - 1)) throw new Error(`${path}: integer bounds beyond i32`);
      return { node: { kind: "number", int: n.isInt, min: n.minValue, max: n.maxValue, ...base }, description };
    }
    case "boolean":
      return { node: { kind: "boolean", ...base }, description };
    case "array": {
      const checks = ((d.checks ?? []) as Zod[]).map(def);
      const min = checks.find((c) => c.check === "min_length")?.minimum ?? 0;
      const max = checks.find((c) => c.check === "max_length")?.maximum;
      if (max === undefined) throw new Error(`${path}: arrays need a maximum length (the parser's memory is bounded by the schema)`);
      return { node: { kind: "array", element: toNode(d.element as Zod, `${path}[]`, key).node, min, max, ...base }, description };
    }
    case "record": {
      const k = toNode(d.keyType as Zod, `${path}{key}`, key).node;
      const v = toNode(d.valueType as Zod, `${path}{}`, key).node;
      if (k.kind !== "string" || v.kind !== "string") throw new Error(`${path}: only records of string → string are supported`);
      return { node: { kind: "record", key: k, value: v, ...base }, description };
    }
    case "object": {
      const hint = HINTS[path] ?? {};
      const cls = hint.class ?? `${pascal(key)}Config`;
      const fields: Field[] = Object.entries(d.shape as Record<string, Zod>).map(([k, v]) => {
        const p = path ? `${path}.${k}` : k;
        const { node, description } = toNode(v, p, k);
        const h = HINTS[p] ?? {};
        return { key: k, name: h.field ?? k, path: p, node, description, hint: h };
      });
      return { node: { kind: "object", cls, fields, path, ...base }, description };
    }
    case "pipe":
      // superRefine wraps the object: the rules it adds are cross-field ones (config-parse.ts).
      return toNode(d.in as Zod, path, key);
    default:
      throw new Error(`${path}: unsupported zod type ${d.type}`);
  }
}

/** The schema of record as a tree of objects and leaves. */
export function schemaTree(schema: Zod = PluginConfigSchema): Node & { kind: "object" } {
  const { node } = toNode(schema, "", "");
  if (node.kind !== "object") throw new Error("the plugin config must be an object");
  return node;
}

/** Every object class, each once, parents before children. */
function classes(root: Node & { kind: "object" }): Array<Node & { kind: "object" }> {
  const out = new Map<string, Node & { kind: "object" }>();
  const visit = (n: Node) => {
    if (n.kind === "array") return visit(n.element);
    if (n.kind !== "object") return;
    if (!out.has(n.cls) && !HINTS[n.path]?.flatten) out.set(n.cls, n);
    for (const f of n.fields) visit(f.node);
  };
  visit(root);
  return [...out.values()];
}

const HEADER = (what: string, from = "src/config/plugin-config.ts (the schema of record)") =>
  `// GENERATED by \`npm run gen:config\` from ${from}: ${what}\n` +
  `// Do not edit: change the source (or src/config/codegen.ts) and regenerate; a test fails while this is stale.\n`;

const lit = (v: unknown) => JSON.stringify(v);
const num = (v: number) => (Number.isInteger(v) ? String(v) : String(v));

// ---------------------------------------------------------------------------------------------------------------
// assembly/router/config.ts

/** A flag telling "given" from "not given" (records; optional scalars whose unset value ""/0 is also valid). */
function needsHas(f: Field): boolean {
  const n = f.node;
  if (n.kind === "record") return true;
  if (!n.optional || n.dflt !== undefined) return false;
  if (n.kind === "string") return n.pattern.check === "isGpu" || n.pattern.check === "isLabelValue";
  if (n.kind === "number") return n.min <= 0 && n.max >= 0;
  return n.kind === "boolean";
}

const hasName = (f: Field) => `has${pascal(f.name)}`;

function asType(f: Field): { type: string; init: string; doc: string[] } {
  const n = f.node;
  const doc: string[] = [];
  if (f.description) doc.push(f.description);
  if (f.hint.doc) doc.push(f.hint.doc);
  switch (n.kind) {
    case "string":
      if (n.optional && n.dflt === undefined) doc.push(`"" when not configured.`);
      return { type: "string", init: lit(n.dflt ?? ""), doc };
    case "enum":
      if (f.hint.constants) return { type: "u8", init: f.hint.constants[n.values.indexOf(n.dflt as string)] ?? "0", doc };
      if (f.hint.trueWhen) return { type: "bool", init: String(n.dflt === f.hint.trueWhen), doc };
      doc.push(`One of ${n.values.map((v) => `"${v}"`).join(", ")}.`);
      return { type: "string", init: lit(n.dflt ?? ""), doc };
    case "number":
      if (n.dflt === undefined) doc.push("0 when not configured.");
      return { type: n.int ? "i32" : "f64", init: num((n.dflt as number) ?? 0), doc };
    case "boolean":
      return { type: "bool", init: String(n.dflt ?? false), doc };
    case "array": {
      const el = n.element;
      const t = el.kind === "object" ? el.cls : "string";
      // A non-empty default list of strings (e.g. headers.stripInbound) is the field's initial value.
      const init =
        el.kind === "string" && Array.isArray(n.dflt) && n.dflt.length > 0 ? `[${(n.dflt as string[]).map(lit).join(", ")}]` : "[]";
      return { type: `Array<${t}>`, init, doc };
    }
    case "record":
      doc.push(`[key0, value0, key1, value1, ...]; ${hasName(f)} tells an empty object from an absent one.`);
      return { type: "Array<string>", init: "[]", doc };
    case "object":
      if (n.optional && n.dflt === undefined) return { type: `${n.cls} | null`, init: "null", doc: [...doc, "null when not configured."] };
      return { type: n.cls, init: `new ${n.cls}()`, doc };
  }
}

function classFields(o: Node & { kind: "object" }): string[] {
  const lines: string[] = [];
  for (const f of o.fields) {
    if (f.node.kind === "object" && f.hint.flatten) {
      lines.push(`  /** Whether \`${f.key}\` was given. ${f.description} */`, `  ${hasName(f)}: bool = false;`);
      lines.push(...classFields(f.node));
      continue;
    }
    const { type, init, doc } = asType(f);
    if (doc.length) lines.push(`  /** ${doc.join(" ").replace(/\*\//g, "* /")} */`);
    lines.push(`  ${f.name}: ${type} = ${init};`);
    if (needsHas(f)) lines.push(`  ${hasName(f)}: bool = false;`);
  }
  return lines;
}

export function genConfigClasses(root = schemaTree()): string {
  const out: string[] = [
    HEADER("the configuration as the filter holds it."),
    "// Parsed once per configure (config-parse.ts); nothing here runs per request.",
    "",
  ];
  const visitConsts = (o: Node & { kind: "object" }) => {
    for (const f of o.fields) {
      if (f.hint.constants && f.node.kind === "enum") {
        f.node.values.forEach((v, i) => out.push(`/** \`${f.path}\`: "${v}" */`, `export const ${f.hint.constants![i]}: u8 = ${i};`));
        out.push("");
      }
      if (f.node.kind === "object") visitConsts(f.node);
      if (f.node.kind === "array" && f.node.element.kind === "object") visitConsts(f.node.element);
    }
  };
  visitConsts(root);
  for (const c of classes(root)) {
    out.push(`/** \`${c.path || "(root)"}\` */`, `export class ${c.cls} {`, ...classFields(c), "}", "");
  }
  out.push(
    `/** Result of parsing: either a config or the first problem, named by its JSON path ("pools[1].weight: ..."). */`,
    "export class ConfigResult {",
    "  config: RouterConfig | null = null;",
    `  error: string = "";`,
    "}",
    "",
  );
  return out.join("\n");
}

// ---------------------------------------------------------------------------------------------------------------
// assembly/router/config-schema.ts

function keysConst(o: Node & { kind: "object" }): string {
  return `${o.cls.replace(/([a-z])([A-Z])/g, "$1_$2").toUpperCase()}_KEYS`;
}

/** Pattern messages, one constant per checker (filled while generating, emitted at the top of the file). */
let MESSAGES = new Map<string, string>();
function msgConst(p: { check: string; msg: string }): string {
  const base = `MSG_${p.check
    .replace(/^is/, "")
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
    .toUpperCase()}`;
  for (let k = 1; ; k++) {
    const name = k === 1 ? base : `${base}_${k}`;
    const prev = MESSAGES.get(name);
    if (prev === undefined) MESSAGES.set(name, p.msg);
    if (prev === undefined || prev === p.msg) return name;
  }
}

function readLeaf(n: Node, at: string, path: string, dflt: string): string {
  switch (n.kind) {
    case "string":
      return `patternOr(${at}, ${path}, ${n.pattern.cap}, ${n.pattern.check}, ${msgConst(n.pattern)}, ${dflt})`;
    case "number":
      return n.int ? `int(${at}, ${path}, ${n.min}, ${n.max}, ${dflt})` : `dbl(${at}, ${path}, ${num(n.min)}, ${num(n.max)}, ${dflt})`;
    case "boolean":
      return `bool_(${at}, ${path}, ${dflt})`;
    default:
      throw new Error("not a leaf");
  }
}

function parseField(f: Field, target: string, m: string, enums: Map<string, string[]>): string[] {
  const n = f.node;
  const at = `${m}.at(${lit(f.key)})`;
  const path = `${m}.path(${lit(f.key)})`;
  const dst = `${target}.${f.name}`;
  const required = !n.optional && n.dflt === undefined;
  const lines: string[] = [];
  const body = (): string[] => {
    switch (n.kind) {
      case "string":
      case "number":
      case "boolean": {
        const d = n.dflt === undefined ? (n.kind === "string" ? `""` : n.kind === "number" ? "0" : "false") : dst;
        if (needsHas(f)) return [`if (${at} >= 0) {`, `  ${target}.${hasName(f)} = true;`, `  ${dst} = ${readLeaf(n, at, path, d)};`, `}`];
        return [`${dst} = ${readLeaf(n, at, path, d)};`];
      }
      case "enum": {
        const name = `${f.path.replace(/\[\]/g, "").replace(/\./g, "_").toUpperCase()}_VALUES`;
        enums.set(name, n.values);
        const read = [`const v = oneOf(${at}, ${path}, ${name});`];
        if (f.hint.constants)
          return [`if (${at} >= 0) {`, ...[...read, `if (v !== null) ${dst} = <u8>${name}.indexOf(v);`].map((l) => `  ${l}`), "}"];
        if (f.hint.trueWhen)
          return [`if (${at} >= 0) {`, ...[...read, `if (v !== null) ${dst} = v == ${lit(f.hint.trueWhen)};`].map((l) => `  ${l}`), "}"];
        return [`if (${at} >= 0) {`, ...[...read, `if (v !== null) ${dst} = v;`].map((l) => `  ${l}`), "}"];
      }
      case "array": {
        const el = n.element;
        if (el.kind === "string") {
          const read = `${dst} = patternList(${at}, ${path}, ${n.min}, ${n.max}, ${el.pattern.cap}, ${el.pattern.check}, ${msgConst(el.pattern)});`;
          // Absent: keep a non-empty default (patternList answers [] for an absent key).
          return [Array.isArray(n.dflt) && n.dflt.length > 0 ? `if (${at} >= 0) ${read}` : read];
        }
        if (el.kind !== "object") throw new Error(`${f.path}: arrays of ${el.kind} are not supported`);
        return [
          `if (${at} >= 0) {`,
          `  const list = items(${at}, ${path}, ${n.min}, ${n.max});`,
          `  if (list !== null) {`,
          `    for (let k = 0; k < list.length && ok(); k++) {`,
          `      const item = new ${el.cls}();`,
          `      parse${el.cls}(list[k], index(${path}, k), item);`,
          `      ${dst}.push(item);`,
          `    }`,
          `  }`,
          `}`,
        ];
      }
      case "record":
        return [
          `if (${at} >= 0) {`,
          `  ${target}.${hasName(f)} = true;`,
          `  ${dst} = stringRecord(${at}, ${path}, ${n.key.pattern.check}, ${msgConst(n.key.pattern)}, ${n.key.pattern.cap}, ${n.value.pattern.check}, ${msgConst(n.value.pattern)}, ${n.value.pattern.cap});`,
          `}`,
        ];
      case "object":
        if (f.hint.flatten)
          return [`if (${at} >= 0 && parse${pascal(f.key)}IntoParent(${at}, ${path}, ${target})) ${target}.${hasName(f)} = true;`];
        if (n.optional && n.dflt === undefined)
          return [`if (${at} >= 0) {`, `  const item = new ${n.cls}();`, `  parse${n.cls}(${at}, ${path}, item);`, `  ${dst} = item;`, `}`];
        return [`if (${at} >= 0) parse${n.cls}(${at}, ${path}, ${dst});`];
    }
  };
  if (required) lines.push(`if (${at} < 0) fail(${path}, "is required");`, `else {`, ...body().map((l) => `  ${l}`), `}`);
  else lines.push(...body());
  return lines;
}

function parserFor(o: Node & { kind: "object" }, enums: Map<string, string[]>, extra: string[]): string[] {
  const lines = [
    `/** \`${o.path || "(root)"}\` */`,
    `function parse${o.cls}(i: i32, path: string, o: ${o.cls}): void {`,
    `  const m = object(i, path, ${keysConst(o)});`,
    `  if (m === null) return;`,
  ];
  for (const f of o.fields) {
    if (f.node.kind === "object" && f.hint.flatten) {
      const inner = f.node;
      extra.push(
        `/** \`${inner.path}\`, whose fields live in ${o.cls}; true when it is an object with known keys. */`,
        `function parse${pascal(f.key)}IntoParent(i: i32, path: string, o: ${o.cls}): bool {`,
        `  const m = object(i, path, ${keysConst(inner)});`,
        `  if (m === null) return false;`,
        ...inner.fields.flatMap((g) => parseField(g, "o", "m", enums)).map((l) => `  ${l}`),
        `  return true;`,
        `}`,
        "",
      );
    }
    lines.push(...parseField(f, "o", "m", enums).map((l) => `  ${l}`));
  }
  lines.push("}", "");
  return lines;
}

export function genParser(root = schemaTree()): string {
  MESSAGES = new Map();
  const enums = new Map<string, string[]>();
  const extra: string[] = [];
  const objects: Array<Node & { kind: "object" }> = [];
  const visit = (n: Node) => {
    if (n.kind === "array") return visit(n.element);
    if (n.kind !== "object") return;
    if (!objects.some((x) => x.cls === n.cls) && !HINTS[n.path]?.flatten) objects.push(n);
    for (const f of n.fields) visit(f.node);
  };
  visit(root);
  const fns = objects.flatMap((o) => parserFor(o, enums, extra));
  const keyTables: string[] = [];
  const seen = new Set<string>();
  const addKeys = (n: Node) => {
    if (n.kind === "array") return addKeys(n.element);
    if (n.kind !== "object") return;
    const k = keysConst(n);
    if (!seen.has(k)) {
      seen.add(k);
      keyTables.push(`const ${k}: Array<string> = [${n.fields.map((f) => lit(f.key)).join(", ")}];`);
    }
    for (const f of n.fields) addKeys(f.node);
  };
  addKeys(root);
  const classNames = objects.map((o) => o.cls);
  return [
    HEADER("the parser's walk over the schema."),
    "// One function per object of the schema: the keys it admits (an unknown key is an error), each key read by name",
    "// with its bounds, pattern and default. The non-trapping readers are in config-read.ts; cross-field rules and",
    "// the entry point in config-parse.ts.",
    `import { ${[...classNames].sort().join(", ")} } from "./config";`,
    `import { bool_, dbl, fail, index, int, items, object, ok, oneOf, patternList, patternOr, stringRecord } from "./config-read";`,
    `import { ${[...new Set([...Object.values(PATTERNS), ENDPOINT_PATTERN, AUTHORITY_PATTERN].map((p) => p.check))].sort().join(", ")} } from "./config-read";`,
    "",
    ...keyTables,
    "",
    ...[...enums].map(([k, v]) => `const ${k}: Array<string> = [${v.map(lit).join(", ")}];`),
    "",
    ...[...MESSAGES].sort().map(([k, v]) => `const ${k} = ${lit(v)};`),
    "",
    ...extra,
    ...fns,
    "/** Reads the object at `i` (the document's root) into `c`. */",
    "export function parseRoot(i: i32, c: RouterConfig): void {",
    `  parseRouterConfig(i, "", c);`,
    "}",
    "",
  ].join("\n");
}

// ---------------------------------------------------------------------------------------------------------------
// test/units/config-dump.ts: the parsed config back to JSON, keys and order as zod's output.

function dumpObject(o: Node & { kind: "object" }, v: string, fns: Map<string, string[]>): string[] {
  // Returns statements appending `o`'s members to `s` (the caller writes the braces).
  const lines: string[] = [];
  let first = true;
  const sep = () => (first ? ((first = false), "") : ",");
  for (const f of o.fields) {
    const n = f.node;
    const key = `${sep()}${JSON.stringify(f.key)}:`;
    const put = (expr: string) => `s += ${lit(key)} + ${expr};`;
    const x = `${v}.${f.name}`;
    const opt = n.optional && n.dflt === undefined;
    switch (n.kind) {
      case "string":
        lines.push(needsHas(f) ? `if (${v}.${hasName(f)}) ${put(`q(${x})`)}` : opt ? `if (${x}.length) ${put(`q(${x})`)}` : put(`q(${x})`));
        break;
      case "number": {
        const e = n.int ? `${x}.toString()` : `n(${x})`;
        lines.push(needsHas(f) ? `if (${v}.${hasName(f)}) ${put(e)}` : opt ? `if (${x} != 0) ${put(e)}` : put(e));
        break;
      }
      case "boolean":
        lines.push(needsHas(f) ? `if (${v}.${hasName(f)}) ${put(`(${x} ? "true" : "false")`)}` : put(`(${x} ? "true" : "false")`));
        break;
      case "enum":
        if (f.hint.constants) lines.push(put(`q(${arrLit(n.values)}[<i32>${x}])`));
        else if (f.hint.trueWhen)
          lines.push(put(`q(${x} ? ${lit(f.hint.trueWhen)} : ${lit(n.values.find((e) => e !== f.hint.trueWhen))})`));
        else lines.push(opt ? `if (${x}.length) ${put(`q(${x})`)}` : put(`q(${x})`));
        break;
      case "array": {
        const el = n.element;
        if (el.kind === "object") {
          ensureDumpFn(el, fns);
          lines.push(put(`dumpList${el.cls}(${x})`));
        } else lines.push(put(`list(${x})`));
        break;
      }
      case "record":
        lines.push(`if (${v}.${hasName(f)}) ${put(`rec(${x})`)}`);
        break;
      case "object":
        if (f.hint.flatten) {
          lines.push(
            `if (${v}.${hasName(f)}) {`,
            `  s += ${lit(key + "{")};`,
            ...dumpObject(n, v, fns).map((l) => `  ${l}`),
            `  s += "}";`,
            `}`,
          );
        } else {
          ensureDumpFn(n, fns);
          if (opt) lines.push(`{`, `  const o = ${x};`, `  if (o !== null) ${put(`dump${n.cls}(o)`)}`, `}`);
          else lines.push(put(`dump${n.cls}(${x})`));
        }
        break;
    }
  }
  // Optional members that come first need a separator decided at run time: keep it simple by requiring a
  // mandatory first member (true of every object in the schema).
  return lines;
}

const arrLit = (vs: string[]) => `[${vs.map(lit).join(", ")}]`;

function ensureDumpFn(o: Node & { kind: "object" }, fns: Map<string, string[]>): void {
  if (fns.has(o.cls)) return;
  fns.set(o.cls, []);
  const body = dumpObject(o, "v", fns);
  fns.set(o.cls, [
    `function dump${o.cls}(v: ${o.cls}): string {`,
    `  let s = "{";`,
    ...body.map((l) => `  ${l}`),
    `  return s + "}";`,
    `}`,
    "",
    `function dumpList${o.cls}(a: Array<${o.cls}>): string {`,
    `  const parts = new Array<string>();`,
    `  for (let i = 0; i < a.length; i++) parts.push(dump${o.cls}(a[i]));`,
    `  return "[" + parts.join(",") + "]";`,
    `}`,
    "",
  ]);
}

export function genDump(root = schemaTree()): string {
  for (const o of classes(root)) {
    const first = o.fields[0]!;
    if (first.node.optional && first.node.dflt === undefined)
      throw new Error(`${o.path}: the first field of an object must not be optional (dump)`);
  }
  const fns = new Map<string, string[]>();
  ensureDumpFn(root, fns);
  const names = [...fns.keys()].sort();
  return [
    HEADER("the parsed config as JSON, keys and order as zod's output."),
    "// Used by the unit harness test/units/config.ts so the parity test compares every field with zod's.",
    `import { ${names.join(", ")} } from "../../../assembly/router/config";`,
    "",
    "function q(s: string): string {",
    `  let out = "\\"";`,
    "  for (let i = 0; i < s.length; i++) {",
    "    const c = <i32>s.charCodeAt(i);",
    `    if (c == 0x22) out += "\\\\\\"";`,
    `    else if (c == 0x5c) out += "\\\\\\\\";`,
    "    else if (c < 0x20 || c > 0x7e) {",
    "      const h = c.toString(16);",
    `      out += "\\\\u" + "0000".substring(h.length) + h;`,
    "    } else out += String.fromCharCode(c);",
    "  }",
    `  return out + "\\"";`,
    "}",
    "",
    "function n(v: f64): string {",
    "  if (v == Math.floor(v) && Math.abs(v) < 1e15) return (<i64>v).toString();",
    "  return v.toString();",
    "}",
    "",
    "function list(a: Array<string>): string {",
    "  const parts = new Array<string>();",
    "  for (let i = 0; i < a.length; i++) parts.push(q(a[i]));",
    `  return "[" + parts.join(",") + "]";`,
    "}",
    "",
    "function rec(kv: Array<string>): string {",
    "  const parts = new Array<string>();",
    `  for (let i = 0; i + 1 < kv.length; i += 2) parts.push(q(kv[i]) + ":" + q(kv[i + 1]));`,
    `  return "{" + parts.join(",") + "}";`,
    "}",
    "",
    ...names.flatMap((k) => fns.get(k)!),
    "/** The config as zod's output JSON. */",
    "export function dumpConfig(c: RouterConfig): string {",
    "  return dumpRouterConfig(c);",
    "}",
    "",
  ].join("\n");
}

// ---------------------------------------------------------------------------------------------------------------
// test/fuzz/config-keys.ts

export function genKeys(root = schemaTree()): string {
  const rows: string[] = [];
  const visit = (n: Node) => {
    if (n.kind === "array") return visit(n.element);
    if (n.kind !== "object") return;
    rows.push(`  ${lit(n.path)}: [${n.fields.map((f) => lit(f.key)).join(", ")}],`);
    for (const f of n.fields) visit(f.node);
  };
  visit(root);
  return [
    HEADER("the keys of every object of the schema."),
    '/** Object path (`[]` = array items, "" = root) → its keys in schema order. */',
    "export const CONFIG_KEYS: Record<string, readonly string[]> = {",
    ...rows,
    "};",
    "",
  ].join("\n");
}

// ---------------------------------------------------------------------------------------------------------------
// README.md: the field table.

export const README_BEGIN = "<!-- plugin-config-table: generated by `npm run gen:config` from src/config/plugin-config.ts -->";
export const README_END = "<!-- /plugin-config-table -->";

function range(n: Node): string {
  switch (n.kind) {
    case "number": {
      const f = (v: number) => (Math.abs(v) >= 10_000 ? v.toLocaleString("en-US").replace(/,/g, " ") : String(v));
      return `${n.int ? "integer" : "number"} ${f(n.min)} … ${f(n.max)}`;
    }
    case "boolean":
      return "boolean";
    case "enum":
      return n.values.map((v) => `\`${v}\``).join(", ");
    case "string":
      return n.pattern.what;
    case "array":
      return `list (${n.min ? `${n.min} … ` : "≤ "}${n.max})${n.element.kind === "string" ? ` of ${n.element.pattern.what}` : ""}`;
    case "record":
      return `{${n.key.pattern.what}: ${n.value.pattern.what}}`;
    case "object":
      return "object";
  }
}

function dfltCell(n: Node): string {
  if (!n.optional && n.dflt === undefined) return "required";
  if (n.dflt === undefined) return "unset";
  if (n.kind === "object") return "";
  return `\`${JSON.stringify(n.dflt)}\``.replace(/^`"(.*)"`$/, "`$1`").replace(/^``$/, '`""`');
}

export function genReadmeTable(root = schemaTree()): string {
  const rows: string[] = ["| field | default | values | meaning |", "|---|---|---|---|"];
  const cell = (s: string) => s.replace(/\|/g, "\\|");
  const shown = new Map<string, string>();
  const visit = (o: Node & { kind: "object" }) => {
    for (const f of o.fields) {
      const n = f.node;
      const name = f.path.replace(/\[\]\./g, "[].");
      if (n.kind === "object") {
        if (f.description)
          rows.push(`| \`${name}\` | ${n.optional && n.dflt === undefined ? "unset" : ""} | object | ${cell(f.description)} |`);
        visit(n);
        continue;
      }
      if (n.kind === "array" && n.element.kind === "object") {
        const same = shown.get(n.element.cls);
        rows.push(`| \`${name}[]\` | ${dfltCell(n)} | ${range(n)} | ${cell(f.description)}${same ? ` Items as \`${same}\`.` : ""} |`);
        if (!same) {
          shown.set(n.element.cls, `${name}[]`);
          visit(n.element);
        }
        continue;
      }
      rows.push(`| \`${name}\` | ${dfltCell(n)} | ${range(n)} | ${cell(f.description)} |`);
    }
  };
  visit(root);
  return rows.join("\n");
}

/** The README with its field table replaced (throws if the markers are missing). */
export function withReadmeTable(readme: string, table = genReadmeTable()): string {
  const a = readme.indexOf(README_BEGIN);
  const b = readme.indexOf(README_END);
  if (a < 0 || b < a) throw new Error(`README.md: markers ${README_BEGIN} … ${README_END} not found`);
  return readme.slice(0, a + README_BEGIN.length) + "\n" + table + "\n" + readme.slice(b);
}

// ---------------------------------------------------------------------------------------------------------------
// All of it.

/** Every generated file, path relative to the repository root → content. README.md is derived from its current text. */
export function generatedFiles(readReadme: () => string): Record<string, string> {
  const root = schemaTree();
  return {
    "assembly/router/config.ts": genConfigClasses(root),
    "assembly/router/config-schema.ts": genParser(root),
    "test/units/generated/config-dump.ts": genDump(root),
    "test/fuzz/config-keys.ts": genKeys(root),
    "assembly/router/load-record.ts": genLoadRecord(),
    "assembly/router/signals/engines.ts": genEngines(),
    "README.md": withReadmeTable(readReadme(), genReadmeTable(root)),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// assembly/router/load-record.ts: the codec of the shared records (load record, VM registry), from their layouts
// (src/shared/load-record.ts).

export function genLoadRecord(): string {
  const cap = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);
  const acc = (f: Laid, base: string) => {
    const t = f.type;
    const at = f.offset ? `${base} + ${f.offset}` : base;
    return [
      `  /** ${f.doc} (offset ${f.offset}, ${t}) */`,
      `  @inline static ${f.name}(${base}: usize): ${t} {`,
      `    return load<${t}>(${at});`,
      `  }`,
      `  @inline static set${cap(f.name)}(${base}: usize, v: ${t}): void {`,
      `    store<${t}>(${at}, v);`,
      `  }`,
    ];
  };
  const accessors = (fields: Laid[], base: string) => fields.filter((f) => f.name !== "pad").flatMap((f) => acc(f, base));
  const table = (fields: Laid[]) =>
    fields.map(
      (f) => `//   ${String(f.offset).padStart(3)}  ${String(f.size).padStart(2)}  ${f.type.padEnd(4)} ${f.name.padEnd(18)} ${f.doc}`,
    );
  return [
    HEADER("the codec of the shared records.", "src/shared/load-record.ts (the layouts' one definition, also read by the tests' codec)"),
    "//",
    "// Load record (`<name>/load/<pool>/<upstream>`), header:",
    "//   off size type name               meaning",
    ...table(LOAD_HEADER.fields),
    `// then slotCount slots of ${LOAD_SLOT.bytes} bytes at ${LOAD_HEADER.bytes} + i × ${LOAD_SLOT.bytes}:`,
    ...table(LOAD_SLOT.fields),
    "//",
    "// VM registry (`<name>/vms`), header:",
    ...table(VM_HEADER.fields),
    `// then count entries of ${VM_ENTRY.bytes} bytes at ${VM_HEADER.bytes} + i × ${VM_ENTRY.bytes}:`,
    ...table(VM_ENTRY.fields),
    "",
    `/** Bytes before the first slot. */`,
    `export const LOAD_HEADER_BYTES: i32 = ${LOAD_HEADER.bytes};`,
    `/** Bytes of one in-flight slot. */`,
    `export const LOAD_SLOT_BYTES: i32 = ${LOAD_SLOT.bytes};`,
    `/** Slots a record holds at most. */`,
    `export const LOAD_MAX_SLOTS: i32 = ${LOAD_RECORD_MAX_SLOTS};`,
    `/** Largest record. */`,
    `export const LOAD_RECORD_CAP: i32 = ${LOAD_HEADER.bytes + LOAD_RECORD_MAX_SLOTS * LOAD_SLOT.bytes};`,
    "",
    "/** Field accessors of a record's header at `b` (inlined loads and stores: no allocation, no call). */",
    "export class LoadRecord {",
    ...accessors(LOAD_HEADER.fields, "b"),
    "",
    "  /** Address of slot `i` of the record at `b`. */",
    "  @inline static slot(b: usize, i: i32): usize {",
    "    return b + <usize>LOAD_HEADER_BYTES + <usize>(i * LOAD_SLOT_BYTES);",
    "  }",
    "}",
    "",
    "/** Field accessors of one slot at `p` (LoadRecord.slot). */",
    "export class LoadSlot {",
    ...accessors(LOAD_SLOT.fields, "p"),
    "}",
    "",
    `/** Bytes before the registry's first entry. */`,
    `export const VM_REGISTRY_HEADER_BYTES: i32 = ${VM_HEADER.bytes};`,
    `/** Bytes of one registry entry. */`,
    `export const VM_ENTRY_BYTES: i32 = ${VM_ENTRY.bytes};`,
    `/** VMs the registry holds at most. */`,
    `export const VM_REGISTRY_MAX_ENTRIES: i32 = ${VM_REGISTRY_MAX_ENTRIES};`,
    `/** Largest registry. */`,
    `export const VM_REGISTRY_CAP: i32 = ${VM_HEADER.bytes + VM_REGISTRY_MAX_ENTRIES * VM_ENTRY.bytes};`,
    "",
    "/** Field accessors of the VM registry's header at `b`. */",
    "export class VmRegistry {",
    ...accessors(VM_HEADER.fields, "b"),
    "",
    "  /** Address of entry `i` of the registry at `b`. */",
    "  @inline static entry(b: usize, i: i32): usize {",
    "    return b + <usize>VM_REGISTRY_HEADER_BYTES + <usize>(i * VM_ENTRY_BYTES);",
    "  }",
    "}",
    "",
    "/** Field accessors of one registry entry at `p` (VmRegistry.entry). */",
    "export class VmEntry {",
    ...accessors(VM_ENTRY.fields, "p"),
    "}",
    "",
  ].join("\n");
}

// ---------------------------------------------------------------------------------------------------------------
// assembly/router/signals/engines.ts: the filter's preset ids, from the engine list (src/config/engines.ts).

export function genEngines(): string {
  const id = (n: string) => `ENGINE_${n.toUpperCase().replace(/[^A-Z0-9]/g, "_")}`;
  return [
    HEADER("the filter's metrics-preset ids.", "src/config/engines.ts (the one engine list)"),
    "// The series each preset reads: presets.ts.",
    "",
    ...METRICS_ENGINES.flatMap((n, i) => [`export const ${id(n)}: i32 = ${i};`]),
    "",
    "/** Engine id for a configured engine name; -1 when unknown. Exact, lower-case names. */",
    "export function engineFromName(name: string): i32 {",
    ...METRICS_ENGINES.map((n) => `  if (name == ${lit(n)}) return ${id(n)};`),
    "  return -1;",
    "}",
    "",
    "/** Whether the engine's real server answers `endpoint-load-metrics-format` with an ORCA report (sources: src/config/engines.ts). */",
    "export function engineAnswersOrca(engine: i32): bool {",
    `  return ${
      METRICS_ENGINES.filter((n) => ENGINE_TABLE[n as keyof typeof ENGINE_TABLE]?.orca)
        .map((n) => `engine == ${id(n)}`)
        .join(" || ") || "false"
    };`,
    "}",
    "",
  ].join("\n");
}
