// Run by presence-live.test.ts as `node --import tsx presence-child.ts <url> <user>`, then SIGKILLed:
// a client process that dies without closing anything, its presence typing.
import { createClient, memoryStorage } from '@tidings/core'
import { websocketTransport } from '@tidings/transport-websocket'
import WebSocket from 'ws'

const [url, user] = process.argv.slice(2)
if (!url || !user) throw new Error('usage: presence-child.ts <url> <user>')
const transport = websocketTransport({ url, token: `t-${user}`, WebSocket })
const client = createClient({ user, storage: memoryStorage(), transport })
const room = await client.open('room')
room.setPresence({ typing: true, note: 'about to die' })
await client.whenSynced()
process.stdout.write(`ready ${client.device}\n`)
