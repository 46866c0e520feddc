import type { Json } from '@tidings/core'

/** The text of a chat body `{ text }`; anything else another app wrote is shown as JSON. */
export const textOf = (body: Json): string =>
  typeof body === 'object' && body !== null && !Array.isArray(body) && typeof body.text === 'string'
    ? body.text
    : JSON.stringify(body)
