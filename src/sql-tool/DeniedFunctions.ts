/**
 * Functions refused in read-only mode on every dialect (a name that means
 * nothing on one engine costs nothing to refuse there). They write files,
 * run SQL given as text, signal other sessions, take locks, sleep, change
 * settings or sequences — things a read-only transaction does not always stop.
 */
const exact = new Set([
  // PostgreSQL
  "set_config", "nextval", "setval", "query_to_xml", "query_to_xmlschema", "query_to_xml_and_xmlschema",
  "cursor_to_xml", "cursor_to_xmlschema", "database_to_xml", "database_to_xmlschema", "database_to_xml_and_xmlschema",
  "schema_to_xml", "schema_to_xml_and_xmlschema", "ts_stat", "txid_current", "pg_current_xact_id",
  "pg_notify", "current_setting_set", "make_interval_sleep", "pg_export_snapshot",
  // MySQL / MariaDB
  "sleep", "benchmark", "load_file", "get_lock", "release_lock", "release_all_locks", "master_pos_wait",
  "source_pos_wait", "master_gtid_wait", "wait_for_executed_gtid_set", "wait_until_sql_thread_after_gtids",
  "sys_exec", "sys_eval", "sys_get", "sys_set", "last_insert_id", "name_const",
  // SQLite
  "load_extension", "writefile", "readfile", "edit", "fts3_tokenizer", "sqlite_rename_table"
])

const prefixes = [
  "pg_sleep", "pg_terminate", "pg_cancel", "pg_advisory", "pg_try_advisory", "lo_", "dblink", "pg_read",
  "pg_ls", "pg_stat_file", "pg_stat_reset", "pg_file", "pg_logical", "pg_replication", "pg_create", "pg_drop",
  "pg_promote", "pg_switch", "pg_reload", "pg_rotate", "pg_backup", "pg_start_backup", "pg_stop_backup",
  "pg_import", "pg_wal", "pg_log_backend", "pg_truncate", "pg_sequence", "binary_upgrade", "pg_copy",
  "pg_prewarm", "pg_signal"
]

export const deniedFunction = (name: string) => {
  const n = name.toLowerCase()
  return exact.has(n) || prefixes.some((p) => n.startsWith(p))
}
