import { startEarly } from "./db/embedded/EarlyStart.ts"

// Composition root of `bun run dev`: everything in one process.
// The embedded database opens on its own thread first (one more core) while this thread loads the
// platform's modules: hence the dynamic imports, which only run after it (static ones would run before).
startEarly()
const { AppConfig } = await import("./config/AppConfig.ts")
const { launchPlatform } = await import("./app/LaunchPlatform.ts")
launchPlatform(AppConfig.layer)
