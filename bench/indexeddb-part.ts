import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium } from 'playwright-core'
import { CHROMIUM, CHROMIUM_ARGS, chromiumInstalled } from '../test/support/chromium.js'
import { bundlePage, servePage } from '../test/support/page-bundle.js'
import type { IdbPeer } from './indexeddb-page.js'
import { type Part, type Row, row, verdicts } from './rows.js'
import { int, markdownTable, sig } from './table.js'
import { log, median } from './workload.js'

/** Issue #12: durable sends at least 0.8× as fast as raw IndexedDB puts at the same durability. */
const GOAL_OF_RAW = 0.8
const REPS = 3
const MESSAGES = 500
const SMOKE_MESSAGES = 20
const PEERS: readonly IdbPeer[] = ['tidings', 'raw', 'yIndexeddb']
const NAMES: Record<IdbPeer, string> = {
  tidings: 'Tidings convo.send (indexeddbStorage)',
  raw: "raw IndexedDB put, durability 'strict'",
  yIndexeddb: 'y-indexeddb Y.Map.set',
}
const SCENARIO = 'IndexedDB in Chromium, durable sends, one awaited at a time'

/** Milliseconds per run of each peer, rep by rep, in one persistent Chromium profile on disk. */
const measure = async (messages: number, reps: number): Promise<Map<IdbPeer, number[]>> => {
  const script = await bundlePage(fileURLToPath(new URL('./indexeddb-page.ts', import.meta.url)))
  const server = await servePage(script)
  // A persistent profile: IndexedDB of an incognito context lives in memory, where no write is durable.
  const profile = mkdtempSync(join(tmpdir(), 'tidings-bench-idb-'))
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
  })
  const times = new Map<IdbPeer, number[]>(PEERS.map((p) => [p, []]))
  try {
    const page = context.pages()[0] ?? (await context.newPage())
    await page.goto(server.url)
    await page.waitForFunction(() => window.idbBench !== undefined)
    for (let rep = 0; rep < reps; rep++) {
      // Each rep starts with another peer, so none always runs on the coldest disk cache.
      for (let k = 0; k < PEERS.length; k++) {
        const peer = PEERS[(rep + k) % PEERS.length]!
        const ms = await page.evaluate(
          ([p, n, name]) => window.idbBench[p as IdbPeer](n as number, name as string),
          [peer, messages, `${peer}-${rep}`] as const,
        )
        log(`indexeddb ${peer} rep ${rep + 1}: ${sig(ms)} ms for ${messages}`)
        times.get(peer)!.push(ms)
      }
    }
  } finally {
    await context.close()
    await new Promise((resolve) => server.close(resolve))
    rmSync(profile, { recursive: true, force: true })
  }
  return times
}

const perSecond = (messages: number, ms: number) => (messages / ms) * 1000

const notRun = (): Row[] => [
  row({
    scenario: SCENARIO,
    metric: `not run: ${CHROMIUM} is missing`,
    unit: '',
    value: 0,
    goal: `≥ ${GOAL_OF_RAW}× raw put (not measured)`,
  }),
]

const METHOD = `How: one headless Chromium (${CHROMIUM}, playwright-core) with a persistent profile on disk, since an
incognito context keeps IndexedDB in memory. The page is bundled with esbuild from bench/indexeddb-page.ts.
Each peer writes into a fresh database; after 20 warm-up messages the timed messages are appended one at a
time, each awaited until durable, peers interleaved per rep (the rep's first peer rotates). Tidings:
\`createClient({ user, storage: indexeddbStorage({ name }) })\`, \`await convo.send({ text })\`, which resolves
after its write transaction (\`durability: 'strict'\`) completes. Raw: the same message record
\`put\` under its id in one store, one \`durability: 'strict'\` transaction per message, awaited: the same
durability and batching (one transaction per send). y-indexeddb: \`Y.Map.set\` of the record per message;
y-indexeddb stores each update in a transaction of its own at the browser's default durability (not
strict), awaited through a read-write transaction on its store after it.`

export const indexeddbPart: Part = {
  name: 'indexeddb',
  async run({ smoke }) {
    const title = 'IndexedDB in Chromium: durable sends'
    if (!chromiumInstalled) {
      const rows = notRun()
      return { title, body: `Not run: ${CHROMIUM} is missing (apt-get install chromium).`, rows }
    }
    const messages = smoke ? SMOKE_MESSAGES : MESSAGES
    const reps = smoke ? 1 : REPS
    const times = await measure(messages, reps)
    const rate = (peer: IdbPeer) => median(times.get(peer)!.map((ms) => perSecond(messages, ms)))
    const rows = [
      row({
        scenario: SCENARIO,
        metric: `msg/s over ${messages} sends`,
        unit: 'msg/s',
        value: rate('tidings'),
        peers: { [NAMES.raw]: rate('raw'), [NAMES.yIndexeddb]: rate('yIndexeddb') },
        ratio: rate('tidings') / rate('raw'),
        goal: `≥ ${GOAL_OF_RAW}× raw IndexedDB put at the same durability`,
        bound: { atLeast: GOAL_OF_RAW },
      }),
    ]
    const table = markdownTable(
      ['writer', 'msg/s (median)', 'min–max', 'ms per send', '× raw put'],
      PEERS.map((peer) => {
        const rates = times.get(peer)!.map((ms) => perSecond(messages, ms))
        return [
          NAMES[peer],
          int(rate(peer)),
          `${int(Math.min(...rates))}–${int(Math.max(...rates))}`,
          sig(1000 / rate(peer)),
          `${(rate(peer) / rate('raw')).toFixed(2)}×`,
        ]
      }),
    )
    return { title, body: [table, '', verdicts(rows), '', METHOD].join('\n'), rows }
  },
}
