/**
 * A string every tab of this origin sees (localStorage), with change notices from this tab and
 * from the others (the `storage` event fires only in the others).
 */
export interface SharedValue {
  get(): string | undefined
  set(value: string | undefined): void
  subscribe(fn: () => void): () => void
}

// Per key, not per handle: two handles on one key in this tab hear each other's writes.
const listeners = new Map<string, Set<() => void>>()

export const sharedValue = (key: string): SharedValue => {
  const here = listeners.get(key) ?? new Set<() => void>()
  listeners.set(key, here)
  return {
    get: () => localStorage.getItem(key) ?? undefined,
    set(value) {
      if (value === (localStorage.getItem(key) ?? undefined)) return
      if (value === undefined) localStorage.removeItem(key)
      else localStorage.setItem(key, value)
      for (const fn of [...here]) fn()
    },
    subscribe(fn) {
      const onStorage = (event: StorageEvent) => event.key === key && fn()
      here.add(fn)
      window.addEventListener('storage', onStorage)
      return () => {
        here.delete(fn)
        window.removeEventListener('storage', onStorage)
      }
    },
  }
}
