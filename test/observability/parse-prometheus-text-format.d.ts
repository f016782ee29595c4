// The package ships no types: the shape of what it returns, as far as the tests read it.
declare module "parse-prometheus-text-format" {
  interface ParsedSample {
    readonly value?: string
    readonly labels?: Record<string, string>
    readonly buckets?: Record<string, string>
    readonly quantiles?: Record<string, string>
    readonly count?: string
    readonly sum?: string
  }
  interface ParsedFamily {
    readonly name: string
    readonly help: string
    readonly type: "COUNTER" | "GAUGE" | "HISTOGRAM" | "SUMMARY" | "UNTYPED"
    readonly metrics: ReadonlyArray<ParsedSample>
  }
  export default function parsePrometheusTextFormat(text: string): Array<ParsedFamily>
}
