import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { expect, it } from 'vitest'

const src = fileURLToPath(new URL('../src', import.meta.url))

const sources = async (dir: string): Promise<string[]> => {
  const found: string[] = []
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) found.push(...(await sources(path)))
    else if (entry.name.endsWith('.ts')) found.push(path)
  }
  return found
}

it('core imports only yjs, lib0 and its own modules (the conformance suites add vitest and fast-check)', async () => {
  const allowed = /^(yjs|lib0(\/.*)?|\.{1,2}\/.*)$/
  const testing = /^(vitest|fast-check)$/
  for (const file of await sources(src)) {
    const text = await readFile(file, 'utf8')
    // Not preceded by a quote: `op: 'import'` is a string, not an import.
    for (const [, specifier] of text.matchAll(/(?<![\w'])(?:from|import)\s*\(?\s*'([^']+)'/g)) {
      const ok = allowed.test(specifier!) || (file.includes('/conformance/') && testing.test(specifier!))
      expect(ok, `${file} imports ${specifier}`).toBe(true)
    }
    // Platform globals that do not exist everywhere the core runs.
    expect(text, `${file} uses process`).not.toMatch(/\bprocess\./)
    expect(text, `${file} uses Buffer`).not.toMatch(/\bBuffer\b/)
  }
})
