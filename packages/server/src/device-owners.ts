import type { StorageAdapter } from '@tidings/core'

/** Storage meta key of the user a device id belongs to, server-wide. */
export const deviceOwnerKey = (device: string): string => `device:${device}`

/**
 * Which user each device id belongs to, for the whole server: the first authenticated connection
 * that announces a device binds it to its user, and every later connection announcing it for
 * another user is refused. Device ids are public (they are in message ids); without this, anyone
 * could act as another user's device in a conversation that device has not joined yet.
 */
export class DeviceOwners {
  /** Claims in flight, so two first connections of one device agree on a single owner. */
  readonly #claims = new Map<string, Promise<string>>()

  constructor(private readonly storage: StorageAdapter) {}

  /**
   * Binds `device` to `user` unless it belongs to someone already; resolves true when `user` owns
   * it. The binding is durable before this resolves.
   */
  async claim(device: string, user: string): Promise<boolean> {
    let pending = this.#claims.get(device)
    if (!pending) {
      pending = this.#claim(device, user).finally(() => this.#claims.delete(device))
      this.#claims.set(device, pending)
    }
    return (await pending) === user
  }

  async #claim(device: string, user: string): Promise<string> {
    const key = deviceOwnerKey(device)
    // First claim wins across every process sharing the storage, when it can tell.
    if (this.storage.claimMeta) return (await this.storage.claimMeta({ [key]: user })).get(key) ?? user
    const owner = await this.storage.getMeta(key)
    if (owner !== undefined) return owner
    await this.storage.write({ meta: { [key]: user } })
    return user
  }
}
