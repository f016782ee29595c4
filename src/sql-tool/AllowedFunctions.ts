/**
 * Functions a read-only query may call, on every dialect. An allow-list, not
 * a deny-list: a deny-list misses the one function nobody thought of (issue
 * #17: `ts_rewrite(tsquery, text)` runs SQL given as text, and through it
 * `pg_read_file`, `dblink_exec`, `pg_terminate_backend` and session advisory
 * locks all ran). Only pure built-ins that compute from their arguments or
 * read the query's own rows are here: aggregates, window functions, string,
 * math, date/time, JSON, array and full-text helpers. A name that means
 * nothing on one engine costs nothing to allow there; anything unknown is
 * refused.
 */
const allowed = new Set([
  // aggregates
  "count", "sum", "avg", "min", "max", "array_agg", "string_agg", "group_concat", "total", "bool_and", "bool_or",
  "every", "bit_and", "bit_or", "bit_xor", "json_agg", "jsonb_agg", "json_object_agg", "jsonb_object_agg",
  "json_arrayagg", "json_objectagg", "json_group_array", "json_group_object", "stddev", "stddev_pop",
  "stddev_samp", "std", "variance", "var_pop", "var_samp", "corr", "covar_pop", "covar_samp", "regr_avgx",
  "regr_avgy", "regr_count", "regr_intercept", "regr_r2", "regr_slope", "regr_sxx", "regr_sxy", "regr_syy",
  "percentile_cont", "percentile_disc", "mode", "median", "any_value",
  // window functions
  "row_number", "rank", "dense_rank", "percent_rank", "cume_dist", "ntile", "lag", "lead", "first_value",
  "last_value", "nth_value",
  // strings
  "length", "len", "char_length", "character_length", "octet_length", "bit_length", "lower", "upper", "lcase",
  "ucase", "initcap", "trim", "btrim", "ltrim", "rtrim", "lpad", "rpad", "substr", "substring", "mid", "left",
  "right", "position", "strpos", "instr", "locate", "replace", "reverse", "repeat", "concat", "concat_ws",
  "split_part", "string_to_array", "array_to_string", "regexp_replace", "regexp_match", "regexp_matches",
  "regexp_split_to_array", "regexp_split_to_table", "regexp_like", "regexp_substr", "regexp_instr",
  "regexp_count", "translate", "ascii", "chr", "char", "unicode", "md5", "sha1", "sha2", "sha224", "sha256",
  "sha384", "sha512", "encode", "decode", "format", "printf", "quote_ident", "quote_literal", "quote_nullable",
  "to_hex", "hex", "unhex", "starts_with", "field", "find_in_set", "soundex", "space", "overlay", "like", "glob",
  "similar_to_escape", "normalize", "is_normalized", "casefold", "to_char", "to_number", "to_date",
  "to_timestamp", "to_base64", "from_base64", "strcmp", "elt", "insert", "char_octet_length",
  // numbers
  "abs", "ceil", "ceiling", "floor", "round", "trunc", "truncate", "sign", "sqrt", "cbrt", "power", "pow", "exp",
  "ln", "log", "log10", "log2", "mod", "div", "pi", "degrees", "radians", "sin", "cos", "tan", "asin", "acos",
  "atan", "atan2", "cot", "sinh", "cosh", "tanh", "greatest", "least", "random", "rand", "width_bucket", "gcd",
  "lcm", "factorial", "scale", "min_scale", "trim_scale", "conv", "bin", "oct", "format_number",
  // date and time
  "now", "current_date", "current_time", "current_timestamp", "localtime", "localtimestamp", "clock_timestamp",
  "statement_timestamp", "transaction_timestamp", "timeofday", "date_trunc", "date_part", "extract", "age",
  "make_date", "make_time", "make_timestamp", "make_timestamptz", "make_interval", "timezone", "date_bin",
  "isfinite", "justify_days", "justify_hours", "justify_interval", "overlaps", "date", "time", "datetime",
  "julianday", "strftime", "unixepoch", "timediff", "date_add", "date_sub", "adddate", "subdate", "datediff",
  "date_format", "time_format", "year", "month", "day", "dayname", "monthname", "dayofweek", "dayofmonth",
  "dayofyear", "hour", "minute", "second", "microsecond", "week", "weekday", "weekofyear", "yearweek", "quarter",
  "last_day", "timestampdiff", "timestampadd", "str_to_date", "from_unixtime", "unix_timestamp", "curdate",
  "curtime", "sysdate", "utc_date", "utc_time", "utc_timestamp", "makedate", "maketime", "sec_to_time",
  "time_to_sec", "to_days", "from_days", "period_add", "period_diff", "convert_tz",
  // JSON
  "to_json", "to_jsonb", "row_to_json", "array_to_json", "json_build_object", "jsonb_build_object",
  "json_build_array", "jsonb_build_array", "json_object", "jsonb_object", "json_array", "json_extract",
  "json_extract_path", "json_extract_path_text", "jsonb_extract_path", "jsonb_extract_path_text",
  "json_array_length", "jsonb_array_length", "json_each", "jsonb_each", "json_each_text", "jsonb_each_text",
  "json_array_elements", "jsonb_array_elements", "json_array_elements_text", "jsonb_array_elements_text",
  "json_object_keys", "jsonb_object_keys", "json_typeof", "jsonb_typeof", "jsonb_set", "jsonb_set_lax",
  "jsonb_insert", "json_strip_nulls", "jsonb_strip_nulls", "jsonb_pretty", "jsonb_path_query",
  "jsonb_path_query_array", "jsonb_path_query_first", "jsonb_path_exists", "jsonb_path_match",
  "json_to_record", "jsonb_to_record", "json_to_recordset", "jsonb_to_recordset", "json_valid", "json_value",
  "json_query", "json_exists", "json_unquote", "json_quote", "json_contains", "json_contains_path", "json_keys",
  "json_length", "json_depth", "json_type", "json_set", "json_insert", "json_replace", "json_remove",
  "json_merge_patch", "json_merge_preserve", "json_search", "json_overlaps", "json_compact", "json_detailed",
  "json_loose", "json_patch", "json_tree", "json_array_insert", "json_array_append", "json_scalar", "json",
  "jsonb",
  // arrays and set-returning helpers (bounded by the statement timeout and the result limits)
  "array_length", "cardinality", "unnest", "array_position", "array_positions", "array_append",
  "array_prepend", "array_cat", "array_remove", "array_replace", "array_lower", "array_upper", "array_ndims",
  "array_dims", "array_fill", "generate_series", "generate_subscripts",
  // conditionals and types
  "coalesce", "nullif", "ifnull", "nvl", "nvl2", "if", "iif", "isnull", "num_nulls", "num_nonnulls", "typeof",
  "pg_typeof", "cast", "convert", "quote", "zeroblob", "randomblob", "likely", "unlikely", "likelihood",
  "gen_random_uuid", "uuid", "exists",
  // full text search (not ts_rewrite / ts_stat: they run SQL given as text)
  "to_tsvector", "to_tsquery", "plainto_tsquery", "phraseto_tsquery", "websearch_to_tsquery", "ts_rank",
  "ts_rank_cd", "ts_headline", "setweight", "strip", "numnode", "querytree", "tsvector_to_array",
  "array_to_tsvector", "ts_delete", "ts_filter", "match"
])

