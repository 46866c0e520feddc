import { compareStamps, isStamp, type Stamp } from './hlc.js'
import type { DeviceId } from './ids.js'
import type { MessageStatus } from './message.js'
import { RangeSet, type RangeSetJSON } from './range-set.js'

/** What one device published: the messages it holds and those it has read, as of `at`. */
export interface ReceiptRecord {
  readonly held: RangeSet
  readonly read: RangeSet
  readonly at: Stamp
}

export interface ReceiptRecordJSON {
  readonly held: RangeSetJSON
  readonly read: RangeSetJSON
  readonly at: Stamp
}

export const readReceiptRecord = (value: unknown): ReceiptRecord | undefined => {
  const v = value as ReceiptRecordJSON
  if (typeof v !== 'object' || v === null || !isStamp(v.at)) return undefined
  return { held: RangeSet.fromJSON(v.held), read: RangeSet.fromJSON(v.read), at: v.at }
}

/** Device → user, as registered in the meta doc. */
export type Members = ReadonlyMap<string, string>

/**
 * Receipt state of one conversation: the exact local `held` set, this device's `read` set, and the
 * newest record each device published. Statuses and unread counts are computed from published
 * records only, so every replica that has the same records computes the same answers.
 */
export class Receipts {
  readonly held = new RangeSet()
  readonly read = new RangeSet()
  /**
   * Messages their author deleted, learnt also from tombstones of periods not loaded: never
   * unread. Kept apart from `held`, because a message may arrive after its tombstone.
   */
  readonly deleted = new RangeSet()
  readonly #records = new Map<string, ReceiptRecord>()

  /** Takes a published record if it is newer than the one known for that device. */
  observe(device: string, record: ReceiptRecord): boolean {
    const known = this.#records.get(device)
    if (known && compareStamps(known.at, record.at) >= 0) return false
    this.#records.set(device, record)
    return true
  }

  /**
   * Forgets a device's record, so the next one observed is taken whatever its stamp: for this
   * device's own record re-published with a corrected stamp after one stamped ahead was refused.
   */
  forget(device: string): void {
    this.#records.delete(device)
  }

  record(device: string): ReceiptRecord | undefined {
    return this.#records.get(device)
  }

  #someDevice(user: string, members: Members, test: (record: ReceiptRecord) => boolean): boolean {
    for (const [device, owner] of members) {
      const record = this.#records.get(device)
      if (owner === user && record && test(record)) return true
    }
    return false
  }

  #users(members: Members): Set<string> {
    return new Set(members.values())
  }

  status(author: string, device: DeviceId, seq: number, members: Members): MessageStatus {
    const others = [...this.#users(members)].filter((user) => user !== author)
    if (others.length === 0) return 'sent'
    if (others.every((user) => this.#someDevice(user, members, (r) => r.read.has(device, seq)))) return 'read'
    if (others.every((user) => this.#someDevice(user, members, (r) => r.held.has(device, seq))))
      return 'delivered'
    return 'sent'
  }

  /** Users other than the author with a device whose published `read` holds the message. */
  readBy(author: string, device: DeviceId, seq: number, members: Members): string[] {
    return [...this.#users(members)]
      .filter((user) => user !== author && this.#someDevice(user, members, (r) => r.read.has(device, seq)))
      .sort()
  }

  /**
   * Messages this device holds that no device of `user` has read, that `user` did not write and
   * that are not deleted: |held − read − own − deleted|, straight from the ranges.
   */
  unread(user: string, members: Members): RangeSet {
    const reads = [this.read]
    const own = new RangeSet()
    for (const [device, owner] of members) {
      if (owner !== user) continue
      const record = this.#records.get(device)
      if (record) reads.push(record.read)
      own.addRange(device, 1, Number.MAX_SAFE_INTEGER)
    }
    return this.held.difference(...reads, own, this.deleted)
  }
}
