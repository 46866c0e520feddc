// Red team 2 (exhaustion): unauthenticated connections that each send almost all of one big
// WebSocket frame (just under maxPayload) and never finish it: the server holds the partial frame.
// Defence: maxUnauthenticated connections over the server (default 64); more are refused at the upgrade.
import { randomBytes } from 'node:crypto'
import { connect, type Socket } from 'node:net'
import { expect, it } from 'vitest'
import { BOUNDS, duringAttack, startServerProcess } from '../exhaustion-helpers.js'

const N = Number(process.env.RT_N ?? 250)
const PAYLOAD = 1_000_000

/** Upgrades a raw TCP socket, then sends a binary frame header for PAYLOAD bytes and PAYLOAD - 10 of them. */
const partialFrame = (port: number, path: string): Promise<Socket> =>
  new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1')
    s.on('error', () => {})
    s.once('connect', () => {
      s.write(
        `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      )
    })
    let head = ''
    const onData = (chunk: Buffer) => {
      head += chunk.toString('latin1')
      if (!head.includes('\r\n\r\n')) return
      s.off('data', onData)
      if (!head.startsWith('HTTP/1.1 101')) return reject(new Error(head.split('\r\n')[0]))
      const header = Buffer.alloc(14)
      header[0] = 0x82
      header[1] = 0x80 | 127
      header.writeBigUInt64BE(BigInt(PAYLOAD), 2)
      randomBytes(4).copy(header, 10)
      s.write(header)
      s.write(Buffer.alloc(PAYLOAD - 10, 1), () => resolve(s))
    }
    s.on('data', onData)
  })

it(`${N} unauthenticated connections each holding a 1 MB partial frame: bounded`, async () => {
  const server = await startServerProcess()
  const port = Number(new URL(server.url).port)
  const sockets: Socket[] = []
  let failed = 0
  const figures = await duringAttack(`${N} partial 1 MB frames before auth`, server, async () => {
    for (let i = 0; i < N; i += 25) {
      await Promise.all(
        Array.from({ length: 25 }, (_, k) =>
          partialFrame(port, process.env.RT_Y === '1' && (i + k) % 2 ? '/y/room?token=t-mallory' : '/')
            .then((s) => sockets.push(s))
            .catch(() => failed++),
        ),
      )
    }
    await new Promise((r) => setTimeout(r, 1_500))
  })
  for (const s of sockets) s.destroy()
  console.log(
    `held ${sockets.length}, failed ${failed}; p99 ${figures.p99.toFixed(1)} ms, RSS ${figures.rssBefore.toFixed(0)} -> ${figures.rssPeak.toFixed(0)} MiB`,
  )
  expect(figures.p99).toBeLessThan(BOUNDS.p99Ms)
  expect(figures.rssPeak).toBeLessThan(BOUNDS.rssMiB)
}, 60_000)
