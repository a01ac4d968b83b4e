// Global setup of `npm test` (and of any single vitest run): builds the Wasm modules the tests load — the filter,
// the host's test filters, the unit harnesses — through scripts/build-wasm.mjs, the one place that decides what
// is stale (by content hash of each module's inputs). On a warm checkout nothing is rebuilt and this takes well
// under a second. HOST_TEST_NO_BUILD=1 skips it (tests then use whatever is in build/).
import { execFileSync } from "node:child_process";
import { join } from "node:path";

const root = join(import.meta.dirname, "..", "..");

export default function setup(): void {
  if (process.env.HOST_TEST_NO_BUILD) return;
  // Progress goes to the terminal. A module that fails to build stops the run: its previous build may still be in
  // build/, and tests passing on that stale module would hide the failure.
  try {
    execFileSync(process.execPath, [join(root, "scripts", "build-wasm.mjs"), "--for", "test", "--quiet"], {
      cwd: root,
      stdio: ["ignore", "inherit", "inherit"],
    });
  } catch {
    throw new Error("some wasm modules failed to build (see above): not running the tests on their previous builds");
  }
}
