import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vitest/config'

const src = (path: string) => fileURLToPath(new URL(`./packages/${path}`, import.meta.url))

// Tests import every package from source, so no build is needed before `vitest run`.
export default defineConfig({
  resolve: {
    // Every `@tidings/<name>` maps to packages/<name>/src/index.ts; core's conformance entry too.
    alias: [
      { find: /^@tidings\/core\/conformance$/, replacement: src('core/src/conformance/index.ts') },
      { find: /^@tidings\/([a-z0-9-]+)$/, replacement: src('$1/src/index.ts') },
    ],
  },
  test: {
    // .ci/run asks for a JSON report beside the console one, to print its summary line.
    reporters: process.env.TIDINGS_VITEST_JSON ? ['default', 'json'] : ['default'],
    ...(process.env.TIDINGS_VITEST_JSON ? { outputFile: { json: process.env.TIDINGS_VITEST_JSON } } : {}),
    include: ['packages/*/test/**/*.test.{ts,tsx}', 'examples/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
})
