import { AppConfig } from "./config/AppConfig.ts"
import { launchPlatform } from "./app/LaunchPlatform.ts"

// Composition root of `bun run dev`: everything in one process.
launchPlatform(AppConfig.layer)
