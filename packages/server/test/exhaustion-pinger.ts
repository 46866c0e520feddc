/**
 * The bystander of the exhaustion tests, in its own process so that the attackers' work in the
 * test process cannot delay its timers: connects to argv[2], pings every 20 ms, and on a line on
 * stdin prints the round trips in ms as JSON (pings still unanswered count the time they waited)
 * and exits.
 */
import { decodeFrame, encodeFrame } from '@tidings/protocol'
import WebSocket from 'ws'

const ws = new WebSocket(process.argv[2]!)
ws.binaryType = 'nodebuffer'
const sent = new Map<number, number>()
const rtts: number[] = []
let seq = 0
let pinger: ReturnType<typeof setInterval> | undefined
ws.on('open', () => ws.send(encodeFrame({ type: 'auth', token: 't-bystander', device: 'bystanderdev1' })))
ws.on('message', (data: Buffer) => {
  const frame = decodeFrame(new Uint8Array(data))
  if (frame.type === 'welcome') {
    pinger = setInterval(() => {
      const time = ++seq
      sent.set(time, performance.now())
      ws.send(encodeFrame({ type: 'ping', time }))
    }, 20)
    process.stdout.write('ready\n')
  }
  if (frame.type !== 'pong') return
  const at = sent.get(frame.time)
  if (at === undefined) return
  sent.delete(frame.time)
  rtts.push(performance.now() - at)
})
process.stdin.once('data', () => {
  clearInterval(pinger)
  const now = performance.now()
  const all = [...rtts, ...[...sent.values()].map((at) => now - at)]
  process.stdout.write(`${JSON.stringify({ rtts: all, open: ws.readyState === ws.OPEN })}\n`)
  ws.terminate()
  process.exit(0)
})
