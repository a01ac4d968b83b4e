// A JSON Schema of Grafana's dashboard model, derived at test time from the `Dashboard` type @grafana/schema
// publishes (Grafana generates those types from its CUE dashboard kind; no JSON Schema is on npm: @grafana/schema
// and @grafana/grafana-foundation-sdk ship TypeScript only). The TypeScript compiler API (typescript, already a dev
// dependency) walks the type; the result is strict — an object without an index signature admits no other keys, a
// property not marked optional is required, literal unions and enums become `enum` — so the generated JSON, read
// back from the file, must match the model field by field, which type-checking the generator's source cannot
// promise (spreads, `as` casts, `undefined` or NaN that JSON turns into nothing or null).
import { createRequire } from "node:module";
import ts from "typescript";

type Schema = Record<string, unknown>;

/** The schema of `Dashboard` from "@grafana/schema" (draft-07, definitions under `definitions`). */
export function grafanaDashboardSchema(): Schema {
  const entry = createRequire(import.meta.url)
    .resolve("@grafana/schema/package.json")
    .replace(/package\.json$/, "dist/types/index.d.ts");
  // Only the ES library and no ambient @types: the walk needs the model, not the DOM or Node (halves the time).
  const program = ts.createProgram([entry], {
    strict: true,
    skipLibCheck: true,
    noEmit: true,
    target: ts.ScriptTarget.ES2022,
    lib: ["lib.es2022.d.ts"],
    types: [],
  });
  const checker = program.getTypeChecker();
  const file = program.getSourceFile(entry)!;
  const exported = checker.getExportsOfModule(checker.getSymbolAtLocation(file)!).find((s) => s.name === "Dashboard");
  if (!exported) throw new Error("@grafana/schema exports no Dashboard");
  const target = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
  const definitions: Record<string, Schema> = {};
  const names = new Map<ts.Type, string>();

  const literal = (t: ts.Type): unknown => {
    if (t.isStringLiteral() || t.isNumberLiteral()) return t.value;
    if (t.flags & ts.TypeFlags.BooleanLiteral) return checker.typeToString(t) === "true";
    return undefined;
  };
  const isLiteral = (t: ts.Type) =>
    (t.flags & (ts.TypeFlags.StringLiteral | ts.TypeFlags.NumberLiteral | ts.TypeFlags.BooleanLiteral)) !== 0;

  const convert = (t: ts.Type): Schema => {
    const f = t.flags;
    if (f & (ts.TypeFlags.Any | ts.TypeFlags.Unknown)) return {};
    if (f & ts.TypeFlags.String) return { type: "string" };
    if (f & ts.TypeFlags.Number) return { type: "number" };
    if (f & ts.TypeFlags.Boolean) return { type: "boolean" };
    if (f & ts.TypeFlags.Null) return { type: "null" };
    if (isLiteral(t)) return { const: literal(t) };
    if (t.isUnion()) {
      const parts = t.types.filter((x) => !(x.flags & (ts.TypeFlags.Undefined | ts.TypeFlags.Void)));
      // `boolean` inside a union arrives as `true | false`.
      if (parts.every(isLiteral)) {
        const values = parts.map(literal);
        return values.length === 2 && values.includes(true) && values.includes(false) ? { type: "boolean" } : { enum: values };
      }
      return parts.length === 1 ? convert(parts[0]!) : { anyOf: parts.map(convert) };
    }
    if (checker.isArrayType(t)) return { type: "array", items: convert(checker.getTypeArguments(t as ts.TypeReference)[0]!) };
    if (checker.isTupleType(t)) {
      const items = checker.getTypeArguments(t as ts.TypeReference).map(convert);
      return { type: "array", items, minItems: items.length, maxItems: items.length };
    }
    if (f & ts.TypeFlags.Object || t.isIntersection()) return ref(t);
    throw new Error(`no JSON Schema for ${checker.typeToString(t)}`);
  };

  // Object types go to `definitions` once (the model is recursive: rows hold panels).
  const ref = (t: ts.Type): Schema => {
    let name = names.get(t);
    if (name === undefined) {
      name = `T${names.size}_${checker
        .typeToString(t)
        .replace(/[^A-Za-z0-9_]/g, "_")
        .slice(0, 40)}`;
      names.set(t, name);
      const properties: Record<string, Schema> = {};
      const required: string[] = [];
      for (const p of checker.getPropertiesOfType(t)) {
        const pt = checker.getTypeOfSymbol(p);
        if (pt.getCallSignatures().length > 0) continue;
        properties[p.name] = convert(pt);
        if (!(p.flags & ts.SymbolFlags.Optional)) required.push(p.name);
      }
      const index = checker.getIndexInfosOfType(t).find((i) => i.keyType.flags & ts.TypeFlags.String);
      definitions[name] = {
        type: "object",
        properties,
        ...(required.length ? { required } : {}),
        additionalProperties: index ? convert(index.type) : false,
      };
    }
    return { $ref: `#/definitions/${name}` };
  };

  const root = ref(checker.getDeclaredTypeOfSymbol(target));
  return { $schema: "http://json-schema.org/draft-07/schema#", ...root, definitions };
}
