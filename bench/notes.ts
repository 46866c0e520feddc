import type { EngineSpec } from './engines.js'
import { markdownTable } from './table.js'

export const METHOD_APPEND = `How: every engine writes the same record per message (\`{ author, device, stamp: { wall, counter },
body: { text }, priority }\`, keyed \`<device>.<seq>\` where keyed, with the id inside for lists), one message
per transaction / change / commit / INSERT. Every repetition runs in a fresh Node process (the wasm engines
never return memory, and one run's heap would slow the next one's GC), after a warm-up log of 5,000
messages in that process; \`--expose-gc\` lets a full GC run between phases, never inside a timed window,
so GC work caused by the appends is counted. "µs/msg @10k" is the mean over the window of messages just
before the 10,000th (the "window" column: messages 8,001–10,000 for most engines), "@100k" and "@1M"
likewise, in the same run; engines that go to 1M are those where a run fits the time budget (JSON,
Yjs map, Tidings); the others stop at 100k. The table shows the median over reps; each cost ratio is
µs/msg at a point ÷ µs/msg at the point before (min–max over reps in brackets), also from the process's
CPU time (user + system), which does not count time spent waiting for a core. The throughput goals
compare msgs/s at 100k (1e6 ÷ µs/msg) with the by-id peers (map set by id), as Tidings keys by id too.
The raw CRDT engines keep every update they emit (as a store would).

Tidings' figure is its whole send path: validation, clock, Yjs transaction, view and timeline, outbox,
the memoryStorage write, and the compaction the client runs: a bounded merge of the lane doc's newest
rows (at most 64 KiB, \`compactTail\`) each time 32 KiB or 256 rows came in, started from a timer
in its own turn of the event loop. So that those steps run during the log, as between an app's
events, the Tidings loop awaits a setImmediate every 256 sends (the raw engines have no background
work); their cost falls in the timed windows. Every Tidings send is also timed on its own (about
0.1 µs each) and the slowest is shown with its message number and rep; event-loop blocks (a
compaction step, GC) are measured in section 1d. With BENCH_APPEND_ALL=1 the list variants (Yjs
Y.Array, LoroList, Automerge list) and a diagnostic Tidings row whose storage compactions are no-ops
run too. To see where the time goes: \`npm run profile -w @tidings/bench -- send\` (a CPU profile of
sends 99,001–100,000, summarised by function), or \`-- send 100000 1000 no-compact\`.

Automerge is too slow to append 100,000 messages one change at a time within the time budget (at 100k one
change of the map costs a large fraction of a second), so its log is first built in bulk with
\`Automerge.from\` to 9,980 / 99,980 messages and only the last 20 changes before each point are timed
one change at a time. Its per-change cost depends on the document's size, not on how it was built (in
a side run at 6,000 messages: 21.0 ms per change after one-change-at-a-time building, 19.8 ms after
bulk building). Strings are \`ImmutableString\`: plain JS strings would become collaborative text.`

export const methodOpen = (
  reps: number,
): string => `How: a conversation is written straight into storage in Tidings' layout (\`<id>/meta\` with
settings.periodMs and the device, \`<id>/normal/<period>\` docs each a Y.Map \`m\` of message records keyed
\`<device>.<seq>\`), with the period counts and newest stamps \`listDocs\` reports, into a SQLite file
(\`@tidings/storage-sqlite\`) or a \`memoryStorage\`. "Compacted" is one merged update per
period doc; "a row per send" one stored update per message, as a device holds them before it compacts;
"unsent" also puts each message's update in the outbox, as \`send()\` leaves it while offline. Each layout is
generated and opened in its own process per storage. Per repetition a fresh client (\`createClient({ user, storage })\`,
no transport) times \`await client.open(id)\`; the SQLite file is opened afresh (\`sqliteStorage({ path })\`)
before the clock starts, the memory storage is shared. Two warm-up opens, then ${reps}; median (min–max) of wall
time, and process CPU time. Heap growth: a full GC (\`--expose-gc\`), then
\`heapUsed\` just before \`createClient\` against \`heapUsed\` right after \`open()\` resolved (garbage
included: no GC in between); "outside heap" is the same for \`external\` (Buffers, ArrayBuffers). The check
reads \`convo.messages()\` after open: it must be the newest messages, contiguous and in order, ending
with the newest one, each \`pending\` when unsent and \`sent\` otherwise; after the timed reps one more open
waits for \`pending()\` to list every unsent message (the client reads the outbox entries of docs it did
not load only then). The outbox row compares the open with every message unsent to
the open of the same stored messages with an empty outbox, measured in the same process.`

export const METHOD_SIZES = `How: 10,000 messages appended one per transaction as in measurement 1. "One update per message" sums
the bytes of the updates / changes / commits emitted (what a store keeps before compaction; for JSON, an
NDJSON line per message; for SQLite, the database file after a WAL checkpoint, in both columns).
"Compacted" is \`Y.encodeStateAsUpdate\` (Yjs), \`Y.mergeUpdates\` of the stored rows (Tidings),
\`Automerge.save\`, Loro's snapshot export, \`JSON.stringify\` of the whole array. For Tidings the first
column is the lane doc's rows as memoryStorage holds them after 10,000 sends: after the client's
compactions, one merged row plus the rows since the last one; the diagnostic row (no compaction) keeps
one row per send. memoryStorage also keeps a copy of each update in the outbox until a server
acknowledges it (not counted), and a few small meta rows. Automerge's per-change figure (≈) is the mean of 200 single changes
after a bulk build of 9,800, times 10,000.

The goal rows measure the real store: the same 10,000 messages sent with \`convo.send\` into
\`@tidings/storage-sqlite\` (one period), the outbox then acknowledged as a server would, every doc
compacted (the merged row deflated on zlib's thread pool), then \`VACUUM\` and a WAL checkpoint: "whole
database file" is the file's size (page-level: every table and index, meta, docs, the compacted rows),
"\`updates\` table pages" the pages of that table and its key from \`dbstat\`. The JSON and Loro peers are
\`JSON.stringify([{ id, ...record }])\` of the records read back from the compacted lane doc, and Loro's
snapshot export (not compressed further) of a LoroMap holding the same records, one commit per message.
It runs twice: with the bench's texts (\`message number <i>\`, which deflate far better than chat) and
with chat-like texts (\`chatText\` of @tidings/testing: 3–30 words drawn Zipf-like from a 3,000-word
vocabulary, which deflate about as natural language does).`

export const whatEachAppendDoes = (specs: readonly EngineSpec[]): string =>
  markdownTable(
    ['engine', 'one append'],
    specs.map((s) => [s.name, s.does]),
    2,
  )
