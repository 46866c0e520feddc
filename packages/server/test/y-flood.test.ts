import { type ChildProcess, spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import * as Y from 'yjs'
import { laneDoc, TestClient } from './helpers.js'
import { RawY, syncFrame } from './y-raw.js'

const here = fileURLToPath(new URL('.', import.meta.url))
const root = join(here, '../../..')
const children: ChildProcess[] = []
afterEach(() => {
  for (const child of children.splice(0)) child.kill('SIGKILL')
})

/** The server in a child process, so its memory and latency are its own; resolves with its url. */
const startChild = async (): Promise<{ url: string; child: ChildProcess }> => {
  const child = spawn(process.execPath, ['--import', 'tsx', join(here, 'flood-server.ts')], {
    cwd: root,
    env: { ...process.env, TSX_TSCONFIG_PATH: join(root, 'tsconfig.json') },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  children.push(child)
  const port = await new Promise<number>((resolve, reject) => {
    let out = ''
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString()
      const match = /PORT (\d+)/.exec(out)
      if (match) resolve(Number(match[1]))
    })
    child.once('exit', (code) => reject(new Error(`the server exited with ${code}`)))
  })
  return { url: `ws://127.0.0.1:${port}`, child }
}

/** The child's resident memory in MiB, from /proc. */
const rssMiB = (pid: number): number => {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return match ? Number(match[1]) / 1024 : 0
}

const percentile = (values: number[], p: number): number => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0
}

/**
 * A 50 KB update of 9,999 chained structs (each item inserted before the previous one, so none
 * merge) in a root array: every struct has to be decoded before the checks refuse it (lane docs
 * hold only entries of root maps).
 */
const refusedUpdate = (): Uint8Array => {
  const doc = new Y.Doc()
  const array = doc.getArray<number>('x')
  for (let i = 0; i < 9_999; i++) array.insert(0, [i])
  return Y.encodeStateAsUpdate(doc)
}

/**
 * One attacker: floods `/y/<doc>` with refused updates at `perSecond`, as fast as its socket
 * drains, and reconnects at once whenever the server closes it, until `until`.
 */
const attack = async (
  url: string,
  doc: string,
  frame: Uint8Array,
  perSecond: number,
  until: number,
  tally: { frames: number; connections: number; closes: Map<number, number> },
  token = 't-mallory',
  device = 'mallory1',
): Promise<void> => {
  while (Date.now() < until) {
    const ws = new WebSocket(RawY.url(url, doc, { token, device }))
    tally.connections++
    await new Promise<void>((resolve) => {
      let timer: ReturnType<typeof setInterval> | undefined
      ws.on('error', () => {})
      ws.on('open', () => {
        timer = setInterval(() => {
          if (Date.now() >= until) return ws.terminate()
          for (let i = 0; i < perSecond / 100 && ws.bufferedAmount < 2 * 1024 * 1024; i++) {
            ws.send(frame)
            tally.frames++
          }
        }, 10)
      })
      ws.on('close', (code) => {
        clearInterval(timer)
        tally.closes.set(code, (tally.closes.get(code) ?? 0) + 1)
        resolve()
      })
    })
  }
}

describe('a refusal flood on /y/', () => {
  it('keeps a legitimate client’s ping under 250 ms (p99) and the server under 300 MiB', async () => {
    const { url, child } = await startChild()
    const legit = await TestClient.connect(url, 't-alice', 'alicedev1')
    await legit.subscribe('room')
    const frame = syncFrame(2, refusedUpdate())
    const doc = laneDoc('room')
    // A running server has run its checks before: warm them (JIT) with another user's refusals,
    // so the figures are those of a server in service, not of its first milliseconds.
    const warmUp = { frames: 0, connections: 0, closes: new Map<number, number>() }
    await attack(url, doc, frame, 450, Date.now() + 800, warmUp, 't-eve', 'eve1')
    const tally = { frames: 0, connections: 0, closes: new Map<number, number>() }
    const rtts: number[] = []
    let peak = rssMiB(child.pid!)
    const sampler = setInterval(() => {
      peak = Math.max(peak, rssMiB(child.pid!))
    }, 50)
    const until = Date.now() + 3_000
    // Four connections, each just under the frame rate (500/s) a connection may keep up.
    const attackers = Array.from({ length: 4 }, () => attack(url, doc, frame, 450, until, tally))
    try {
      while (Date.now() < until) {
        const started = performance.now()
        await legit.ping()
        rtts.push(performance.now() - started)
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
      await Promise.all(attackers)
    } finally {
      clearInterval(sampler)
    }
    peak = Math.max(peak, rssMiB(child.pid!))
    const p99 = percentile(rtts, 99)
    console.log(
      `/y/ refusal flood, 3 s, 4 attackers: ${tally.frames} frames of ${frame.length} B on ${tally.connections} connections ` +
        `(closes ${JSON.stringify(Object.fromEntries(tally.closes))}); legitimate ping ${rtts.length} round trips, ` +
        `median ${percentile(rtts, 50).toFixed(1)} ms, p99 ${p99.toFixed(1)} ms, max ${Math.max(...rtts).toFixed(1)} ms; ` +
        `server peak RSS ${peak.toFixed(0)} MiB`,
    )
    // The flood got past auth: its updates were read and refused, not its connections turned away.
    expect(tally.closes.get(4401) ?? 0).toBe(0)
    expect(tally.frames).toBeGreaterThan(0)
    expect(p99).toBeLessThan(250)
    expect(peak).toBeLessThan(300)
  }, 30_000)
})
