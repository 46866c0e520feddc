import type { Frame, FrameOf, ManifestChange } from '@tidings/protocol'

/** Storage meta key of a conversation's manifest state. */
export const manifestKey = (conversation: string): string => `manifest:${conversation}`

/** Log entries kept for incremental manifests; older clients get a full one. */
const MAX_LOG = 2000

interface LogEntry {
  readonly version: number
  readonly doc: string
  readonly dropped: boolean
}

interface StoredManifest {
  readonly version: number
  readonly floor: number
  readonly log: readonly (readonly [number, string, 0 | 1])[]
}

/** A staged manifest step: persisted with the write that caused it, applied after it commits. */
export interface ManifestStep {
  readonly since: number
  readonly version: number
  readonly changes: readonly ManifestChange[]
  /** Meta entry that persists the new state. */
  readonly meta: Record<string, string>
}

/**
 * A conversation's manifest: a version that only rises, and the docs created or dropped at each
 * version, so a client that says which version it saw learns what changed in one frame.
 */
export class Manifest {
  #version = 0
  /** The oldest client version the log still serves incrementally. */
  #floor = 0
  #log: LogEntry[] = []

  constructor(readonly conversation: string) {}

  get version(): number {
    return this.#version
  }

  /** Restores the state kept in storage meta; unreadable state starts over from full manifests. */
  static parse(conversation: string, json: string | undefined): Manifest {
    const manifest = new Manifest(conversation)
    if (json === undefined) return manifest
    try {
      const stored = JSON.parse(json) as StoredManifest
      if (!Number.isSafeInteger(stored.version) || !Array.isArray(stored.log)) return manifest
      manifest.#version = stored.version
      manifest.#floor = Number.isSafeInteger(stored.floor) ? stored.floor : stored.version
      manifest.#log = stored.log.map(([version, doc, dropped]) => ({ version, doc, dropped: dropped === 1 }))
    } catch {
      // A version we cannot read: every client gets a full manifest, which is always correct.
    }
    return manifest
  }

  /**
   * Takes the state another process stored when it is newer than ours: returns the changes since
   * our version (`complete` false when the stored log no longer reaches back that far), or
   * undefined when the stored state is not newer.
   */
  adopt(json: string | undefined): { changes: ManifestChange[]; complete: boolean } | undefined {
    const stored = Manifest.parse(this.conversation, json)
    if (stored.#version <= this.#version) return undefined
    const since = this.#version
    const latest = new Map<string, boolean>()
    for (const entry of stored.#log) if (entry.version > since) latest.set(entry.doc, entry.dropped)
    this.#version = stored.#version
    this.#floor = stored.#floor
    this.#log = stored.#log
    return {
      changes: [...latest].map(([doc, dropped]) => ({ doc, dropped })),
      complete: since >= this.#floor,
    }
  }

  /** Stages the next version for these changes without applying it. */
  stage(changes: readonly ManifestChange[]): ManifestStep {
    const version = this.#version + 1
    const log = [...this.#log, ...changes.map((c) => ({ version, ...c }))]
    const trimmed = log.length > MAX_LOG ? log.slice(log.length - MAX_LOG) : log
    // Clients older than the newest trimmed entry could miss it: they get a full manifest.
    const floor = trimmed.length < log.length ? log[log.length - MAX_LOG - 1]!.version : this.#floor
    const stored: StoredManifest = {
      version,
      floor,
      log: trimmed.map((e) => [e.version, e.doc, e.dropped ? 1 : 0] as const),
    }
    return {
      since: this.#version,
      version,
      changes,
      meta: { [manifestKey(this.conversation)]: JSON.stringify(stored) },
    }
  }

  /** Applies a staged step once its write committed. */
  apply(step: ManifestStep): void {
    const stored = JSON.parse(step.meta[manifestKey(this.conversation)]!) as StoredManifest
    this.#version = stored.version
    this.#floor = stored.floor
    this.#log = stored.log.map(([version, doc, dropped]) => ({ version, doc, dropped: dropped === 1 }))
  }

  /** The manifest a client at `since` needs: full when its version is 0 or not served by the log. */
  frameFor(since: number, docs: Iterable<string>, retainedFrom: number): FrameOf<'manifest'> {
    const full = since === 0 || since > this.#version || since < this.#floor
    if (full) {
      const changes = [...docs].sort().map((doc) => ({ doc, dropped: false }))
      return this.#frame(0, true, retainedFrom, changes)
    }
    const latest = new Map<string, boolean>()
    for (const entry of this.#log) if (entry.version > since) latest.set(entry.doc, entry.dropped)
    const changes = [...latest].map(([doc, dropped]) => ({ doc, dropped }))
    return this.#frame(since, false, retainedFrom, changes)
  }

  /** The frame pushed to subscribers after a step committed. */
  pushFrame(step: ManifestStep, retainedFrom: number): Frame {
    return this.#frame(step.since, false, retainedFrom, step.changes)
  }

  #frame(
    since: number,
    full: boolean,
    retainedFrom: number,
    changes: readonly ManifestChange[],
  ): FrameOf<'manifest'> {
    return {
      type: 'manifest',
      conversation: this.conversation,
      since,
      version: this.#version,
      full,
      retainedFrom,
      changes,
    }
  }
}
