import { Layer } from "effect"
import { A2aRoutes } from "../a2a/Routes.ts"
import { LanguageModel } from "../llm/LanguageModel.ts"
import { LlmConfig } from "../llm/LlmConfig.ts"
import { AgentEntityLive } from "./AgentEntityLive.ts"
import { ChatSocketRoute } from "./ChatSocket.ts"

/** The Agent entity with its model layer (hosted by runners). Needs SqlClient, EventBus, Sharding. */
export const AgentEntityLayer = AgentEntityLive.pipe(Layer.provide(LanguageModel.Default), Layer.provide(LlmConfig.layer))

/** A2A endpoints and the chat WebSocket. Needs Authenticator (gateway services), SqlClient, EventBus, Sharding. */
export const AgentRoutesLive = Layer.mergeAll(A2aRoutes, ChatSocketRoute)
