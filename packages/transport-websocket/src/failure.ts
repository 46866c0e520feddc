import { TidingsError } from '@tidings/core'

/** How a socket ended, as far as the platform tells: `ws` gives an Error with a code, browsers nothing. */
export interface SocketEnd {
  /** The WebSocket upgrade succeeded. */
  readonly opened: boolean
  readonly closeCode: number
  readonly closeReason: string
  /** What the socket's error event carried, if it fired. */
  readonly error: unknown
  /** The server's error frame before its welcome: why it is about to close. */
  readonly refusal: TidingsError | undefined
}

/** Node's error codes for a TLS handshake that failed (OpenSSL's own, and the certificate checks). */
const TLS_CODE = /^(EPROTO|ERR_SSL_|ERR_TLS_|CERT_|DEPTH_ZERO_|UNABLE_TO_|SELF_SIGNED_)/
/** An HTTP parser that met bytes that are not HTTP: a TLS server answering a plain `ws://` request. */
const NOT_HTTP = /^HPE_/

const codeOf = (error: unknown): string =>
  typeof error === 'object' && error !== null && typeof (error as { code?: unknown }).code === 'string'
    ? (error as { code: string }).code
    : ''

const messageOf = (error: unknown): string =>
  error instanceof Error ? error.message : String((error as { message?: unknown })?.message ?? '')

/** The typed failure a socket's end means: what went wrong, and what to check. */
export const failureOf = (url: string, end: SocketEnd): TidingsError => {
  const cause = end.error === undefined ? {} : { cause: end.error }
  if (end.closeCode === 4401) {
    // The server's own reason names what it refused (the token, or a device of another user).
    if (end.refusal)
      return new TidingsError(
        'auth/denied',
        `The server refused this sign-in: ${end.refusal.message}.`,
        cause,
      )
    const why = end.closeReason ? ` (${end.closeReason})` : ''
    return new TidingsError('auth/denied', `The server refused the token${why}.`, cause)
  }
  if (end.opened) {
    const why = end.closeReason ? `: ${end.closeReason}` : ''
    return new TidingsError('network/lost', `The link to ${url} closed (code ${end.closeCode}${why}).`, cause)
  }
  const code = codeOf(end.error)
  const message = messageOf(end.error)
  const status = /Unexpected server response: (\d+)/.exec(message)?.[1]
  if (status !== undefined && Number(status) < 500) {
    const hint =
      status === '404'
        ? "check the URL's path (the Tidings server listens on its root, /)"
        : 'another server or a proxy answered: check the URL'
    return new TidingsError(
      'network/bad-path',
      `${url} answered HTTP ${status} to the WebSocket upgrade: ${hint}.`,
      cause,
    )
  }
  // A plain server hangs up on a TLS handshake: Node calls it a reset "before secure TLS connection".
  const handshakeCut = url.startsWith('wss:') && /\b(TLS|SSL)\b/.test(message)
  if (TLS_CODE.test(code) || NOT_HTTP.test(code) || handshakeCut)
    return new TidingsError(
      'network/tls',
      `TLS failed with ${url} (${code}): use wss:// for a TLS server and ws:// for a plain one, and check its certificate.`,
      cause,
    )
  const detail = code || message || 'the platform gives no detail'
  // A TLS server hangs up on a plain request without a word: from here it looks like a reset.
  const hint =
    code === 'ECONNRESET'
      ? 'the server hung up before answering: if it serves TLS, use wss://'
      : 'is the server running, and are the host, port and scheme right?'
  return new TidingsError('network/unreachable', `Cannot reach ${url} (${detail}): ${hint}`, cause)
}
