import WS from 'ws'

interface Pair {
  client: 'connecting' | 'open' | 'closed'
  serverSeen: boolean
  serverClosed: boolean
  clientSent: number
  clientReceived: number
  serverSent: number
  serverReceived: number
}

/**
 * Counts frames at both ends of every socket, so a test can wait until the network is quiet
 * (every frame sent was received and handled) instead of sleeping. Client sockets carry a `sid`
 * query parameter that the server side uses to find the same pair.
 */
export class Traffic {
  readonly #pairs = new Map<string, Pair>()
  #next = 1

  /** A WebSocket constructor (from 'ws') that counts what its sockets send and receive. */
  readonly WebSocket: new (url: string | URL, protocols?: string | string[]) => WS = (() => {
    const traffic = this
    return class CountingWebSocket extends WS {
      constructor(url: string | URL, protocols?: string | string[]) {
        const sid = String(traffic.#next++)
        const address = new URL(url)
        address.searchParams.set('sid', sid)
        super(address, protocols)
        const pair = traffic.#pair(sid)
        const send = this.send.bind(this)
        ;(this as { send: (data: unknown) => void }).send = (data) => {
          if (this.readyState === WS.OPEN) pair.clientSent++
          send(data as Uint8Array)
        }
        this.addEventListener('open', () => {
          pair.client = 'open'
        })
        this.addEventListener('message', () => void pair.clientReceived++)
        this.addEventListener('close', () => {
          pair.client = 'closed'
        })
        // Refused connections report an error before closing; counting needs no more.
        this.addEventListener('error', () => {})
      }
    }
  })()

  #pair(sid: string): Pair {
    let pair = this.#pairs.get(sid)
    if (!pair) {
      pair = {
        client: 'connecting',
        serverSeen: false,
        serverClosed: false,
        clientSent: 0,
        clientReceived: 0,
        serverSent: 0,
        serverReceived: 0,
      }
      this.#pairs.set(sid, pair)
    }
    return pair
  }

  #fromUrl(url: string): Pair {
    return this.#pair(new URL(url, 'ws://x').searchParams.get('sid') ?? 'unknown')
  }

  serverOpened(url: string) {
    this.#fromUrl(url).serverSeen = true
  }
  serverClosed(url: string) {
    this.#fromUrl(url).serverClosed = true
  }
  serverSent(url: string) {
    this.#fromUrl(url).serverSent++
  }
  serverReceived(url: string) {
    this.#fromUrl(url).serverReceived++
  }

  /** True while a socket is opening, half closed, or has frames on the way. */
  busy(): boolean {
    for (const p of this.#pairs.values()) {
      if (p.client === 'connecting') return true
      if (p.client === 'closed' && p.serverSeen && !p.serverClosed) return true
      if (p.client === 'open' && p.serverClosed) return true
      if (p.client === 'open' && (p.clientSent !== p.serverReceived || p.serverSent !== p.clientReceived))
        return true
    }
    return false
  }

  #signature(): string {
    let total = 0
    for (const p of this.#pairs.values())
      total += p.clientSent + p.clientReceived + p.serverSent + p.serverReceived
    return `${this.#pairs.size}:${total}`
  }

  /** Resolves once nothing is in flight and nothing moved for a few turns of the event loop. */
  async flush(): Promise<void> {
    let quiet = 0
    let last = ''
    while (quiet < 3) {
      await new Promise((resolve) => setTimeout(resolve, 0))
      const signature = this.#signature()
      quiet = !this.busy() && signature === last ? quiet + 1 : 0
      last = signature
    }
  }
}
