/**
 * Catalog rows of the drivers that list index and foreign-key columns one row each (MySQL /
 * MariaDB `information_schema`, SQLite pragmas), grouped per table, then per index or key, with
 * the columns in row order.
 */
export interface IndexColumn {
  readonly table: string
  readonly index: string
  readonly column: string
  readonly unique: boolean
}

export interface ForeignKeyColumn {
  readonly table: string
  /** The key's name or id: rows of one key share it. */
  readonly key: string
  readonly column: string
  readonly referencedTable: string
  readonly referencedColumn: string
}

export interface IndexInfo {
  readonly name: string
  readonly columns: Array<string>
  readonly unique: boolean
}

export interface ForeignKeyInfo {
  readonly columns: Array<string>
  readonly referencedTable: string
  readonly referencedColumns: Array<string>
}

const groupBy = <R extends { readonly table: string }, G>(
  rows: Iterable<R>,
  keyOf: (row: R) => string,
  start: (row: R) => G,
  add: (group: G, row: R) => void
) => {
  const tables = new Map<string, Map<string, G>>()
  for (const row of rows) {
    const byKey = tables.get(row.table) ?? new Map<string, G>()
    const group = byKey.get(keyOf(row)) ?? start(row)
    add(group, row)
    byKey.set(keyOf(row), group)
    tables.set(row.table, byKey)
  }
  return tables
}

export const groupIndexes = (rows: Iterable<IndexColumn>): Map<string, Map<string, IndexInfo>> =>
  groupBy(rows, (r) => r.index, (r): IndexInfo => ({ name: r.index, columns: [], unique: r.unique }), (g, r) => g.columns.push(r.column))

export const groupForeignKeys = (rows: Iterable<ForeignKeyColumn>): Map<string, Map<string, ForeignKeyInfo>> =>
  groupBy(
    rows,
    (r) => r.key,
    (r): ForeignKeyInfo => ({ columns: [], referencedTable: r.referencedTable, referencedColumns: [] }),
    (g, r) => {
      g.columns.push(r.column)
      g.referencedColumns.push(r.referencedColumn)
    }
  )
