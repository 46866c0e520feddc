// The page the browser test loads: `?mode=write&run=<tag>` sends messages until the browser is
// killed, recording each id once send() resolved; `?mode=verify` reads back every stored message.
import { createClient, type Priority } from '@tidings/core'
import { indexeddbStorage } from '@tidings/storage-indexeddb'

declare global {
  interface Window {
    /** [message id, body tag] of every send() that resolved, in the order they resolved. */
    acked: [string, string][]
    /** Every stored message as [id, body tag], once verify mode has loaded them all. */
    stored?: [string, string][]
    /** What a second adapter on the same database got while the first held the Web Lock. */
    secondAdapter?: string
    failure?: string
  }
}

const params = new URLSearchParams(location.search)
const run = params.get('run') ?? 'run'
window.acked = []

const main = async () => {
  const client = createClient({ user: 'kill-test', storage: indexeddbStorage({ name: 'kill-test' }) })
  const room = await client.open('room')
  if (params.get('mode') === 'verify') {
    while (await room.loadOlder()) {}
    window.stored = room.messages().map((m) => [m.id, (m.body as { tag: string }).tag])
    const second = indexeddbStorage({ name: 'kill-test' })
    window.secondAdapter = await second.getMeta('device').then(
      () => 'no error',
      (error: { code?: string }) => error.code ?? String(error),
    )
    await second.close()
    return
  }
  // Three lanes at once, so the kill can land while several transactions are open.
  const loop = async (priority: Priority) => {
    for (let i = 0; ; i++) {
      const tag = `${run}:${priority}:${i}`
      const m = await room.send({ tag }, { priority })
      window.acked.push([m.id, tag])
    }
  }
  await Promise.all((['urgent', 'normal', 'low'] as const).map(loop))
}

main().catch((error: unknown) => {
  window.failure = String((error as Error)?.stack ?? error)
})
