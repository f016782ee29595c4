import { HttpApiEndpoint, HttpApiGroup, OpenApi } from "@effect/platform"
import { Schema } from "effect"
import { Authentication } from "./Authentication.ts"
import { SqlText } from "../../kernel/SqlText.ts"
import { Role } from "../Identity.ts"
import { Conflict, Forbidden, NotFound } from "../../kernel/WireErrors.ts"

const Name = SqlText.pipe(
  Schema.filter((s) => s.trim().length > 0, { message: () => "name must not be blank" }),
  Schema.maxLength(200)
)
const Id = SqlText.pipe(Schema.maxLength(200))
const ProjectPath = Schema.Struct({ projectId: Id })
const MemberPath = Schema.Struct({ projectId: Id, userId: Id })
const KeyPath = Schema.Struct({ projectId: Id, keyId: Id })

export const ProjectView = Schema.Struct({
  id: Schema.String,
  name: Schema.String,
  ownerId: Schema.String,
  /** The caller's role in the project. */
  role: Role,
  createdAt: Schema.Date
})

export const MemberView = Schema.Struct({
  userId: Schema.String,
  email: Schema.String,
  displayName: Schema.NullOr(Schema.String),
  role: Role,
  createdAt: Schema.Date
})

export const AddMemberRequest = Schema.Struct({
  email: SqlText.pipe(Schema.maxLength(254)),
  role: Role
})

export const ApiKeyView = Schema.Struct({
  id: Schema.String,
  projectId: Schema.String,
  name: Schema.String,
  /** The first characters of the key, to recognise it; the key itself is shown only once. */
  prefix: Schema.String,
  role: Role,
  createdBy: Schema.String,
  createdAt: Schema.Date,
  expiresAt: Schema.NullOr(Schema.Date),
  revokedAt: Schema.NullOr(Schema.Date),
  lastUsedAt: Schema.NullOr(Schema.Date)
})

export const CreateApiKeyRequest = Schema.Struct({
  name: Name,
  role: Schema.optionalWith(Role, { default: () => "developer" as const }),
  expiresInDays: Schema.optional(Schema.Int.pipe(Schema.between(1, 3650)))
})

/**
 * Projects (the tenants), their members with roles, and their API keys. A
 * project the caller is not a member of answers 404 like a missing one.
 */
export class ProjectsApi extends HttpApiGroup.make("projects")
  .add(HttpApiEndpoint.get("listProjects", "/projects").addSuccess(Schema.Array(ProjectView)))
  .add(
    HttpApiEndpoint.post("createProject", "/projects")
      .setPayload(Schema.Struct({ name: Name }))
      .addSuccess(ProjectView, { status: 201 })
      .addError(Conflict)
  )
  .add(
    HttpApiEndpoint.get("getProject", "/projects/:projectId")
      .setPath(ProjectPath)
      .addSuccess(ProjectView)
      .addError(NotFound)
  )
  .add(
    HttpApiEndpoint.get("listMembers", "/projects/:projectId/members")
      .setPath(ProjectPath)
      .addSuccess(Schema.Array(MemberView))
      .addError(NotFound)
  )
  .add(
    HttpApiEndpoint.post("addMember", "/projects/:projectId/members")
      .setPath(ProjectPath)
      .setPayload(AddMemberRequest)
      .addSuccess(MemberView, { status: 201 })
      .addError(NotFound)
      .addError(Forbidden)
      .addError(Conflict)
  )
  .add(
    HttpApiEndpoint.patch("setMemberRole", "/projects/:projectId/members/:userId")
      .setPath(MemberPath)
      .setPayload(Schema.Struct({ role: Role }))
      .addSuccess(MemberView)
      .addError(NotFound)
      .addError(Forbidden)
      .addError(Conflict)
  )
  .add(
    HttpApiEndpoint.del("removeMember", "/projects/:projectId/members/:userId")
      .setPath(MemberPath)
      .addSuccess(Schema.Void, { status: 204 })
      .addError(NotFound)
      .addError(Forbidden)
      .addError(Conflict)
  )
  .add(
    HttpApiEndpoint.post("createApiKey", "/projects/:projectId/api-keys")
      .setPath(ProjectPath)
      .setPayload(CreateApiKeyRequest)
      .addSuccess(Schema.Struct({ ...ApiKeyView.fields, key: Schema.String }), { status: 201 })
      .addError(Conflict)
      .addError(NotFound)
      .addError(Forbidden)
  )
  .add(
    HttpApiEndpoint.get("listApiKeys", "/projects/:projectId/api-keys")
      .setPath(ProjectPath)
      .addSuccess(Schema.Array(ApiKeyView))
      .addError(NotFound)
      .addError(Forbidden)
  )
  .add(
    HttpApiEndpoint.del("revokeApiKey", "/projects/:projectId/api-keys/:keyId")
      .setPath(KeyPath)
      .addSuccess(Schema.Void, { status: 204 })
      .addError(NotFound)
      .addError(Forbidden)
  )
  // requireProjectRole's answers, on every endpoint.
  .addError(NotFound)
  .addError(Forbidden)
  .middleware(Authentication)
  .annotate(OpenApi.Description, "Projects (tenants), members with roles, API keys for machine clients")
{}
