import { writeFileSync } from 'node:fs'
import { Session } from 'node:inspector/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createClient, DEFAULT_PERIOD_MS, memoryStorage, type StorageAdapter } from '@tidings/core'
import { ONE_PERIOD_MS } from './engines.js'
import { generateConversation } from './generate.js'
import { markdownTable, sig } from './table.js'
import { messageText, now, USER } from './workload.js'

/**
 * CPU profile of one Tidings path, summarised by function (self and total time) and by file.
 * `npm run profile -w @tidings/bench -- send [upTo] [window] [no-compact]` profiles sends
 * upTo-window+1 … upTo into one period, yielding to the event loop every 256 sends as the append
 * bench does (default 99,001–100,000; `no-compact` makes the storage's
 * compact() a no-op);
 * `-- open [messages] [perPeriod]` profiles fresh clients opening a generated conversation (default
 * 1,000,050 messages: 1,000 periods of 1,000 and a newest period of 50, one row per period doc).
 * The raw profile is written to the temp folder for Chrome DevTools or speedscope.
 */

interface Node {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number }
  children?: number[]
}
interface Profile {
  nodes: Node[]
  samples: number[]
  timeDeltas: number[]
}

const where = (url: string) => {
  const path = url.replace(/^file:\/\//, '')
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)\/(.*)$/.exec(path)
  if (pkg) return `${pkg[1]}/${pkg[2]!.split('/').pop()}`
  const src = /packages\/([^/]+)\/src\/(.*)$/.exec(path)
  if (src) return `@tidings/${src[1]}/${src[2]}`
  return path.split('/').slice(-2).join('/') || '(native)'
}

const summarise = (profile: Profile, top: number): string => {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]))
  const parent = new Map<number, number>()
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
  const key = (n: Node) =>
    `${n.callFrame.functionName || '(anonymous)'} ${where(n.callFrame.url)}:${n.callFrame.lineNumber + 1}`
  const self = new Map<string, number>()
  const total = new Map<string, number>()
  const files = new Map<string, number>()
  let all = 0
  const inInspector = (id: number) => {
    for (let n: number | undefined = id; n !== undefined; n = parent.get(n)) {
      if (byId.get(n)!.callFrame.url === 'node:inspector') return true
    }
    return false
  }
  profile.samples.forEach((id, i) => {
    // The samples taken while the profiler itself starts and stops are not the code under test.
    if (inInspector(id)) return
    const dt = (profile.timeDeltas[i] ?? 0) / 1000
    all += dt
    const leaf = byId.get(id)!
    self.set(key(leaf), (self.get(key(leaf)) ?? 0) + dt)
    const file = leaf.callFrame.url
      ? where(leaf.callFrame.url).replace(/\/[^/]+$/, '')
      : leaf.callFrame.functionName
    files.set(file, (files.get(file) ?? 0) + dt)
    const seen = new Set<string>()
    for (let n: number | undefined = id; n !== undefined; n = parent.get(n)) {
      const k = key(byId.get(n)!)
      if (seen.has(k)) continue
      seen.add(k)
      total.set(k, (total.get(k) ?? 0) + dt)
    }
  })
  const rows = (m: Map<string, number>) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([k, ms]) => [k, sig(ms), `${((ms / all) * 100).toFixed(1)}%`])
  return [
    `sampled ${sig(all)} ms`,
    '',
    '### self time by function',
    markdownTable(['function', 'ms', 'share'], rows(self)),
    '',
    '### total time by function (callees included)',
    markdownTable(['function', 'ms', 'share'], rows(total)),
    '',
    '### self time by package / folder',
    markdownTable(['where', 'ms', 'share'], rows(files)),
  ].join('\n')
}

const profiled = async (name: string, fn: () => Promise<void>) => {
  const session = new Session()
  session.connect()
  await session.post('Profiler.enable')
  await session.post('Profiler.setSamplingInterval', { interval: 100 })
  await session.post('Profiler.start')
  const start = now()
  await fn()
  const elapsed = now() - start
  const { profile } = (await session.post('Profiler.stop')) as { profile: Profile }
  session.disconnect()
  const file = join(tmpdir(), `tidings-${name}-${Date.now()}.cpuprofile`)
  writeFileSync(file, JSON.stringify(profile))
  process.stdout.write(
    `## ${name}: ${sig(elapsed)} ms wall\n\n${summarise(profile, 25)}\n\nraw profile: ${file}\n`,
  )
}

const profileSend = async (upTo: number, window: number, compact: boolean) => {
  const base = memoryStorage()
  const noop = async () => {}
  const storage = compact ? base : { ...base, compact: noop, compactTail: noop }
  const client = createClient({ user: USER, storage, periodMs: ONE_PERIOD_MS })
  const convo = await client.open('profile-send')
  for (let i = 1; i <= upTo - window; i++) {
    await convo.send({ text: messageText(i) })
    if (i % 256 === 0) await new Promise((r) => setImmediate(r))
  }
  const label = `send ${upTo - window + 1}–${upTo}${compact ? '' : ', compact() a no-op'}`
  await profiled(label, async () => {
    for (let i = upTo - window + 1; i <= upTo; i++) {
      await convo.send({ text: messageText(i) })
      if (i % 256 === 0) await new Promise((r) => setImmediate(r))
    }
  })
  await client.close()
}

const profileOpen = async (messages: number, perPeriod: number) => {
  const storage = memoryStorage()
  await generateConversation(
    storage,
    'profile-open',
    { label: '', messages, perPeriod, rows: 'per-period' },
    DEFAULT_PERIOD_MS,
  )
  const shared: StorageAdapter = { ...storage, close: async () => {} }
  const openOnce = async () => {
    const client = createClient({ user: USER, storage: shared })
    await client.open('profile-open')
    await client.close()
  }
  for (let w = 0; w < 3; w++) await openOnce()
  await profiled(`open ×20, ${messages} messages, ${perPeriod} per period`, async () => {
    for (let r = 0; r < 20; r++) await openOnce()
  })
}

const what = process.argv[2] ?? 'send'
if (what === 'send') {
  const [upTo = '100000', window = '1000', storage = 'compact'] = process.argv.slice(3)
  await profileSend(Number(upTo), Number(window), storage !== 'no-compact')
} else if (what === 'open') {
  const [messages = '1000050', perPeriod = '1000'] = process.argv.slice(3)
  await profileOpen(Number(messages), Number(perPeriod))
} else throw new Error(`unknown profile ${what}: use send or open`)
