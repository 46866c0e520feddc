// Devices on real storage: the DeviceStorage factory for crash and restart on SQLite.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { sqliteStorage } from '@tidings/storage-sqlite'
import { assertConverged, createSimulatedNetwork } from '@tidings/testing'
import { afterEach, expect, test } from 'vitest'
import { say, texts, thrown } from './user-helpers.js'

const dirs: string[] = []
const tempDb = (name: string) => {
  const dir = mkdtempSync(join(tmpdir(), 'kit-user-'))
  dirs.push(dir)
  return join(dir, name)
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

test('a SQLite device given as a factory keeps what it committed across crash and restart', async () => {
  const path = tempDb('alice.db')
  const net = createSimulatedNetwork({ seed: 1 })
  const alice = await net.device('alice', { storage: () => sqliteStorage({ path }) })
  const bob = await net.device('bob')
  net.offline(alice)
  await say(alice, 'x1')
  await say(alice, 'x2')
  await net.crash(alice)
  await net.restart(alice)
  expect(await texts(alice)).toEqual(['x1', 'x2'])
  net.online(alice)
  await net.settle()
  await assertConverged(net, 'room')
  expect(await texts(bob)).toEqual(['x1', 'x2'])
  await net.close()
})

// FINDING (wrong state after an error), fixed: crash() of a device on a plain adapter (no
// reopen(), no factory) threw a clear message, but only after half-crashing it: `crashed` true,
// its link down while its client kept writing, never to reconnect. Now the check comes first.
test('a crash() refused for storage without reopen() leaves the device running', async () => {
  const net = createSimulatedNetwork({ seed: 1 })
  const alice = await net.device('alice', { storage: sqliteStorage({ path: tempDb('plain.db') }) })
  const bob = await net.device('bob')
  const error = await thrown(() => net.crash(alice))
  expect(error?.message).toMatch(/pass a factory as storage/)
  expect(alice.crashed).toBe(false)
  await say(alice, 'after the refused crash')
  await net.settle()
  expect(await texts(bob)).toEqual(['after the refused crash'])
  await net.close()
})
