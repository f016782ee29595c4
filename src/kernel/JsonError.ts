import { HttpServerResponse } from "@effect/platform"

/** The JSON error body every non-HttpApi failure uses (same shape as the TaggedErrors). */
export const jsonError = (
  status: number,
  tag: string,
  message: string,
  extra: Record<string, unknown> = {}
) => HttpServerResponse.unsafeJson({ _tag: tag, message, ...extra }, { status })
