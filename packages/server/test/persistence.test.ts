import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { Device, laneDoc, startServer, TestClient } from './helpers.js'

const dirs: string[] = []
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

describe('restart', () => {
  it('keeps docs, manifest versions and clientID bindings in the default SQLite storage', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'tidings-server-'))
    dirs.push(dataDir)
    const doc = laneDoc('room')
    const first = await startServer({ dataDir })
    const alice = await TestClient.connect(first.url, 't-alice', 'alicedev1')
    await alice.subscribe('room')
    const device = new Device('alice', 'alicedev1')
    expect(await alice.update('room/meta', device.register('room'))).toBe('ack')
    const message = device.message(doc, 'survives restarts')
    expect(await alice.update(doc, message.update)).toBe('ack')
    const { version } = await alice.subscribe('room', 0)
    await first.close()

    const second = await startServer({ dataDir })
    const bob = await TestClient.connect(second.url, 't-bob', 'bobdev01')
    // The version from before the restart is still known: nothing changed since.
    expect(await bob.subscribe('room', version)).toMatchObject({ full: false, version, changes: [] })
    const replica = new Y.Doc()
    await bob.syncStep1(doc, replica)
    expect(replica.getMap('m').get(message.id)).toMatchObject({ body: 'survives restarts' })

    // Alice's clientID is still hers: Mallory cannot write under it after the restart.
    const mallory = await TestClient.connect(second.url, 't-mallory', 'mallory1')
    await mallory.subscribe('room')
    const forged = new Y.Doc()
    Y.applyUpdate(forged, Y.encodeStateAsUpdate(replica))
    forged.clientID = device.doc(doc).clientID
    const before = Y.encodeStateVector(forged)
    forged.getMap('m').set('mallory1.1', {
      author: 'mallory',
      device: 'mallory1',
      stamp: { wall: Date.now(), counter: 0 },
      body: 'x',
      priority: 'normal',
    })
    expect(await mallory.update(doc, Y.encodeStateAsUpdate(forged, before))).toMatchObject({
      code: 'permission/denied',
    })
    // And alice herself continues under it.
    const again = await TestClient.connect(second.url, 't-alice', 'alicedev1')
    await again.subscribe('room')
    expect(await again.update(doc, device.message(doc, 'after the restart').update)).toBe('ack')
  })
})
