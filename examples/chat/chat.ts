/**
 * A terminal chat client: `npm run chat -- <user> [conversation]` against the server that
 * `npm start` runs (as alice, bob or carol: its demo tokens). Messages are kept in
 * ./data/clients/<user>.db, so they survive restarts and anything written while the server is
 * down goes up, urgent first, when it returns.
 *
 * Type a line to send it. `/urgent <text>` sends with urgent priority, `/offline` and `/online`
 * drop and restore the link, `/read` marks everything read, `/quit` leaves.
 */
import { mkdirSync } from 'node:fs'
import { createInterface } from 'node:readline/promises'
import { type Conversation, createClient } from '@tidings/core'
import { sqliteStorage } from '@tidings/storage-sqlite'
import { websocketTransport } from '@tidings/transport-websocket'
import WebSocket from 'ws'
import { CLEAR, line, screen } from './screen.js'

const [user = 'alice', room = 'ops-room'] = process.argv.slice(2)
const url = process.env.TIDINGS_URL ?? 'ws://127.0.0.1:8080'
mkdirSync('data/clients', { recursive: true })

const transport = websocketTransport({ url, token: `demo-${user}`, WebSocket: WebSocket as never })
const client = createClient({ user, storage: sqliteStorage({ path: `data/clients/${user}.db` }), transport })

const input = createInterface({ input: process.stdin, output: process.stdout })
const notices: string[] = []
const notice = (text: string) => {
  notices.push(`· ${text}`)
  notices.splice(0, notices.length - 3)
  render()
}
client.on('connection', (state) => notice(`link: ${state}`))
client.on('error', (error) => notice(`${error.code}: ${error.message}`))
let opened = false
const convo: Conversation = await client.open(room)
opened = true

// A terminal redraws the whole window, so statuses change in place and a late message takes its
// place in the order; a pipe gets each message once, when it first shows.
const printed = new Set<string>()
function render() {
  // Link notices can come while the conversation still opens.
  if (!opened) return
  if (process.stdout.isTTY) {
    const rows = Math.max(5, (process.stdout.rows ?? 24) - notices.length - 3)
    process.stdout.write(
      `${CLEAR}${[`# ${room} as ${user}`, ...screen(convo.messages(), rows), ...notices].join('\n')}\n`,
    )
    input.prompt(true)
    return
  }
  for (const m of convo.messages()) {
    if (printed.has(m.id)) continue
    printed.add(m.id)
    console.log(line(m))
  }
}
render()
convo.subscribe(render)

for await (const typed of input) {
  const text = typed.trim()
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
