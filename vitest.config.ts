import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vitest/config'

const src = (path: string) => fileURLToPath(new URL(`./packages/${path}`, import.meta.url))

const ALL = ['packages/*/test/**/*.test.{ts,tsx}', 'examples/**/*.test.ts', 'test/**/*.test.ts']
/**
 * Tests that bound latencies under attack (p99, a bystander's pings): on 2 cores they run after
 * the others, one at a time, so a browser, a package build or another attack in the other worker
 * cannot push them past a bound.
 */
const TIMED = [
  'packages/server/test/exhaustion.test.ts',
  'packages/server/test/y-flood.test.ts',
  'packages/server/test/red-team/red-team-2-*.test.ts',
]
/** Builds and installs every package: CPU-heavy, so it runs last, alone. */
const PACKED = ['test/packaging/packed.test.ts']

// Tests import every package from source, so no build is needed before `vitest run`.
export default defineConfig({
  resolve: {
    // Every `@tidings/<name>` maps to packages/<name>/src/index.ts; core's conformance entry too.
    alias: [
      { find: /^@tidings\/core\/conformance$/, replacement: src('core/src/conformance/index.ts') },
      // Tests run in Node: the transport's `node` export condition, which brings `ws`.
      { find: /^@tidings\/transport-websocket$/, replacement: src('transport-websocket/src/node.ts') },
      { find: /^@tidings\/([a-z0-9-]+)$/, replacement: src('$1/src/index.ts') },
    ],
  },
  test: {
    // .ci/run asks for a JSON report beside the console one, to print its summary line.
    reporters: process.env.TIDINGS_VITEST_JSON ? ['default', 'json'] : ['default'],
    ...(process.env.TIDINGS_VITEST_JSON ? { outputFile: { json: process.env.TIDINGS_VITEST_JSON } } : {}),
    testTimeout: 30_000,
    hookTimeout: 30_000,
    projects: [
      { extends: true, test: { name: 'tidings', include: ALL, exclude: [...TIMED, ...PACKED] } },
      // One file at a time: two attacks side by side would share the 2 cores they measure.
      {
        extends: true,
        test: { name: 'timed', include: TIMED, fileParallelism: false, sequence: { groupOrder: 1 } },
      },
      { extends: true, test: { name: 'packed', include: PACKED, sequence: { groupOrder: 2 } } },
    ],
  },
})
