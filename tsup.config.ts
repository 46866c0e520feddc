import { defineConfig } from 'tsup'

// Shared by every package: run from the package folder (`npm run build -w @tidings/core`).
// Each package lists its entry points in package.json "tsup.entry"; the default is src/index.ts.
export default defineConfig(async () => {
  const { readFile } = await import('node:fs/promises')
  const pkg = JSON.parse(await readFile('package.json', 'utf8')) as { tsup?: { entry?: string[] } }
  return {
    entry: pkg.tsup?.entry ?? ['src/index.ts'],
    format: ['esm', 'cjs'],
    dts: { compilerOptions: { composite: false } },
    tsconfig: 'tsconfig.json',
    sourcemap: true,
    clean: true,
    target: 'es2022',
  }
})
