import { HttpApiEndpoint, HttpApiGroup, OpenApi } from "@effect/platform"
import { Schema } from "effect"
import { Conflict, Forbidden, NotFound, TooManyRequests, Unauthorized } from "../../kernel/WireErrors.ts"
import { Authentication } from "./Authentication.ts"
import { Role } from "../Identity.ts"
import { SqlText } from "../../kernel/SqlText.ts"

export const Email = SqlText.pipe(
  Schema.maxLength(254, { message: () => "email is too long" }),
  Schema.pattern(/^\s*[^\s@]+@[^\s@]+\.[^\s@]+\s*$/, { message: () => "not a valid email address" })
)

const COMMON = new Set([
  "password",
  "password1",
  "password123",
  "12345678",
  "123456789",
  "1234567890",
  "qwerty123",
  "qwertyuiop",
  "iloveyou1",
  "letmein123",
  "admin1234",
  "welcome123",
  "abc12345"
])

/** Strength rules live in the schema, so a weak password is a 400 with the `password` field named. */
export const NewPassword = Schema.String.pipe(
  Schema.minLength(10, { message: () => "password must have at least 10 characters" }),
  Schema.maxLength(128, { message: () => "password must have at most 128 characters" }),
  Schema.filter((p) => /\p{L}/u.test(p) && /[^\p{L}]/u.test(p), {
    message: () => "password must mix letters with digits or symbols"
  }),
  Schema.filter((p) => !COMMON.has(p.toLowerCase()), { message: () => "password is too common" }),
  Schema.filter((p) => new Set(p).size >= 5, { message: () => "password has too few distinct characters" })
)

export const RegisterRequest = Schema.Struct({
  email: Email,
  password: NewPassword,
  displayName: Schema.optional(SqlText.pipe(Schema.minLength(1), Schema.maxLength(100)))
})

export const LoginRequest = Schema.Struct({
  email: SqlText.pipe(Schema.maxLength(254)),
  password: Schema.String.pipe(Schema.maxLength(1024))
})

export const RefreshRequest = Schema.Struct({
  refreshToken: SqlText.pipe(Schema.minLength(1), Schema.maxLength(512))
})

export const UserView = Schema.Struct({
  id: Schema.String,
  email: Schema.String,
  displayName: Schema.NullOr(Schema.String)
})

export const TokenResponse = Schema.Struct({
  accessToken: Schema.String,
  refreshToken: Schema.String,
  tokenType: Schema.Literal("Bearer"),
  expiresIn: Schema.Int,
  user: UserView
})

export const RegisterResponse = Schema.Struct({
  ...TokenResponse.fields,
  /** The personal project created with the account (the user is its admin). */
  projectId: Schema.String
})

export const MeResponse = Schema.Struct({
  id: Schema.String,
  email: Schema.String,
  displayName: Schema.NullOr(Schema.String),
  kind: Schema.Literal("user", "apiKey", "service"),
  /** A platform operator (host-level capabilities; see README "Privilege model"). */
  operator: Schema.Boolean,
  projects: Schema.Array(Schema.Struct({ projectId: Schema.String, role: Role }))
})

export const SetOperatorRequest = Schema.Struct({
  email: Email,
  operator: Schema.Boolean
})

export const OperatorView = Schema.Struct({ id: Schema.String, email: Schema.String, operator: Schema.Boolean })

/** Sign-up, sign-in and the token lifecycle (seed: gateway /auth/*). */
export class AuthApi extends HttpApiGroup.make("auth")
  .add(
    HttpApiEndpoint.post("register", "/auth/register")
      .setPayload(RegisterRequest)
      .addSuccess(RegisterResponse, { status: 201 })
      .addError(Conflict)
  )
  .add(
    HttpApiEndpoint.post("login", "/auth/login")
      .setPayload(LoginRequest)
      .addSuccess(TokenResponse)
      .addError(Unauthorized)
      .addError(TooManyRequests)
  )
  .add(
    HttpApiEndpoint.post("refresh", "/auth/refresh")
      .setPayload(RefreshRequest)
      .addSuccess(TokenResponse)
      .addError(Unauthorized)
  )
  .add(HttpApiEndpoint.get("me", "/auth/me").addSuccess(MeResponse).middleware(Authentication))
  .add(
    HttpApiEndpoint.post("logout", "/auth/logout")
      .addSuccess(Schema.Void, { status: 204 })
      .middleware(Authentication)
  )
  .add(
    // Operator-only: promotes (or demotes) another user. PLATFORM_OPERATORS names the first operators.
    HttpApiEndpoint.post("setOperator", "/auth/operators")
      .setPayload(SetOperatorRequest)
      .addSuccess(OperatorView)
      .addError(Forbidden)
      .addError(NotFound)
      .middleware(Authentication)
  )
  .annotate(OpenApi.Description, "Users, JWT access tokens and rotating refresh tokens")
{}
