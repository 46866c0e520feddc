import type { ClientContext } from './context.js'
import type { ConversationId, DeviceId } from './ids.js'
import { RangeSet } from './range-set.js'
import type { Receipts } from './receipts.js'
import type { StorageAdapter } from './storage.js'

/**
 * Restores this device's sets after a restart: `held` exactly from storage meta (the last
 * published record may predate retention's shrinking it), `read` from its last record, `deleted`
 * from meta. Resolves the stored seq counter of the conversation, if any.
 */
export const restoreSets = async (
  receipts: Receipts,
  device: DeviceId,
  storage: StorageAdapter,
  conversation: ConversationId,
): Promise<number | undefined> => {
  const mine = receipts.record(device)
  if (mine) receipts.read.addAll(mine.read)
  const [held, deleted, seq] = await Promise.all(
    ['held', 'deleted', 'seq'].map((key) => storage.getMeta(`${key}:${conversation}`)),
  )
  if (held) receipts.held.addAll(RangeSet.fromJSON(JSON.parse(held)))
  else if (mine) receipts.held.addAll(mine.held)
  if (deleted) receipts.deleted.addAll(RangeSet.fromJSON(JSON.parse(deleted)))
  return seq === undefined ? undefined : Number(seq)
}

/**
 * Publishes this device's receipt `receiptDelay` after its sets changed, once for all changes in
 * between; only on a device that keeps the conversation up (not a follower).
 */
export class ReceiptTimer {
  #timer: unknown

  constructor(
    private readonly ctx: ClientContext,
    /** Publishes the receipt; runs inside `ctx.serial`. */
    private readonly publish: () => Promise<void>,
  ) {}

  /** Whether a receipt waits to be published. */
  get due(): boolean {
    return this.#timer !== undefined
  }

  soon(): void {
    if (this.#timer !== undefined || !this.ctx.upkeep) return
    const publish = () => void this.ctx.serial(this.publish).catch((error) => this.ctx.report(error))
    this.#timer = this.ctx.options.timers.setTimeout(publish, this.ctx.options.receiptDelay)
  }

  /** Injected timers see only handles their own `setTimeout` returned, never undefined. */
  cancel(): void {
    if (this.#timer === undefined) return
    this.ctx.options.timers.clearTimeout(this.#timer)
    this.#timer = undefined
  }
}
