import type * as Y from 'yjs'
import { MAX_DRIFT } from './hlc.js'
import { type DeviceId, type MessageId, parseMessageId } from './ids.js'
import { parseDocName } from './lanes.js'
import {
  type ControlRecord,
  headerOf,
  type Json,
  type MessageHeader,
  type OrderKey,
  type Revision,
  readControlRecord,
  readMessageRecord,
  resolveRevision,
} from './message.js'
import { Receipts, readReceiptRecord } from './receipts.js'
import { Timeline } from './timeline.js'

/** A message placed in the timeline: its header, its current body, and where it is stored. */
export interface Entry {
  readonly id: MessageId
  readonly key: OrderKey
  readonly header: MessageHeader
  readonly body: Json
  readonly revision: Revision | undefined
  readonly period: number
  /** The length of `period`, from the doc's name: edits go to the control doc of the same period. */
  readonly periodMs: number
}

/** A period doc's number and length. */
type Period = { readonly period: number; readonly periodMs: number }

/** A pinned message as kept in meta: it outlives the period that held the message. */
export interface PinRecord {
  readonly header: MessageHeader
  readonly body: Json
  readonly stamp: { wall: number; counter: number }
  readonly pinnedBy: string
}

/**
 * The observed state of a conversation's loaded docs: the ordered timeline, edits and tombstones,
 * receipts, members, pins and retention. It only reads Yjs; writes go through the conversation.
 */
export class ConversationView {
  readonly timeline = new Timeline<Entry>()
  readonly receipts = new Receipts()
  /** Device → user, from meta. */
  readonly members = new Map<string, string>()
  readonly pins = new Map<string, PinRecord>()
  readonly pinEdits = new Map<string, Map<string, ControlRecord>>()
  /** Per device, the `retainedFrom` it published; the effective value is the highest. */
  readonly retention = new Map<string, number>()
  readonly settings = new Map<string, unknown>()
  /** Raises on every change, so snapshots can be cached by it. */
  version = 0

  readonly #records = new Map<string, { value: unknown; period: Period }>()
  readonly #controls = new Map<string, { records: Map<string, ControlRecord>; period: Period }>()
  readonly #onChange: () => void
  readonly #now: () => number

  /** `now` is physical time: retention values past it (plus the drift allowance) are not followed. */
  constructor(onChange: () => void, now: () => number = Date.now) {
    this.#onChange = onChange
    this.#now = now
  }

  /**
   * The highest published value, ignoring values past now + MAX_DRIFT: no server lets a client
   * publish those, and following one (2^53-1) would drop every period doc, for good.
   */
  get retainedFrom(): number {
    const limit = this.#now() + MAX_DRIFT
    let max = 0
    for (const value of this.retention.values()) if (value <= limit) max = Math.max(max, value)
    return max
  }

  /** Starts observing a loaded doc and takes in what it already holds. */
  attach(name: string, doc: Y.Doc): void {
    const ref = parseDocName(name)
    if (!ref) return
    if (ref.kind === 'meta') {
      for (const mapName of ['devices', 'pins', 'pinEdits', 'retention', 'settings']) {
        const map = doc.getMap(mapName)
        const sync = (keys: Iterable<string>) => {
          for (const key of keys) this.#metaKey(mapName, key, map.get(key))
          this.#changed(mapName === 'devices')
        }
        map.observe((event) => sync(event.keysChanged))
        sync(map.keys())
      }
      return
    }
    const period = { period: ref.period, periodMs: ref.periodMs }
    const mapName = ref.kind === 'control' ? 'c' : ref.kind === 'receipts' ? 'r' : 'm'
    const map = doc.getMap(mapName)
    const sync = (keys: Iterable<string>) => {
      for (const key of keys) {
        const value = map.get(key)
        if (ref.kind === 'control') this.#controlKey(key, value, period)
        else if (ref.kind === 'receipts') {
          const record = value === undefined ? undefined : readReceiptRecord(value)
          if (record) this.receipts.observe(key, record)
        } else this.#laneKey(key, value, period)
      }
      this.#changed(false)
    }
    map.observe((event) => sync(event.keysChanged))
    sync(map.keys())
  }

