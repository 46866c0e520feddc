/**
 * Time that reads `iso` when created and runs on with real time from there, for every clock of a
 * test (server, clients, transports): where period boundaries fall must not depend on today's date.
 * `ahead(ms)` is the same time on a device whose clock runs `ms` fast.
 */
export const fakeTime = (iso: string) => {
  const base = Date.parse(iso)
  const started = performance.now()
  const now = () => Math.floor(base + performance.now() - started)
  return { now, ahead: (ms: number) => () => now() + ms }
}
