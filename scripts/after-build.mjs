// Run by each package's `build` script after tsup, in the package folder.
//
// 1. A `.d.cts` file is read as CommonJS, so when it imports a package whose types are ESM-only
//    (yjs), TypeScript under node16/nodenext reports TS1479 in every CommonJS consumer. Those
//    imports are types only, so they may come from the ESM side: mark them
//    `import type … with { 'resolution-mode': 'import' }` (TypeScript 5.3+).
// 2. Entries listed in package.json "tsup.esmOnly" depend on an ESM-only package (the conformance
//    suites import vitest, whose `require` entry throws), so their CommonJS build could never load:
//    delete it rather than ship it. Node 20.19+ still loads them with `require()` (require(esm)).
import { readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import ts from 'typescript'

const options = { module: ts.ModuleKind.Node16, moduleResolution: ts.ModuleResolutionKind.Node16 }
const importLine = /^import (?!type )(.+) from '([^'.][^']*)';$/gm
const exportFrom = /^export .+ from '([^'.][^']*)';$/gm

const esmOnlyTypes = (specifier, file) => {
  const cjs = ts.ModuleKind.CommonJS
  const { resolvedModule } = ts.resolveModuleName(specifier, file, options, ts.sys, undefined, undefined, cjs)
  if (resolvedModule === undefined) return false
  const format = ts.getImpliedNodeFormatForFile(resolvedModule.resolvedFileName, undefined, ts.sys, options)
  return format === ts.ModuleKind.ESNext
}

const pkg = JSON.parse(await readFile('package.json', 'utf8'))
for (const entry of pkg.tsup?.esmOnly ?? []) {
  const base = join('dist', entry.replace(/^src\//, '').replace(/\.tsx?$/, ''))
  await Promise.all([`${base}.cjs`, `${base}.cjs.map`, `${base}.d.cts`].map((f) => rm(f, { force: true })))
}

const files = (await readdir('dist', { recursive: true })).filter((f) => f.endsWith('.d.cts'))
for (const name of files) {
  const file = resolve(join('dist', name))
  const text = await readFile(file, 'utf8')
  for (const [line, specifier] of text.matchAll(exportFrom)) {
    if (esmOnlyTypes(specifier, file))
      throw new Error(`${name}: cannot mark a re-export as ESM-only: ${line}`)
  }
  const fixed = text.replace(importLine, (line, clause, specifier) =>
    esmOnlyTypes(specifier, file)
      ? `import type ${clause} from '${specifier}' with { 'resolution-mode': 'import' };`
      : line,
  )
  if (fixed !== text) await writeFile(file, fixed)
}
