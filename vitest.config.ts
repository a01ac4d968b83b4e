import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    globalSetup: ["test/setup/build.ts"],
    include: ["test/**/*.test.ts"],
    testTimeout: 20000,
  },
});
