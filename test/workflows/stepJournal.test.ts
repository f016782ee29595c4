import { describe, expect, test } from "bun:test"
import { journalOf, replay } from "../../src/workflows/StepJournal.ts"

describe("step journal replay", () => {
  test("a completed step returns its journaled output; nothing journaled runs attempt 1", () => {
    expect(replay({ status: "completed", attempt: 2, output: { n: 1 } }, 3)).toEqual({ _tag: "Completed", output: { n: 1 }, attempt: 2 })
    expect(replay(undefined, 3)).toEqual({ _tag: "Run", attempt: 1 })
  })

  test("an attempt in flight at a crash runs again under the same number", () => {
    expect(replay({ status: "running", attempt: 2 }, 3)).toEqual({ _tag: "Run", attempt: 2 })
  })

  test("a failed attempt continues with the next one only while retries are left and it was retryable", () => {
    expect(replay({ status: "failed", attempt: 1, retryable: true, error: "503" }, 3)).toEqual({ _tag: "Run", attempt: 2 })
    expect(replay({ status: "failed", attempt: 3, retryable: true, error: "503" }, 3)).toEqual({ _tag: "Failed", error: "503", attempt: 3 })
    expect(replay({ status: "failed", attempt: 1, retryable: false, error: "HTTP 404" }, 3)).toEqual({
      _tag: "Failed",
      error: "HTTP 404",
      attempt: 1
    })
  })

  test("the journal reads own keys only", () => {
    const journal = journalOf({ fetch: { status: "completed", output: 1 } })
    expect(journal("fetch")).toEqual({ status: "completed", output: 1 })
    expect(journal("constructor")).toBeUndefined()
    expect(journal("__proto__")).toBeUndefined()
    expect(journalOf(null)("fetch")).toBeUndefined()
  })
})
