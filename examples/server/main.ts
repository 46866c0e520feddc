/**
 * `npm start`: the Tidings server on an embedded SQLite database in ./data, and a scripted chat
 * between two clients over real WebSockets, one of them losing its link and writing offline.
 * The server keeps running afterwards: join it with `npm run chat -- alice` (or any name).
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type Conversation, createClient } from '@tidings/core'
import { createServer } from '@tidings/server'
import { sqliteStorage } from '@tidings/storage-sqlite'
import { websocketTransport } from '@tidings/transport-websocket'
import WebSocket from 'ws'
import { until } from '../shared/until.js'

const port = Number(process.env.PORT ?? 8787)
mkdirSync('data', { recursive: true })
const server = await createServer({
  port,
  host: '127.0.0.1',
  dataDir: 'data',
  // Demo auth: the token `demo-<name>` signs in as <name>. Pass your own authenticate in production.
  authenticate: (token) => (token.startsWith('demo-') ? { userId: token.slice(5), canWrite: true } : null),
})
console.log(`Tidings server on ${server.url} (data in ./data/tidings.db)\n`)

// The scripted chat keeps its client stores in a temporary folder, so every run starts fresh.
const scratch = mkdtempSync(join(tmpdir(), 'tidings-demo-'))
const device = (user: string) => {
  const transport = websocketTransport({
    url: server.url,
    token: `demo-${user}`,
    WebSocket: WebSocket as never,
  })
  const client = createClient({
    user,
    transport,
    storage: sqliteStorage({ path: join(scratch, `${user}.db`) }),
  })
  return { client, transport }
}
const text = (convo: Conversation) =>
  convo
    .messages()
    .map(
      (m) =>
        `  ${m.priority === 'urgent' ? '!' : ' '} ${m.author.padEnd(6)} ${(m.body as { text: string }).text.padEnd(38)} ${m.status}`,
    )

const room = `demo-${Date.now().toString(36)}`
const alice = device('alice')
const bob = device('bob')
const a = await alice.client.open(room)
const b = await bob.client.open(room)
await a.send({ text: 'Shipment leaves at 14:00' })
await until(b, () => b.messages().length === 1)

console.log('Bob loses his link and writes three messages, the last one urgent.')
bob.transport.disconnect()
await b.send({ text: 'Pallets 3-7 loaded' })
await b.send({ text: 'Driver is late' })
await b.send({ text: 'STOP: wrong container, do not sign' }, { priority: 'urgent' })
console.log(text(b).join('\n'))

console.log('\nThe link returns: the outbox goes up urgent first, and Alice reads everything.')
bob.transport.connect({ user: 'bob', device: bob.client.device! })
await until(a, () => a.messages().length === 4)
await a.markRead(a.messages().at(-1)!.id)
await until(b, () => b.messages().every((m) => m.status === (m.author === 'bob' ? 'read' : 'delivered')))
console.log(text(b).join('\n'))
await Promise.all([alice.client.close(), bob.client.close()])
rmSync(scratch, { recursive: true, force: true })

console.log(
  `\nThe server keeps running. In other terminals: npm run chat -- alice   and   npm run chat -- bob`,
)
console.log('Stop it with Ctrl-C.')
const stop = async () => {
  await server.close()
  process.exit(0)
}
process.once('SIGINT', stop)
process.once('SIGTERM', stop)
if (process.env.TIDINGS_DEMO_EXIT) await stop()
