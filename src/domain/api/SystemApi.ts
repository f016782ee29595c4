import { HttpApiEndpoint, HttpApiGroup, OpenApi } from "@effect/platform"
import { Schema } from "effect"
import { JobRecord, JobRequest } from "../Job.ts"
import { Authentication } from "./Authentication.ts"
import { BadRequest, Forbidden, NotFound } from "../../kernel/WireErrors.ts"

export const JobAccepted = Schema.Struct({ jobId: Schema.String, accepted: Schema.Boolean })

/** Operational endpoints of the runtime itself: durable jobs on the cluster, each in a project of the caller. */
export class SystemApi extends HttpApiGroup.make("system")
  .add(
    HttpApiEndpoint.post("submitJob", "/system/jobs")
      .setPayload(JobRequest)
      .addSuccess(JobAccepted, { status: 202 })
      .addError(BadRequest)
      .addError(Forbidden)
      .addError(NotFound)
  )
  .add(
    HttpApiEndpoint.get("getJob", "/system/jobs/:jobId")
      .setPath(Schema.Struct({ jobId: Schema.String }))
      .setUrlParams(Schema.Struct({ projectId: Schema.optional(Schema.String) }))
      .addSuccess(JobRecord)
      .addError(NotFound)
  )
  .middleware(Authentication)
  .annotate(OpenApi.Description, "Durable jobs run by the DurableJob entity (persisted cluster messages)")
{}

