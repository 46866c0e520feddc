import type { Conversation } from '@tidings/core'

/** Resolves once `test` holds for the conversation, checking after every change. */
export const until = (convo: Conversation, test: () => boolean): Promise<void> =>
  new Promise<void>((resolve) => {
    if (test()) return resolve()
    const stop = convo.subscribe(() => {
      if (!test()) return
      stop()
      resolve()
    })
  })
