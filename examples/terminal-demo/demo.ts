/**
 * Two devices share a conversation through an in-process hub. Bob loses his link, keeps writing,
 * and both end with the same conversation in the same order, with exact read status.
 * Run with `npm start`.
 */
import { type Conversation, createClient, loopbackHub, type Message } from '@tidings/core'
import { until } from '../shared/until.js'

const hub = loopbackHub()
const alice = createClient({ user: 'alice', transport: hub.transport(), receiptDelay: 0 })
const bobLink = hub.transport()
const bob = createClient({ user: 'bob', transport: bobLink, receiptDelay: 0 })

const line = (m: Message) =>
  `  ${m.priority === 'urgent' ? '!' : ' '} ${m.author.padEnd(5)} ${JSON.stringify(m.body).padEnd(44)} ${m.status}`
const show = (title: string, convo: Conversation) => {
  console.log(`\n${title}`)
  for (const m of convo.messages()) console.log(line(m))
}

const a = await alice.open('ops-room')
const b = await bob.open('ops-room')
await a.send({ text: 'Shipment leaves at 14:00' })
await until(b, () => b.messages().length === 1)
show('Both online, after the first message (bob sees):', b)

console.log('\nBob boards a plane: his link drops.')
bobLink.disconnect()
for (const text of ['Checked the manifest', 'Pallets 3-7 loaded', 'Driver is late']) await b.send({ text })
await b.send({ text: 'STOP: wrong container, do not sign' }, { priority: 'urgent' })
await a.send({ text: 'Anyone there?' })
show('Bob, offline (stored locally, pending):', b)
console.log(
  `  bob's outbox, urgent first: ${b
    .pending()
    .map((m) => (m.body as { text: string }).text)
    .join(' | ')}`,
)

console.log('\nBob lands: the link returns and the outbox goes up, urgent first.')
bobLink.connect({ user: 'bob', device: bob.device! })
await until(a, () => a.messages().length === 6)
await a.markRead(a.messages().at(-1)!.id)
await until(b, () =>
  b
    .messages()
    .filter((m) => m.author === 'bob')
    .every((m) => m.status === 'read'),
)
await until(a, () =>
  a
    .messages()
    .filter((m) => m.author === 'alice')
    .every((m) => m.status === 'delivered'),
)

show('Alice, after sync and reading everything:', a)
show('Bob, after sync:', b)
const same = JSON.stringify(a.messages().map((m) => m.id)) === JSON.stringify(b.messages().map((m) => m.id))
console.log(`\nSame messages in the same order on both devices: ${same ? 'yes' : 'NO'}`)
console.log(`Unread for bob: ${b.unreadIds().length}, for alice: ${a.unreadIds().length}`)
await Promise.all([alice.close(), bob.close()])
if (!same) process.exit(1)
