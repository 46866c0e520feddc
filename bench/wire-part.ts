import { inChild } from './child.js'
import { type Part, row, verdicts } from './rows.js'
import { bytes, markdownTable, sig } from './table.js'
import type { Texts, WireRep } from './wire.js'
import { log, median } from './workload.js'

/** Issue #12: a full sync of 10k messages puts at most as many bytes on the wire as their JSON. */
const GOAL_OF_JSON = 1

const METHOD_WIRE = (
  messages: number,
  reps: number,
) => `How: per repetition, in a fresh Node process, one device of
alice sends ${messages.toLocaleString('en-US')} messages (\`convo.send({ text })\`, one period) through a
real \`@tidings/server\` (memoryStorage) over \`@tidings/transport-websocket\` (Node \`ws\`) and waits until
every one is acknowledged. Then, twice, a new server starts on that storage, once with
\`perMessageDeflate: false\` (the default) and once with \`true\`, and a new device of bob (empty
memoryStorage) opens the conversation through a counting TCP proxy (\`faultyProxy\` of
@tidings/testing, no throttling) until \`client.whenSynced()\` resolves with every message shown. "Bytes
on the wire" are what crossed the proxy in both directions from the TCP connect to then: HTTP upgrade,
WebSocket framing, auth, subscribe, manifest, sync steps, acks. The peers are encodings of the messages
that device received, taken from the server's stored lane doc: \`JSON.stringify\` of \`[{ id, ...record }]\`,
and stock Yjs \`encodeStateAsUpdate\` / \`encodeStateAsUpdateV2\` of a doc holding that map (what
y-websocket's sync step 2 carries, before its framing). It runs with the bench's texts (\`message number <i>\`,
which deflate far better than chat) and with chat-like ones (\`chatText\` of @tidings/testing), interleaved.
Median of ${reps} repetitions, min–max in brackets.`

const range = (values: readonly number[], per: number) =>
  `${sig(median(values) / per)} (${sig(Math.min(...values) / per)}–${sig(Math.max(...values) / per)})`

const TEXTS: readonly { texts: Texts; label: string }[] = [
  { texts: 'bench', label: 'bench texts' },
  { texts: 'chat', label: 'chat-like texts' },
]

const total = (s: { down: number; up: number }) => s.down + s.up

/** The table and goal rows of one text variant's repetitions. */
const variant = (label: string, runs: readonly WireRep[], messages: number) => {
  const plain = runs.map((r) => total(r.plain))
  const deflate = runs.map((r) => total(r.deflate))
  const json = median(runs.map((r) => r.json)) / messages
  const peers = {
    'JSON of the messages': json,
    'Yjs encodeStateAsUpdate (v1)': median(runs.map((r) => r.yjsV1)) / messages,
    'Yjs encodeStateAsUpdateV2': median(runs.map((r) => r.yjsV2)) / messages,
  }
  const scenario = `bytes on the wire per message, full sync of ${messages} messages, ${label}`
  const rowOf = (metric: string, values: readonly number[]) => {
    const value = median(values) / messages
    return row({
      scenario,
      metric,
      unit: 'B',
      value,
      peers,
      ratio: value / json,
      goal: `≤ ${GOAL_OF_JSON}× JSON`,
      bound: { atMost: GOAL_OF_JSON },
    })
  }
  const rows = [
    rowOf('B/msg, permessage-deflate off (server default)', plain),
    rowOf('B/msg, permessage-deflate on', deflate),
  ]
  const table = markdownTable(
    [label, 'bytes (median)', 'B/msg (min–max)', '× JSON'],
    (
      [
        ['Tidings full sync, deflate off: total', plain],
        ['  server → client', runs.map((r) => r.plain.down)],
        ['Tidings full sync, deflate on: total', deflate],
        ['  server → client', runs.map((r) => r.deflate.down)],
        ['JSON of the messages', runs.map((r) => r.json)],
        ['Yjs encodeStateAsUpdate (v1)', runs.map((r) => r.yjsV1)],
        ['Yjs encodeStateAsUpdateV2', runs.map((r) => r.yjsV2)],
      ] as const
    ).map(([what, v]) => [what, bytes(median(v)), range(v, messages), sig(median(v) / messages / json)]),
  )
  const timing = (mode: 'plain' | 'deflate') =>
    `${sig(median(runs.map((r) => r[mode].ms)))} ms (CPU ${sig(median(runs.map((r) => r[mode].cpuMs)))} ms)`
  const times = `Time of that sync on localhost, open() to whenSynced(), server and client in one process: deflate off ${timing('plain')}, on ${timing('deflate')} (medians).`
  return { body: [table, '', times].join('\n'), rows }
}

export const wirePart: Part = {
  name: 'wire',
  async run({ smoke }) {
    const messages = smoke ? 200 : 10_000
    const reps = smoke ? 1 : 3
    const runs = new Map<Texts, WireRep[]>(TEXTS.map((t) => [t.texts, []]))
    // Variants interleaved, each repetition in a fresh process.
    for (let rep = 0; rep < reps; rep++) {
      for (const { texts } of TEXTS) {
        log(`wire: rep ${rep + 1} of ${reps}, ${messages} messages, ${texts} texts`)
        runs.get(texts)!.push(await inChild<WireRep>({ kind: 'wire', messages, texts }))
      }
    }
    const variants = TEXTS.map(({ texts, label }) => variant(label, runs.get(texts)!, messages))
    const rows = variants.flatMap((v) => v.rows)
    return {
      title: `4. Bytes on the wire: a new device's full sync of ${messages.toLocaleString('en-US')} messages`,
      body: [...variants.map((v) => v.body), '', verdicts(rows), '', METHOD_WIRE(messages, reps)].join(
        '\n\n',
      ),
      rows,
    }
  },
}
