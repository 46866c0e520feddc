import { readFileSync } from 'node:fs'
import type { DeviceId } from '@tidings/core'
import { afterEach, expect, it, vi } from 'vitest'
// The `node` export condition's entry; vitest maps the package name to src/index.ts, so import it by path.
import { websocketTransport } from '../src/node.js'
import { waitFor } from './helpers.js'
import { startStub } from './stub-server.js'

const cleanup: (() => Promise<void>)[] = []
afterEach(async () => {
  vi.unstubAllGlobals()
  for (const fn of cleanup.splice(0).reverse()) await fn()
})

it('connects in Node without being given a WebSocket', async () => {
  // As in Node 20: no global WebSocket (Node 22 has one; the entry must not need it).
  vi.stubGlobal('WebSocket', undefined)
  const stub = await startStub({ token: 'secret' })
  cleanup.push(() => stub.close())
  const t = websocketTransport({ url: stub.url, token: 'secret' })
  cleanup.push(() => t.close())
  t.connect({ user: 'alice', device: 'alice0001' as DeviceId })
  await waitFor(() => t.state === 'online', 'online')
  expect(stub.connections).toHaveLength(1)
})

it('is the entry Node resolves, for import and require', () => {
  const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    exports: Record<string, Record<string, { import: { default: string }; require: { default: string } }>>
  }
  const node = manifest.exports['.']!.node!
  expect([node.import.default, node.require.default]).toEqual(['./dist/node.js', './dist/node.cjs'])
})
