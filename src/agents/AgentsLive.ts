import { Layer } from "effect"
import { LanguageModel } from "../llm/LanguageModel.ts"
import { LlmConfig } from "../llm/LlmConfig.ts"
import { AgentEntityLive } from "./AgentEntityLive.ts"

/** The Agent entity with its model layer (hosted by runners). Needs SqlClient, EventBus, Sharding. */
export const AgentEntityLayer = AgentEntityLive.pipe(Layer.provide(LanguageModel.Default), Layer.provide(LlmConfig.layer))
