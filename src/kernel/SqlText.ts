import { Schema } from "effect"

/** Text bound for SQL: PostgreSQL rejects NUL in TEXT, so it is a 400 here rather than a 500 there. */
export const SqlText = Schema.String.pipe(
  Schema.filter((s) => !s.includes("\u0000"), { message: () => "must not contain NUL characters" })
)
