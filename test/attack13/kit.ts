// Shared set-up of the attack13 suite: the server's own cluster kit (fresh PostgreSQL schema and
// Redis prefix per test, nodes stopped after it) and its raw protocol helpers, re-exported so each
// attack file reads as the attack alone.
import { expect } from 'vitest'
import type { Device, TestClient } from '../../packages/server/test/helpers.js'

export {
  hasRedisServer,
  isolation,
  later,
  missingBackends,
  ownRedis,
  sharedStorage,
  spawnNode,
  startNode,
} from '../../packages/server/test/cluster/kit.js'
export {
  Device,
  laneDoc,
  member,
  refusalCode,
  storedDoc,
  TestClient,
} from '../../packages/server/test/helpers.js'

export const DAY = 24 * 60 * 60 * 1000

/** Polls `check` until it holds; fails after `ms`, naming `what`. */
export const until = async (check: () => boolean | Promise<boolean>, what: string, ms = 8000) => {
  const deadline = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

/** A pin of `id` as its author's record stands, written into meta by `who`'s fresh doc. */
export const pinOf = (
  who: { device: Device },
  conversation: string,
  id: string,
  record: Record<string, unknown>,
): Uint8Array => {
  const { body, ...header } = record
  const key = `${id}/${who.device.id}`
  return who.device
    .fresh()
    .change(`${conversation}/meta`, (d) => d.getMap('pins').set(key, { header, body, stamp: header.stamp }))
}

/** Sends and expects an ack. */
export const acked = async (who: { client: TestClient }, doc: string, update: Uint8Array) => {
  expect(await who.client.update(doc, update)).toBe('ack')
}
