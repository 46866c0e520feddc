/** Every statement the adapter runs, written once per schema (`s` quoted). */
export const statements = (s: string) => ({
  // One statement appends every update of a group: counts per doc rise once, and each doc's rows
  // get consecutive numbers in input order. Upserting `docs` row-locks each doc until commit, so
  // appends of one doc commit in row-number order across processes.
  append: `
    WITH input AS (
      SELECT doc COLLATE "C" AS doc, body, messages, newest, ord
      FROM unnest($1::text[], $2::bytea[], $3::float8[], $4::float8[]) WITH ORDINALITY
        AS t(doc, body, messages, newest, ord)
    ), agg AS (
      SELECT doc, count(*) AS k, sum(messages) AS messages, max(newest) AS newest FROM input GROUP BY doc
    ), bumped AS (
      INSERT INTO ${s}.docs AS d (doc, updates, messages, newest, next_n)
      SELECT doc, k, messages, greatest(newest, 0), k + 1 FROM agg ORDER BY doc
      ON CONFLICT (doc) DO UPDATE SET updates = d.updates + excluded.updates,
        messages = d.messages + excluded.messages, newest = greatest(d.newest, excluded.newest),
        next_n = d.next_n + excluded.updates
      RETURNING d.doc, d.next_n
    )
    INSERT INTO ${s}.updates (doc, n, "update")
    SELECT i.doc, b.next_n - a.k - 1 + row_number() OVER (PARTITION BY i.doc ORDER BY i.ord), i.body
    FROM input i JOIN agg a ON a.doc = i.doc JOIN bumped b ON b.doc = i.doc`,
  setMeta: `
    INSERT INTO ${s}.meta (key, value) SELECT k, v FROM unnest($1::text[], $2::bytea[]) AS t(k, v) ORDER BY k
    ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
  deleteMeta: `DELETE FROM ${s}.meta WHERE key = ANY($1::text[])`,
  claimMeta: `
    INSERT INTO ${s}.meta (key, value) SELECT k, v FROM unnest($1::text[], $2::bytea[]) AS t(k, v) ORDER BY k
    ON CONFLICT (key) DO NOTHING`,
  getMetas: `SELECT key, value FROM ${s}.meta WHERE key = ANY($1::text[])`,
  getMeta: `SELECT value FROM ${s}.meta WHERE key = $1`,
  // A rewritten key keeps its place in the order, as a Map entry does in memory storage.
  putOutbox: `
    INSERT INTO ${s}.outbox (key, doc, lane, "update", messages) VALUES ($1, $2, $3, $4, $5)
    ON CONFLICT (key) DO UPDATE SET doc = excluded.doc, lane = excluded.lane,
      "update" = excluded."update", messages = excluded.messages`,
  deleteOutbox: `DELETE FROM ${s}.outbox WHERE key = ANY($1::text[])`,
  selectOutbox: `SELECT key, doc, lane, "update", messages FROM ${s}.outbox ORDER BY seq`,
  // '/' + 1 is '0': under byte order the range holds exactly the names that start with `<conversation>/`.
  listDocs: `SELECT doc, updates, messages, newest FROM ${s}.docs WHERE doc >= $1 AND doc < $2 AND updates > 0`,
  selectRows: `SELECT n, "update" FROM ${s}.updates WHERE doc = $1 AND n > $2::int8 ORDER BY n`,
  deleteRowsUpTo: `DELETE FROM ${s}.updates WHERE doc = $1 AND n <= $2::int8`,
  compacted: `
    UPDATE ${s}.docs SET updates = updates - $2::int8 + 1, next_n = next_n + 1 WHERE doc = $1
    RETURNING next_n - 1 AS n`,
  insertRow: `INSERT INTO ${s}.updates (doc, n, "update") VALUES ($1, $2, $3)`,
  deleteRows: `DELETE FROM ${s}.updates WHERE doc = $1`,
  // The row stays, so row numbers keep rising if the doc is written again.
  dropDoc: `UPDATE ${s}.docs SET updates = 0, messages = 0, newest = 0 WHERE doc = $1`,
  deleteOutboxOfDoc: `DELETE FROM ${s}.outbox WHERE doc = $1`,
  tryCompactLock: 'SELECT pg_try_advisory_xact_lock($1::int8) AS got',
})

export type Statements = ReturnType<typeof statements>
