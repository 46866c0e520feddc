// Run by crash.test.ts as `node --import tsx crash-child.ts <path>` with TSX_TSCONFIG_PATH set to the
// root tsconfig.json, so '@tidings/core' resolves to core's source as it does under vitest.
// Prints each message id only after send() resolved, then gets SIGKILLed at a random moment.
import { createClient, PRIORITIES } from '@tidings/core'
import { sqliteStorage } from '../src/index.js'

const path = process.argv[2]
if (!path) throw new Error('usage: crash-child.ts <database path>')

const storage = sqliteStorage({ path })
const client = createClient({ user: 'crash', storage })
const convo = await client.open('crash-room')
for (let i = 0; ; i++) {
  const message = await convo.send(
    { text: `message ${i}`, pad: 'x'.repeat((i * 37) % 300) },
    { priority: PRIORITIES[i % PRIORITIES.length]! },
  )
  process.stdout.write(`${message.id}\n`)
  // Compact now and then, so some kills land inside a compaction.
  if (i % 8 === 7) for (const { doc } of await storage.listDocs('crash-room')) await storage.compact(doc)
}
