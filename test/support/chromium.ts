import { existsSync } from 'node:fs'

/** Debian's Chromium: playwright cannot download browsers here, and .ci/run installs this one. */
export const CHROMIUM = '/usr/bin/chromium'

/** Chromium flags for a quiet headless run in a container (Debian's build, no sandbox). */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]

/** Whether Chromium is there to launch. */
export const chromiumInstalled = existsSync(CHROMIUM)

/**
 * Whether a browser test file should skip: locally without Chromium it does (with a warning);
 * under CI it runs and fails, since .ci/run installs Chromium.
 */
export const skipWithoutChromium = (file: string): boolean => {
  const skip = !chromiumInstalled && !process.env.CI
  if (skip) console.warn(`${file} skipped: ${CHROMIUM} is not installed (apt-get install chromium).`)
  return skip
}
