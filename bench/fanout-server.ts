import { type ChildProcess, fork } from 'node:child_process'
import type { AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import { WebSocketServer } from 'ws'

/** The servers the fan-out bench puts side by side. */
export type FanoutPeer = 'tidings' | 'ws' | 'hocuspocus'

/** The conversation (Tidings) or document (Hocuspocus) every client of the fan-out bench joins. */
export const FANOUT_ROOM = 'fanout'

/** Per-connection frame rate the Tidings server allows in the bench: the sender is not paced by it. */
export const BENCH_FRAMES_PER_SECOND = 1_000_000

type ToServer = { readonly type: 'mark' } | { readonly type: 'stop' }
type FromServer =
  | { readonly type: 'ready'; readonly url: string }
  | { readonly type: 'marked'; readonly cpuMicros: number }
  | { readonly type: 'stopped' }

interface Running {
  readonly url: string
  close(): Promise<void>
}

// The servers load lazily: a process runs one of them, and the parent none.
const startTidings = async (): Promise<Running> => {
  const { memoryStorage } = await import('@tidings/core')
  const { createServer } = await import('@tidings/server')
  const server = await createServer({
    port: 0,
    host: '127.0.0.1',
    storage: memoryStorage(),
    authenticate: (token) => ({ userId: token, canWrite: true }),
    limits: { framesPerSecond: BENCH_FRAMES_PER_SECOND },
  })
  return { url: server.url, close: () => server.close() }
}

/** The raw peer: relays every message as it came to every other socket, nothing parsed or kept. */
const startRawWs = async (): Promise<Running> => {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: false })
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()))
  wss.on('connection', (socket) => {
    socket.on('message', (data, isBinary) => {
      for (const other of wss.clients) if (other !== socket) other.send(data, { binary: isBinary })
    })
  })
  const { port } = wss.address() as AddressInfo
  return {
    url: `ws://127.0.0.1:${port}`,
    close: () =>
      new Promise((resolve) => {
        for (const socket of wss.clients) socket.terminate()
        wss.close(() => resolve())
      }),
  }
}

const startHocuspocus = async (): Promise<Running> => {
  const { Server } = await import('@hocuspocus/server')
  const server = new Server({ port: 0, address: '127.0.0.1', quiet: true })
  await server.listen()
  return { url: `ws://127.0.0.1:${server.address.port}`, close: () => server.destroy() }
}

const STARTERS: Record<FanoutPeer, () => Promise<Running>> = {
  tidings: startTidings,
  ws: startRawWs,
  hocuspocus: startHocuspocus,
}

/** A server in a child process of its own, so its CPU time is its own. */
export interface ServerProcess {
  readonly url: string
  /** The server process's CPU time (user + system) now, µs. */
  cpuMicros(): Promise<number>
  stop(): Promise<void>
}

/** Starts `peer`'s server in a fresh Node process on 127.0.0.1, port 0. */
export const startServerProcess = (peer: FanoutPeer): Promise<ServerProcess> =>
  new Promise((resolve, reject) => {
    const child: ChildProcess = fork(fileURLToPath(import.meta.url), [peer], {
      // FANOUT_PROFILE=<dir> writes a CPU profile of each server process there (node --cpu-prof).
      execArgv: [
        '--import',
        'tsx',
        ...(process.env.FANOUT_PROFILE ? ['--cpu-prof', '--cpu-prof-dir', process.env.FANOUT_PROFILE] : []),
      ],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    })
    let waiting: ((message: FromServer) => void) | undefined
    const ask = (message: ToServer) =>
      new Promise<FromServer>((answered) => {
        waiting = answered
        child.send(message)
      })
    child.on('message', (message: FromServer) => {
      if (message.type === 'ready') {
        resolve({
          url: message.url,
          cpuMicros: async () => {
            const answer = await ask({ type: 'mark' })
            return answer.type === 'marked' ? answer.cpuMicros : Number.NaN
          },
          stop: async () => {
            const exited = new Promise((done) => child.once('exit', done))
            await ask({ type: 'stop' })
            await exited
          },
        })
      } else waiting?.(message)
    })
    child.once('error', reject)
    child.once('exit', (code) =>
      reject(new Error(`the ${peer} server exited with ${code} before it was ready`)),
    )
  })

// As a child process: start the server named by argv, then answer the parent until told to stop.
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const peer = process.argv[2] as FanoutPeer
  const running = await STARTERS[peer]()
  const reply = (message: FromServer) => process.send?.(message)
  process.on('message', async (message: ToServer) => {
    if (message.type === 'mark') {
      const { user, system } = process.cpuUsage()
      reply({ type: 'marked', cpuMicros: user + system })
    } else {
      await running.close()
      process.send?.({ type: 'stopped' }, () => process.exit(0))
    }
  })
  reply({ type: 'ready', url: running.url })
}
