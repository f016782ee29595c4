export interface Measurement {
  readonly label: string
  readonly value: number
  readonly unit: string
}

/** One line of the `bun run bench` table. `ratio` is candidate/baseline in the direction the target states. */
export interface BenchResult {
  readonly name: string
  readonly candidate: Measurement
  readonly baseline?: Measurement
  readonly ratio?: number
  readonly target?: string
  readonly met?: boolean
}
