/**
 * `npm start`: the Tidings server on an embedded SQLite database (./data), serving the web chat
 * (examples/web-chat, built first when stale) and its WebSocket on one port, 8080 by default.
 */
import { parseStartArgs, type StartConfig, USAGE } from './config.js'
import { DEMO_TOKENS } from './demo-auth.js'
import { explainStartError } from './start-errors.js'
import { startWebChat } from './web-chat-server.js'

let config: ReturnType<typeof parseStartArgs>
try {
  config = parseStartArgs(process.argv.slice(2), process.env)
} catch (error) {
  process.stderr.write(`${(error as Error).message}\n\n${USAGE}`)
  process.exit(2)
}
if (config === 'help') {
  process.stdout.write(USAGE)
  process.exit(0)
}

const chat = await startWebChat(config, { log: console.log }).catch((error: unknown) => {
  process.stderr.write(`${explainStartError(error, config as StartConfig)}\n`)
  process.exit(1)
})
const users = Object.values(DEMO_TOKENS)
console.log(`
Tidings web chat:  ${chat.httpUrl}
Sync WebSocket:    ${chat.wsUrl}  (same port; data in ${config.dataDir}/tidings.db)

Open ${chat.httpUrl} and pick ${users[0]}. To chat as a second user, open a second window
(or a private one) at the same address and pick ${users[1]}. Tick "offline" in one window, write
a few messages (one urgent), untick it, and watch the other window.
Terminal chat on the same server: TIDINGS_URL=${chat.wsUrl} npm run chat -- ${users[2]}
Stop with Ctrl-C.`)

// SIGTERM (a deploy, `docker stop`): the server refuses new sockets, finishes its commits and
// closes every client with 1001, so the web chats reconnect to the next instance.
const stop = async () => {
  await chat.close()
  process.exit(0)
}
process.once('SIGINT', stop)
process.once('SIGTERM', stop)
