// Run by crash.test.ts as `node --import tsx crash-child.ts <url> <schema> <first>` with
// TSX_TSCONFIG_PATH set to the root tsconfig.json, so '@tidings/core' resolves to core's source.
// Writes one Yjs update a time under withLock, prints its index once write() resolved, compacts
// now and then, and gets SIGKILLed at a random moment: inside a transaction, a lock or a compaction.
import * as Y from 'yjs'
import { postgresStorage } from '../src/index.js'

const [url, schema, first] = process.argv.slice(2)
if (!url || !schema || first === undefined) throw new Error('usage: crash-child.ts <url> <schema> <first>')

const storage = postgresStorage({ url, schema, max: 3 })
const doc = 'crash/normal/1'
const writer = new Y.Doc()
for (let i = Number(first); ; i++) {
  const before = Y.encodeStateVector(writer)
  writer.getMap('m').set(`k${i}`, 'x'.repeat((i * 37) % 300))
  const update = Y.encodeStateAsUpdate(writer, before)
  await storage.withLock([doc], () => storage.write({ updates: [{ doc, update, messages: 1 }] }))
  process.stdout.write(`${i}\n`)
  if (i % 8 === 7) await storage.compact(doc)
}
