import { Layer } from "effect"
import { AuthConfig, type AuthConfigShape } from "../auth/AuthConfig.ts"
import { AppConfig, type AppConfigShape } from "../config/AppConfig.ts"
import { EgressConfig, type EgressConfigShape } from "../net/EgressConfig.ts"
import { ObservabilityConfig, type ObservabilityConfigShape } from "../observability/ObservabilityConfig.ts"
import { SqlToolConfig, type SqlToolConfigShape } from "../sql-tool/SqlToolConfig.ts"
import { ToolsConfig, type ToolsConfigShape } from "../tools/ToolsConfig.ts"
import { WorkflowsConfig, type WorkflowsConfigShape } from "../workflows/WorkflowsConfig.ts"

/** Every settings Tag the platform reads: process settings plus each feature's own. */
export type PlatformSettings =
  | AppConfig
  | AuthConfig
  | EgressConfig
  | ObservabilityConfig
  | SqlToolConfig
  | ToolsConfig
  | WorkflowsConfig

/** The features' settings from the environment (the process settings come from the entry point). */
export const FeatureSettingsFromEnv = Layer.mergeAll(
  AuthConfig.layer,
  EgressConfig.layer,
  ObservabilityConfig.layer,
  SqlToolConfig.layer,
  ToolsConfig.layer,
  WorkflowsConfig.layer
)

/** Overrides for tests and benchmarks: process fields at the top, each feature's fields under its name. */
export interface SettingsOverrides extends Partial<AppConfigShape> {
  readonly auth?: Parameters<typeof AuthConfig.layerWith>[0]
  readonly egress?: Partial<EgressConfigShape>
  readonly observability?: Partial<ObservabilityConfigShape>
  readonly sqlTool?: Partial<SqlToolConfigShape>
  readonly tools?: Partial<ToolsConfigShape>
  readonly workflows?: Partial<WorkflowsConfigShape>
}

/** The environment's settings with some fields replaced. */
export const settingsWith = (overrides: SettingsOverrides = {}): Layer.Layer<PlatformSettings, unknown> => {
  const { auth, egress, observability, sqlTool, tools, workflows, ...app } = overrides
  return Layer.mergeAll(
    AppConfig.layerWith(app),
    AuthConfig.layerWith(auth ?? {}),
    EgressConfig.layerWith(egress ?? {}),
    ObservabilityConfig.layerWith(observability ?? {}),
    SqlToolConfig.layerWith(sqlTool ?? {}),
    ToolsConfig.layerWith(tools ?? {}),
    WorkflowsConfig.layerWith(workflows ?? {})
  )
}
