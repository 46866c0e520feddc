import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import ts from 'typescript'
import { describe, expect, it } from 'vitest'
import { type Manifest, ROOT, rootManifest, workspacePackages } from './workspace.js'

// Package metadata, read from the sources: no build needed. The packed tarballs are checked in
// packed.test.ts.

const packages = workspacePackages()
const root = rootManifest()
const core = packages.find((p) => p.manifest.name === '@tidings/core')?.manifest as Manifest
const ourNames = new Set(packages.map((p) => p.manifest.name))

// Dependencies declared ahead of the code that imports them (work landing in parallel), by package.
// Remove an entry once its package imports it.
const PENDING: Record<string, string[]> = {}

/** `lib0/decoding` → `lib0`, `@tidings/core/conformance` → `@tidings/core`; undefined for built-ins. */
const packageOf = (specifier: string): string | undefined => {
  if (specifier.startsWith('.') || specifier.startsWith('node:')) return undefined
  const parts = specifier.split('/')
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]
}

const sourceFiles = (dir: string): string[] =>
  readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => /\.tsx?$/.test(f) && !/\.test\.tsx?$/.test(f))
    .map((f) => join(dir, f))

/** Every package a package's sources import, type-only and dynamic imports included. */
const importedPackages = (dir: string, self: string): Set<string> => {
  const found = new Set<string>()
  for (const file of sourceFiles(join(dir, 'src'))) {
    const { importedFiles } = ts.preProcessFile(readFileSync(file, 'utf8'), true, true)
    for (const { fileName } of importedFiles) {
      const name = packageOf(fileName)
      if (name !== undefined && name !== self) found.add(name)
    }
  }
  return found
}

/** Peers that the package's own dependencies ask for: declaring one is how a package satisfies it. */
const peersOfDependencies = (manifest: Manifest): Set<string> => {
  const peers = new Set<string>()
  for (const dep of Object.keys({ ...manifest.dependencies, ...manifest.peerDependencies })) {
    const ours = packages.find((p) => p.manifest.name === dep)?.manifest
    const theirs =
      ours ?? (JSON.parse(readFileSync(join(ROOT, 'node_modules', dep, 'package.json'), 'utf8')) as Manifest)
    for (const peer of Object.keys(theirs.peerDependencies ?? {})) peers.add(peer)
  }
  return peers
}

describe.each(packages.map((p) => [p.manifest.name, p] as const))(
  '%s package.json',
  (name, { dir, manifest }) => {
    it('has the metadata a registry page and an installer need', () => {
      expect(manifest.private).toBeUndefined()
      expect(manifest.license).toBe(root.license)
      expect(existsSync(join(dir, 'LICENSE'))).toBe(true)
      expect(manifest.repository).toEqual({ ...root.repository, directory: relative(ROOT, dir) })
      expect(manifest.engines).toEqual(root.engines)
      expect(manifest.publishConfig).toEqual({ access: 'public' })
      expect(manifest.sideEffects).toBe(false)
      expect(manifest.files).toEqual(['dist'])
    })

    it('takes @tidings/core as a peer with a range, and our other packages by range', () => {
      const uses = importedPackages(dir, name)
      expect(manifest.dependencies?.['@tidings/core']).toBeUndefined()
      if (uses.has('@tidings/core'))
        expect(manifest.peerDependencies?.['@tidings/core']).toBe(`^${core.version}`)
      for (const [dep, range] of Object.entries({ ...manifest.dependencies, ...manifest.peerDependencies })) {
        const ours = packages.find((p) => p.manifest.name === dep)?.manifest
        if (ours !== undefined) expect(range, dep).toBe(`^${ours.version}`)
      }
    })

    it('declares every package it imports, and nothing it does not', () => {
      const uses = importedPackages(dir, name)
      const runtime = { ...manifest.dependencies, ...manifest.peerDependencies }
      const declared = Object.keys(runtime).filter((dep) => !dep.startsWith('@types/'))
      const provided = peersOfDependencies(manifest)
      const pending = PENDING[name] ?? []

      expect([...uses].filter((dep) => !(dep in runtime))).toEqual([])
      const unused = declared.filter((dep) => !uses.has(dep) && !provided.has(dep) && !pending.includes(dep))
      expect(unused).toEqual([])
      // An @types package ships only because our declarations import its package.
      const typesFor = Object.keys(runtime).filter((dep) => dep.startsWith('@types/'))
      for (const dep of typesFor)
        expect(uses.has(dep.slice('@types/'.length).replace('__', '/')), dep).toBe(true)
    })

    it('has a changelog', () => {
      expect(existsSync(join(dir, 'CHANGELOG.md'))).toBe(true)
    })
  },
)

describe('changesets', () => {
  it('versions the published packages and ignores the private workspaces', () => {
    const config = JSON.parse(readFileSync(join(ROOT, '.changeset/config.json'), 'utf8')) as {
      access: string
      ignore: string[]
    }
    const privateNames = root.workspaces
      .map((w) => JSON.parse(readFileSync(join(ROOT, w, 'package.json'), 'utf8')) as Manifest)
      .filter((m) => m.private === true)
      .map((m) => m.name)
    expect(privateNames.length).toBeGreaterThan(0)
    expect([...config.ignore].sort()).toEqual(privateNames.sort())
    expect(config.access).toBe('public')
    for (const name of config.ignore) expect(ourNames.has(name)).toBe(false)
  })
})
