import { monitorEventLoopDelay } from 'node:perf_hooks'
import { Counter, Gauge, Histogram, Registry } from 'prom-client'

/** What the gauges read when `/metrics` is scraped. */
export interface MetricSources {
  connections(): number
  subscriptions(): number
  docsLoaded(): number
  queuedBytes(): number
}

const LAG_RESOLUTION_MS = 10
/** The histogram times its own timer: a loop that is never late still reads the resolution. */
const lagSeconds = (ns: number): number =>
  Number.isNaN(ns) ? 0 : Math.max(0, ns / 1e6 - LAG_RESOLUTION_MS) / 1000

/**
 * The server's Prometheus metrics, in a registry of its own: several servers in one process (tests,
 * an app running two) each report their own numbers instead of clashing in prom-client's global one.
 */
export class ServerMetrics {
  readonly registry = new Registry()
  readonly #framesInPending = new Map<string, number>()
  readonly #framesOutPending = new Map<string, number>()
  readonly #refusals: Counter<'code'>
  readonly #commits: Histogram<'outcome'>
  readonly #lag = monitorEventLoopDelay({ resolution: LAG_RESOLUTION_MS })

  constructor(sources: MetricSources) {
    const registers = [this.registry]
    const gauge = (name: string, help: string, read: () => number) =>
      new Gauge({
        name,
        help,
        registers,
        collect() {
          this.set(read())
        },
      })
    gauge('tidings_connections', 'Open WebSocket connections (Tidings and /y/)', sources.connections)
    gauge('tidings_subscriptions', 'Conversation subscriptions over all connections', sources.subscriptions)
    gauge('tidings_docs_loaded', 'Docs held in memory', sources.docsLoaded)
    gauge('tidings_queued_bytes', 'Bytes queued for sending over all connections', sources.queuedBytes)
    const lag = this.#lag
    lag.enable()
    new Gauge({
      name: 'tidings_event_loop_lag_seconds',
      help: 'Event-loop delay since the last scrape (mean and p99)',
      labelNames: ['stat'],
      registers,
      collect() {
        // An empty histogram (no sample yet) reads NaN for its mean.
        this.set({ stat: 'mean' }, lagSeconds(lag.mean))
        this.set({ stat: 'p99' }, lagSeconds(lag.percentile(99)))
        lag.reset()
      },
    })
    // Frames are counted in plain maps and added to the counters at each scrape: a forwarded
    // message is one frame per subscriber, and prom-client's labelled inc cost more per frame
    // than queueing it (fan-out profile, issue 12).
    const framesIn = this.#framesInPending
    const framesOut = this.#framesOutPending
    new Counter({
      name: 'tidings_frames_in_total',
      help: 'Frames received, by type',
      labelNames: ['type'],
      registers,
      collect() {
        for (const [type, count] of framesIn) this.inc({ type }, count)
        framesIn.clear()
      },
    })
    new Counter({
      name: 'tidings_frames_out_total',
      help: 'Frames queued for sending, by type',
      labelNames: ['type'],
      registers,
      collect() {
        for (const [type, count] of framesOut) this.inc({ type }, count)
        framesOut.clear()
      },
    })
    this.#refusals = new Counter({
      name: 'tidings_refusals_total',
      help: 'Refused frames and connections, by code',
      labelNames: ['code'],
      registers,
    })
    this.#commits = new Histogram({
      name: 'tidings_commit_seconds',
      help: 'Time of one group commit to storage',
      labelNames: ['outcome'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    })
  }

  frameIn(type: string): void {
    this.#framesInPending.set(type, (this.#framesInPending.get(type) ?? 0) + 1)
  }

  frameOut(type: string): void {
    this.#framesOutPending.set(type, (this.#framesOutPending.get(type) ?? 0) + 1)
  }

  refused(code: string): void {
    this.#refusals.inc({ code })
  }

  committed(seconds: number, ok: boolean): void {
    this.#commits.observe({ outcome: ok ? 'ok' : 'failed' }, seconds)
  }

  /** The text `/metrics` answers. */
  text(): Promise<string> {
    return this.registry.metrics()
  }

  get contentType(): string {
    return this.registry.contentType
  }

  close(): void {
    this.#lag.disable()
  }
}
