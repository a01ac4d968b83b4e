// Rewrites the README's metrics table (between the metrics-table markers) from src/observability/metrics.ts.
// Usage: npm run build:ts && node scripts/metrics-table.mjs
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { metricsTableMarkdown } from "../dist/observability/metrics.js";

const readme = join(import.meta.dirname, "..", "README.md");
const text = readFileSync(readme, "utf8");
const re = /(<!-- metrics-table:start[^>]*-->\n)[\s\S]*?(\n<!-- metrics-table:end -->)/;
if (!re.test(text)) throw new Error("README.md has no metrics-table markers");
writeFileSync(
  readme,
  text.replace(re, (_, a, b) => a + metricsTableMarkdown() + b),
);
