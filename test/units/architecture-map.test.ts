// The README's *Architecture* map must match the tree: every path it lists exists, and every directory of
// assembly/, src/ and test/ (down to two levels below them, e.g. assembly/router/pick; deeper ones belong to
// their listed ancestor) is listed.
//
// The map is the fenced block under `## Architecture`: one entry per line, two spaces of indentation per level;
// an entry is one or more comma-separated names (a directory ends in `/`, and may be several segments such as
// `envoy-api/overlay/`), followed by two or more spaces and a description. Lines indented deeper than any entry
// (12 spaces or more) continue the description above them.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const CHECKED_ROOTS = ["assembly", "src", "test"];
const DEPTH = 2;

/** Repository-relative paths the map lists (directories end in `/`). */
function mapPaths(readme: string): string[] {
  const section = readme.slice(readme.indexOf("\n## Architecture"));
  const block = /```\n([\s\S]*?)\n```/.exec(section);
  if (!block) throw new Error("README: no fenced map under ## Architecture");
  const out: string[] = [];
  const parents: string[] = []; // parents[level] = directory path at that level
  for (const line of block[1]!.split("\n")) {
    const indent = line.length - line.trimStart().length;
    if (line.trim() === "" || indent >= 12) continue;
    if (indent % 2 !== 0) throw new Error(`README map: odd indentation: ${line}`);
    const level = indent / 2;
    if (level > parents.length) throw new Error(`README map: entry deeper than its parent: ${line}`);
    parents.length = level;
    const names = line
      .trim()
      .split(/\s{2,}/)[0]!
      .split(/,\s*/);
    const base = parents.join("");
    for (const n of names) out.push(base + n);
    const dir = names.find((n) => n.endsWith("/"));
    if (dir !== undefined) parents.push(dir);
  }
  return out;
}

/** Directories under `dir` down to `depth` more levels, repository-relative, ending in `/`. */
function directories(dir: string, depth: number): string[] {
  if (depth < 0) return [];
  const out: string[] = [];
  for (const e of readdirSync(path.join(ROOT, dir), { withFileTypes: true })) {
    if (!e.isDirectory()) continue;
    const d = `${dir}/${e.name}`;
    out.push(`${d}/`, ...directories(d, depth - 1));
  }
  return out;
}

describe("README architecture map", () => {
  const listed = mapPaths(readFileSync(path.join(ROOT, "README.md"), "utf8"));

  it("parses nested entries and multi-segment directories", () => {
    const m = mapPaths(
      "\n## Architecture\n\n```\na/                x\n  b.ts, c.ts      y\n  d/e/            z\n                  more z\n    f.ts          w\ng/                v\n```\n",
    );
    expect(m).toEqual(["a/", "a/b.ts", "a/c.ts", "a/d/e/", "a/d/e/f.ts", "g/"]);
  });

  it("every listed path exists (a directory as a directory)", () => {
    expect(listed.length).toBeGreaterThan(30);
    const wrong = listed.filter((p) => !existsSync(path.join(ROOT, p)) || statSync(path.join(ROOT, p)).isDirectory() !== p.endsWith("/"));
    expect(wrong).toEqual([]);
  });

  it(`every directory of ${CHECKED_ROOTS.join("/, ")}/ down to ${DEPTH} levels below them is listed`, () => {
    const want = CHECKED_ROOTS.flatMap((r) => directories(r, DEPTH - 1));
    // A multi-segment entry (envoy-api/overlay/) lists its intermediate directories too.
    const covered = new Set(
      listed.flatMap((p) =>
        p
          .split("/")
          .slice(0, -1)
          .map((_, i, a) => `${a.slice(0, i + 1).join("/")}/`),
      ),
    );
    expect(want.filter((d) => !covered.has(d))).toEqual([]);
  });
});
