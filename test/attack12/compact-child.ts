// Run by compact-kill.test.ts as `node --import tsx compact-child.ts <path> <seed>`, then SIGKILLed:
// an offline client that sends chat-like messages one after another, printing each id once its
// send resolved, while its storage compacts (and deflates) the lane doc over and over.
import { createClient } from '@tidings/core'
import { sqliteStorage } from '@tidings/storage-sqlite'
import { chatText } from '@tidings/testing'

const [path, seed] = process.argv.slice(2)
if (!path || !seed) throw new Error('usage: compact-child.ts <path> <seed>')
const storage = sqliteStorage({ path })
const client = createClient({ user: 'ann', storage })
const convo = await client.open('kill-room')
const text = chatText(Number(seed))
let lane = ''
const compacting = async () => {
  for (;;) {
    if (lane) await storage.compact(lane)
    await new Promise((resolve) => setImmediate(resolve))
  }
}
void compacting()
for (let i = 0; ; i++) {
  const m = await convo.send({ text: `${seed}/${i} ${text()} ${text()}` })
  if (!lane) lane = (await storage.listDocs('kill-room')).find((d) => d.doc.includes('/normal/'))?.doc ?? ''
  process.stdout.write(`sent ${m.id}\n`)
}