/**
 * Families refused with a reason of their own (they are not on the allow-list
 * anyway): SQL given as text, files, other sessions, locks, sleeping,
 * settings, sequences, remote connections, extensions.
 */
const dangerousPrefixes = [
  "ts_rewrite", "ts_stat", "query_to_xml", "cursor_to_xml", "database_to_xml", "schema_to_xml", "table_to_xml",
  "dblink", "pg_read", "pg_ls", "pg_stat_file", "pg_file", "lo_", "pg_terminate", "pg_cancel", "pg_signal",
  "pg_advisory", "pg_try_advisory", "pg_sleep", "set_config", "nextval", "setval", "pg_notify", "load_file",
  "get_lock", "release_lock", "release_all_locks", "is_used_lock", "sleep", "benchmark", "load_extension",
  "writefile", "readfile", "sys_"
]

export type FunctionVerdict = "allowed" | "dangerous" | "unknown"

/** `schema` is the qualifier the call was written with, if any. */
export const functionVerdict = (name: string, schema?: string): FunctionVerdict => {
  const n = name.toLowerCase()
  if (dangerousPrefixes.some((p) => n.startsWith(p))) return "dangerous"
  // A qualified name may reach a user-defined function of the same name in another schema.
  if (schema !== undefined && schema !== "" && schema.toLowerCase() !== "pg_catalog") return "unknown"
  return allowed.has(n) ? "allowed" : "unknown"
}
