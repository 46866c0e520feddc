/**
 * A terminal chat client: `npm run chat -- <user> [conversation]` against the server that
 * `npm start` runs. Messages are kept in ./data/clients/<user>.db, so they survive restarts and
 * anything written while the server is down goes up, urgent first, when it returns.
 *
 * Type a line to send it. `/urgent <text>` sends with urgent priority, `/offline` and `/online`
 * drop and restore the link, `/read` marks everything read, `/quit` leaves.
 */
import { mkdirSync } from 'node:fs'
import { createInterface } from 'node:readline/promises'
import { type Conversation, createClient, type Message } from '@tidings/core'
import { sqliteStorage } from '@tidings/storage-sqlite'
import { websocketTransport } from '@tidings/transport-websocket'
import WebSocket from 'ws'

const [user = 'alice', room = 'ops-room'] = process.argv.slice(2)
const url = process.env.TIDINGS_URL ?? 'ws://127.0.0.1:8787'
mkdirSync('data/clients', { recursive: true })

const transport = websocketTransport({ url, token: `demo-${user}`, WebSocket: WebSocket as never })
const client = createClient({ user, storage: sqliteStorage({ path: `data/clients/${user}.db` }), transport })
client.on('connection', (state) => console.log(`· link: ${state}`))
client.on('error', (error) => console.log(`· ${error.code}: ${error.message}`))

export const format = (m: Message) =>
  `${new Date(m.sentAt).toISOString().slice(11, 19)} ${m.priority === 'urgent' ? '!' : ' '} ${m.author}: ${
    m.deleted
      ? '(deleted)'
      : typeof m.body === 'object' && m.body && 'text' in m.body
        ? m.body.text
        : JSON.stringify(m.body)
  }  [${m.status}]`

const convo: Conversation = await client.open(room)
const shown = new Map<string, Message>()
const render = () => {
  for (const m of convo.messages()) {
    if (shown.get(m.id) !== m) console.log(format(m))
    shown.set(m.id, m)
  }
}
render()
convo.subscribe(render)

const input = createInterface({ input: process.stdin, output: process.stdout })
for await (const line of input) {
  const text = line.trim()
  if (text === '/quit') break
  else if (text === '/offline') transport.disconnect()
  else if (text === '/online') transport.connect({ user, device: client.device! })
  else if (text === '/read') {
    const last = convo.messages().at(-1)
    if (last) await convo.markRead(last.id)
  } else if (text.startsWith('/urgent ')) await convo.send({ text: text.slice(8) }, { priority: 'urgent' })
  else if (text) await convo.send({ text })
}
input.close()
await client.close()
