

/** A run of text with where it came from: chunks never straddle two sections. */
export interface Section {
  readonly text: string
  readonly page?: number
  readonly heading?: string
}
