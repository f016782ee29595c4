/**
 * The statements BatchedMessageStorage.ts runs, as text: a group's requests (with their
 * senders' writes) and a group's replies (with their handlers' writes). Kept apart so that
 * tests can prepare and explain them as the storage runs them.
 */

// The library's saveRequest for a group of requests, as one multi-row INSERT ($1..$12).
export const insertRequestsStatement = (messages: string, returning: string) => `
  INSERT INTO ${messages}
    (id, message_id, shard_id, entity_type, entity_id, kind, tag, payload, headers,
     trace_id, span_id, sampled, request_id, deliver_at)
  SELECT id, message_id, shard_id, entity_type, entity_id, 0, tag, payload, headers,
         trace_id, span_id, sampled, id, deliver_at
  FROM unnest($1::bigint[], $2::varchar[], $3::varchar[], $4::varchar[], $5::varchar[], $6::varchar[],
              $7::text[], $8::text[], $9::varchar[], $10::varchar[], $11::boolean[], $12::bigint[])
    AS t(id, message_id, shard_id, entity_type, entity_id, tag, payload, headers,
         trace_id, span_id, sampled, deliver_at)
  ON CONFLICT (message_id) DO NOTHING
  RETURNING ${returning}`

// A group's requests with their senders' writes (RequestWrites.ts, parameters from $13): the
// INSERT as the CTE `stored`, the writes after it (they see what it stored), then the ids
// stored and each write's result.
export const requestWritesStatement = (messages: string, writes: { readonly ctes: string; readonly results: string }) => `
  WITH stored AS (${insertRequestsStatement(messages, "id::text, message_id")}),
  ${writes.ctes}
  SELECT 'stored' AS what, id AS value, NULL::json AS result FROM stored
  UNION ALL SELECT 'result', message_id, result FROM (${writes.results}) AS w`

// The library's saveReply for a WithExit (UPDATE ... processed, then INSERT the reply, in
// one transaction) for a whole group, as one statement.
//
// The messages of each request (the request and any interrupt or ack stored for it) are
// looked up one request at a time through the request_id index: the LATERAL subquery with
// OFFSET 0 is not flattened into a join. Written as a join (`FROM r WHERE m.request_id =
// r.request_id`), a group of ~15 or more replies was planned as a hash join over a sequential
// scan of the whole table whenever the table had no statistics (a new database, autovacuum
// off or not yet run: 0.5 % of the rows assumed per request id), and the prepared plan kept
// it: 16 ms instead of 0.7 ms per group at 48,000 rows, growing with the table, and most of
// PostgreSQL's CPU in the cluster bench (issue #19).
//
// The replies come as one JSON array ($1: `exitRows`), not as typed arrays: PostgreSQL reads
// an array parameter's length when it plans for the actual values, so each group's custom plan
// (one row) looked cheaper than the generic plan (100 rows assumed) and the statement was
// planned anew on every call, 0.2-1.7 ms of `bind` against 0.15 ms of execution (issue #19). A
// JSON array's rows are estimated alike either way, and the generic plan is kept.
//
// `writes`: the handlers' writes that commit with these replies (ReplyWrites.ts), as common
// table expressions before the reply's own (parameters from $2).
export const exitGroupStatement = (messages: string, replies: string, writes = "") => `
  WITH ${writes === "" ? "" : `${writes},\n`}r AS (
    INSERT INTO ${replies} (id, kind, request_id, payload)
    SELECT id, 0, request_id, payload FROM jsonb_to_recordset($1::jsonb) AS t(id bigint, request_id bigint, payload text)
    RETURNING id, request_id
  )
  UPDATE ${messages} m SET processed = TRUE, last_reply_id = x.reply_id
  FROM (
    SELECT r.id AS reply_id, own.id AS message_id
    FROM r CROSS JOIN LATERAL (SELECT id FROM ${messages} WHERE request_id = r.request_id OFFSET 0) AS own
  ) AS x
  WHERE m.id = x.message_id`

export type ExitRow = { readonly id: string; readonly requestId: string; readonly payload: string }

/** `exitGroupStatement`'s $1 for `rows`. */
export const exitRows = (rows: ReadonlyArray<ExitRow>) =>
  JSON.stringify(rows.map((r) => ({ id: r.id, request_id: r.requestId, payload: r.payload })))