  /** Forgets every message of a period's docs (after retention dropped them). */
  detachPeriod(period: number, periodMs: number): void {
    const of = (p: Period) => p.period === period && p.periodMs === periodMs
    for (const [id, record] of this.#records) if (of(record.period)) this.#records.delete(id)
    for (const [id, control] of this.#controls) if (of(control.period)) this.#controls.delete(id)
    for (const entry of [...this.timeline.values()]) if (of(entry)) this.timeline.remove(entry.id)
    this.#changed(false)
  }

  #laneKey(id: string, value: unknown, period: Period) {
    if (value === undefined) this.#records.delete(id)
    else this.#records.set(id, { value, period })
    this.#refresh(id)
  }

  #controlKey(key: string, value: unknown, period: Period) {
    const slash = key.lastIndexOf('/')
    const id = key.slice(0, slash)
    const device = key.slice(slash + 1)
    const record = readControlRecord(value)
    let control = this.#controls.get(id)
    if (!control) {
      control = { records: new Map(), period }
      this.#controls.set(id, control)
    }
    if (record) control.records.set(device, record)
    else control.records.delete(device)
    this.#refresh(id)
  }

  #metaKey(mapName: string, key: string, value: unknown) {
    if (mapName === 'devices') {
      if (typeof value === 'string') this.members.set(key, value)
      else this.members.delete(key)
    } else if (mapName === 'retention') {
      if (typeof value === 'number' && Number.isSafeInteger(value)) this.retention.set(key, value)
    } else if (mapName === 'settings') {
      this.settings.set(key, value)
    } else if (mapName === 'pins') {
      const pin = value as PinRecord | undefined
      const header = pin && readMessageRecord(key, { ...pin.header, body: null })
      if (pin && header && typeof pin.pinnedBy === 'string') this.pins.set(key, pin)
      else this.pins.delete(key)
    } else {
      const slash = key.lastIndexOf('/')
      const id = key.slice(0, slash)
      const record = readControlRecord(value)
      let edits = this.pinEdits.get(id)
      if (!edits) {
        edits = new Map()
        this.pinEdits.set(id, edits)
      }
      if (record) edits.set(key.slice(slash + 1), record)
    }
  }

  /** Recomputes one message from its lane record and control records. */
  #refresh(id: string) {
    const parsed = parseMessageId(id)
    const stored = this.#records.get(id)
    const control = this.#controls.get(id)
    const record = parsed && stored ? readMessageRecord(id, stored.value) : undefined
    const tombstone = control && [...control.records.values()].find((r) => 'deleted' in r)
    const header =
      (record && headerOf(record)) ??
      (tombstone && 'header' in tombstone && readMessageRecord(id, { ...tombstone.header, body: null })
        ? tombstone.header
        : undefined)
    if (!parsed || !header || !this.#authorMatches(header)) {
      this.timeline.remove(id)
      return
    }
    const revision = control && resolveRevision(this.#byAuthor(control.records, header.author))
    const deleted = revision?.deleted === true
    this.timeline.upsert({
      id: id as MessageId,
      key: { stamp: header.stamp, device: parsed.device, seq: parsed.seq },
      header,
      body: deleted ? null : (revision?.body ?? record?.body ?? null),
      revision,
      ...(stored?.period ?? control!.period),
    })
  }

  /** A device known to belong to another user cannot write as this author. */
  #authorMatches(header: MessageHeader): boolean {
    const owner = this.members.get(header.device)
    return owner === undefined || owner === header.author
  }

  /** Keeps the control records written by devices of the author. */
  #byAuthor(records: Map<string, ControlRecord>, author: string): Map<string, ControlRecord> {
    const kept = new Map<string, ControlRecord>()
    for (const [device, record] of records) if (this.members.get(device) === author) kept.set(device, record)
    return kept
  }

  /** Marks the view changed from outside the docs (an outbox entry added changes a status). */
  touch(): void {
    this.#changed(false)
  }

  #changed(membersChanged: boolean) {
    if (membersChanged)
      for (const id of new Set([...this.#records.keys(), ...this.#controls.keys()])) this.#refresh(id)
    this.version++
    this.#onChange()
  }

  /** The pinned messages, each with the latest edit its author made. */
  pinned(): Array<{ id: string; pin: PinRecord; revision: Revision | undefined }> {
    return [...this.pins].map(([id, pin]) => {
      const edits = new Map(this.#byAuthor(this.pinEdits.get(id) ?? new Map(), pin.header.author))
      edits.set('', { stamp: pin.stamp, body: pin.body })
      return { id, pin, revision: resolveRevision(edits) }
    })
  }

  deviceUser(device: DeviceId): string | undefined {
    return this.members.get(device)
  }
}
