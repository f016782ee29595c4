import { describe, expect, test } from "bun:test"
import { ConfigProvider, Effect, Exit } from "effect"
import { conformanceFixturesEnabled } from "../../src/tools/McpConformanceFixtures.ts"

/** The conformance suite's fixtures are test-only: the flag is refused at start-up outside NODE_ENV=test. */
const withEnv = (env: Record<string, string>) =>
  Effect.runSyncExit(conformanceFixturesEnabled.pipe(Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env))))))

describe("MCP_CONFORMANCE_FIXTURES", () => {
  test("off by default; on only with NODE_ENV=test; refused (start-up dies) otherwise", () => {
    expect(withEnv({})).toEqual(Exit.succeed(false))
    expect(withEnv({ NODE_ENV: "test", MCP_CONFORMANCE_FIXTURES: "false" })).toEqual(Exit.succeed(false))
    expect(withEnv({ NODE_ENV: "test", MCP_CONFORMANCE_FIXTURES: "true" })).toEqual(Exit.succeed(true))
    const refused: Array<Record<string, string>> = [{ MCP_CONFORMANCE_FIXTURES: "true" }, { NODE_ENV: "production", MCP_CONFORMANCE_FIXTURES: "true" }]
    for (const env of refused) {
      const exit = withEnv(env)
      expect(Exit.isFailure(exit)).toBe(true)
      expect(String(Exit.isFailure(exit) ? exit.cause : "")).toContain("refused unless NODE_ENV=test")
    }
  })
})
