import { Either } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"

/** Where a project's own SQLite files live: `<dataDir>/sqlite/<projectId>/`. */
export const projectSqliteDir = (dataDir: string, projectId: string) =>
  path.resolve(dataDir, "sqlite", encodeURIComponent(projectId))

/** The path with every symlink of its existing part resolved (a file not created yet keeps its name). */
const realPath = (p: string): string => {
  try {
    return fs.realpathSync(p)
  } catch {
    const parent = path.dirname(p)
    return parent === p ? p : path.join(realPath(parent), path.basename(p))
  }
}

const inside = (file: string, dir: string) => {
  const relative = path.relative(realPath(dir), file)
  return relative !== "" && !relative.startsWith("..") && !path.isAbsolute(relative)
}

export interface SqlitePathRefused {
  readonly status: 400 | 403
  readonly message: string
}

/**
 * Where a SQLite connection may point. A relative name is a file of the
 * project's own directory; an absolute path must fall inside it or inside a
 * directory an operator allows (SQL_TOOL_SQLITE_ALLOW_DIRS), after symlinks
 * are resolved; an operator may name any path. `..` is refused outright.
 * Answers the resolved path, which is what gets stored and opened, so a
 * symlink swapped in later does not move the connection.
 */
export const confineSqlitePath = (options: {
  readonly filename: string
  readonly dataDir: string
  readonly projectId: string
  readonly allowDirs: ReadonlyArray<string>
  readonly operator: boolean
}): Either.Either<string, SqlitePathRefused> => {
  const { filename } = options
  if (filename === "" || filename.includes("\0")) return Either.left({ status: 400, message: "sqlite path is empty or malformed" })
  if (filename.split(/[\\/]/).includes("..")) return Either.left({ status: 400, message: "sqlite path must not contain '..'" })
  const projectDir = projectSqliteDir(options.dataDir, options.projectId)
  fs.mkdirSync(projectDir, { recursive: true, mode: 0o700 })
  const resolved = realPath(path.isAbsolute(filename) ? path.normalize(filename) : path.join(projectDir, filename))
  if (options.operator || inside(resolved, projectDir) || options.allowDirs.some((dir) => inside(resolved, dir))) {
    return Either.right(resolved)
  }
  return Either.left({
    status: 403,
    message: "sqlite files must be in the project's directory (sqlite:<name>.db) or a directory an operator allows"
  })
}
