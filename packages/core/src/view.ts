import type * as Y from 'yjs'
import { compareStamps } from './hlc.js'
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
import {
  jsonEqual,
  type PinRecord,
  parseRecordKey,
  pinMatches,
  pinSuperseded,
  readPinRecord,
} from './pins.js'
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

/** How far past a device's clock a retention value may lie and still be followed: a week. */
export const RETENTION_LEAD = 7 * 24 * 60 * 60 * 1000

/** A period doc's number and length. */
type Period = { readonly period: number; readonly periodMs: number }

/** A pin the view vouches for: its message, current body, and who pinned it. */
export interface PinnedMessage {
  readonly id: MessageId
  readonly header: MessageHeader
  readonly body: Json
  /** Set when the body shown is an edit. */
  readonly editedAt: number | undefined
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
  /** Well-formed pins by message id, then by the pinner's device (the key's writer). */
  readonly pins = new Map<string, Map<DeviceId, PinRecord>>()
  /** Copies of edits of pinned messages, by message id, then by the author's device. */
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
  readonly #holdsPeriodOf: (wall: number) => boolean
  /** Messages whose records changed since `takeTouched`, for the conversation's upkeep. */
  #touched = new Set<string>()

  /**
   * @param platform.now physical time: retention values past it (plus the drift allowance) are not
   * followed.
   * @param platform.holdsPeriodOf whether the period of a stamp's wall time is loaded here (and not
   * dropped by retention): a message of such a period that the timeline lacks does not exist for
   * this view.
   */
  constructor(
    onChange: () => void,
    platform: { now?: () => number; holdsPeriodOf?: (wall: number) => boolean } = {},
  ) {
    this.#onChange = onChange
    this.#now = platform.now ?? Date.now
    this.#holdsPeriodOf = platform.holdsPeriodOf ?? (() => false)
  }

  /**
   * The highest published value, ignoring values more than `RETENTION_LEAD` past this device's
   * clock: no server lets a client publish those, and following one (2^53-1) would drop every
   * period doc, for good. The allowance is wide on purpose: replicas without a server must agree on
   * `retainedFrom` although their clocks differ (by a day or two, not a week).
   */
  get retainedFrom(): number {
    const limit = this.#now() + RETENTION_LEAD
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
    } else if (mapName === 'pins' || mapName === 'pinEdits') {
      // Keys are `<messageId>/<device>`: one writer per key, like control records.
      const parsed = parseRecordKey(key)
      if (!parsed) return
      const record = mapName === 'pins' ? readPinRecord(parsed.id, value) : readControlRecord(value)
      const all: Map<string, Map<string, PinRecord | ControlRecord>> = mapName === 'pins'
        ? this.pins
        : this.pinEdits
      let byDevice = all.get(parsed.id)
      if (record) {
        if (!byDevice) {
          byDevice = new Map()
          all.set(parsed.id, byDevice)
        }
        byDevice.set(parsed.device, record)
      } else if (byDevice) {
        byDevice.delete(parsed.device)
        if (byDevice.size === 0) all.delete(parsed.id)
      }
      this.#touched.add(parsed.id)
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
    this.#touched.add(id)
    if (!parsed || !header || !this.authorMatches(header)) {
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

  /**
   * A device known to belong to another user cannot write as this author: the view shows no such
   * message, and the replica holds none (it would count unread and move the device's next seq).
   */
  authorMatches(header: MessageHeader): boolean {
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

  /** Ids whose lane, control or pin records changed since the last call. */
  takeTouched(): Set<string> {
    const touched = this.#touched
    this.#touched = new Set()
    return touched
  }

  /** The lane record of a loaded message, if its lane doc still holds it. */
  storedRecord(id: string) {
    const stored = this.#records.get(id)
    return stored && readMessageRecord(id, stored.value)
  }

  /** The edit and tombstone records of a message written by its author's devices. */
  authorRecords(id: string, author: string): Map<string, ControlRecord> {
    return this.#byAuthor(this.#controls.get(id)?.records ?? new Map(), author)
  }

  /**
   * The pins this view can vouch for, each with the latest body its author gave the message. A pin
   * counts only when its writer's device is a member's (that member pinned it). When the message
   * is loaded, the snapshot must match it (header, and the original body or one of the author's
   * edits) and the message must not be deleted; when its period is loaded here but the message is
   * not, it does not exist and the pin is ignored. Only a message this device has not loaded (an
   * older period, or one dropped by retention) is known from its snapshots alone: then its author
   * must be the user meta maps the message's device to.
   */
  pinned(): PinnedMessage[] {
    const pinned: PinnedMessage[] = []
    for (const [id, byDevice] of this.pins) {
      const entry = this.timeline.get(id)
      if (entry?.revision?.deleted) continue
      const pinners = [...byDevice]
        .filter(([device]) => this.members.has(device))
        .sort(([a], [b]) => (a < b ? -1 : 1))
      if (pinners.length === 0) continue
      let header: MessageHeader
      let valid: typeof pinners
      // Any edit supersedes the original body, whatever their stamps (as in the timeline).
      const edits = new Map<string, ControlRecord>()
      let original: Json | undefined
      if (entry) {
        header = entry.header
        const record = this.storedRecord(id)
        for (const [device, edit] of this.authorRecords(id, header.author)) edits.set(device, edit)
        for (const [device, edit] of this.#byAuthor(this.pinEdits.get(id) ?? new Map(), header.author))
          edits.set(`${device}:pinned`, edit)
        valid = pinners.filter(
          ([, pin]) => pinMatches(pin, record, edits.values()) || pinSuperseded(pin, record, edits.values()),
        )
        original = record?.body
      } else {
        header = pinners[0]![1].header
        if (this.#holdsPeriodOf(header.stamp.wall)) continue
        if (this.members.get(header.device) !== header.author) continue
        valid = pinners.filter(([, pin]) => jsonEqual(pin.header, header))
        for (const [device, edit] of this.#byAuthor(this.pinEdits.get(id) ?? new Map(), header.author))
          edits.set(device, edit)
        for (const [device, pin] of valid) {
          if (compareStamps(pin.stamp, header.stamp) === 0) original = pin.body
          else edits.set(`pin:${device}`, { stamp: pin.stamp, body: pin.body })
        }
      }
      const revision = resolveRevision(edits)
      if (valid.length === 0 || revision?.deleted) continue
      pinned.push({
        id: id as MessageId,
        header,
        body: revision ? (revision.body ?? null) : (original ?? null),
        editedAt: revision?.editedAt,
        pinnedBy: this.members.get(valid[0]![0])!,
      })
    }
    return pinned
  }

  deviceUser(device: DeviceId): string | undefined {
    return this.members.get(device)
  }
}
