// biome-ignore lint/suspicious/noExplicitAny: listener signatures vary per event
type Listener = (...args: any[]) => void

/** A typed event emitter: an event map type per emitter, listeners removed by the returned function. */
export class Emitter<Events extends { [E in keyof Events]: Listener }> {
  readonly #listeners = new Map<keyof Events, Set<Listener>>()

  /**
   * @param onListenerError when given, a listener that throws is handed to it and the others still
   * run; without it the error propagates to the emitter's caller.
   */
  constructor(private readonly onListenerError?: (error: unknown, event: keyof Events) => void) {}

  /** Adds a listener for `event`; returns the function that removes it. */
  on<E extends keyof Events>(event: E, listener: Events[E]): () => void {
    let set = this.#listeners.get(event)
    if (!set) {
      set = new Set()
      this.#listeners.set(event, set)
    }
    set.add(listener)
    return () => set.delete(listener)
  }

  /** Calls every listener of `event` with `args`, in the order they were added. */
  emit<E extends keyof Events>(event: E, ...args: Parameters<Events[E]>): void {
    for (const listener of [...(this.#listeners.get(event) ?? [])]) {
      if (!this.onListenerError) listener(...args)
      else
        try {
          listener(...args)
        } catch (error) {
          this.onListenerError(error, event)
        }
    }
  }
}
