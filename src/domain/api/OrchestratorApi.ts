import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "@effect/platform"
import { Schema } from "effect"
import { Authentication } from "./Authentication.ts"
import { BadRequest, Conflict, Forbidden, NotFound, TooManyRequests } from "../../kernel/WireErrors.ts"
import {
  AgentCardUnreachable,
  DeadLetter,
  DelegateRequest,
  DelegateResult,
  DelegationLoop,
  DeliveryFailed,
  DeliveryRecord,
  FanOutRequest,
  FanOutResult,
  HandoffRequest,
  HandoffResult,
  InvalidAgentCard,
  ListQuery,
  MessageRequest,
  RegisterRequest,
  RegistryEntry,
  SearchQuery,
  SearchResult,
  StepLimitExceeded,
  SuperviseRequest,
  SuperviseResult
} from "../Orchestration.ts"

const ProjectScoped = Schema.Struct({ projectId: Schema.String })
const AgentPath = Schema.Struct({ agentId: Schema.String })

/** Agent registry, reliable A2A routing and multi-agent patterns. Every entry belongs to a project. */
export class OrchestratorApi extends HttpApiGroup.make("orchestrator")
  .add(
    HttpApiEndpoint.post("register", "/orchestrator/register")
      .setPayload(RegisterRequest)
      .addSuccess(RegistryEntry, { status: 201 })
      .addError(InvalidAgentCard)
      .addError(AgentCardUnreachable)
  )
  .add(HttpApiEndpoint.get("listAgents", "/orchestrator/agents").setUrlParams(ListQuery).addSuccess(Schema.Array(RegistryEntry)))
  .add(HttpApiEndpoint.get("searchAgents", "/orchestrator/agents/search").setUrlParams(SearchQuery).addSuccess(SearchResult))
  .add(
    HttpApiEndpoint.post("refreshAgent", "/orchestrator/agents/:agentId/refresh")
      .setPath(AgentPath)
      .setPayload(ProjectScoped)
      .addSuccess(RegistryEntry)
  )
  .add(
    HttpApiEndpoint.del("unregister", "/orchestrator/agents/:agentId")
      .setPath(AgentPath)
      .setUrlParams(ProjectScoped)
      .addSuccess(HttpApiSchema.NoContent)
  )
  .add(
    HttpApiEndpoint.post("sendMessage", "/orchestrator/message")
      .setPayload(MessageRequest)
      .addSuccess(DeliveryRecord)
  )
  .add(
    HttpApiEndpoint.get("getDelivery", "/orchestrator/deliveries/:deliveryId")
      .setPath(Schema.Struct({ deliveryId: Schema.String }))
      .addSuccess(DeliveryRecord)
  )
  .add(
    HttpApiEndpoint.get("listDeadLetters", "/orchestrator/dead-letters")
      .setUrlParams(Schema.Struct({ projectId: Schema.optional(Schema.String) }))
      .addSuccess(Schema.Array(DeadLetter))
  )
  .add(
    HttpApiEndpoint.post("delegate", "/orchestrator/delegate")
      .setPayload(DelegateRequest)
      .addSuccess(DelegateResult)
      .addError(DelegationLoop)
  )
  .add(HttpApiEndpoint.post("handoff", "/orchestrator/handoff").setPayload(HandoffRequest).addSuccess(HandoffResult))
  .add(HttpApiEndpoint.post("fanOut", "/orchestrator/fanout").setPayload(FanOutRequest).addSuccess(FanOutResult))
  .add(
    HttpApiEndpoint.post("supervise", "/orchestrator/supervise")
      .setPayload(SuperviseRequest)
      .addSuccess(SuperviseResult)
      .addError(StepLimitExceeded)
  )
  .addError(NotFound)
  .addError(Forbidden)
  .addError(BadRequest)
  .addError(Conflict)
  .addError(DeliveryFailed)
  .addError(TooManyRequests)
  .middleware(Authentication)
  .annotate(OpenApi.Description, "Agent registry, capability search, reliable A2A routing, multi-agent patterns")
{}
