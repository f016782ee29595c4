import { startEarly } from "./db/embedded/EarlyStart.ts"
import { freshBundle } from "./app/ServerBundle.ts"

// Composition root of `bun run dev`: everything in one process.
// The embedded database opens on its own thread first (one more core) while this thread loads the
// platform's modules: hence the dynamic import, which only runs after it (a static one would run before).
// The server is the bundle made at install (src/app/ServerBundle.ts) while it is fresh, else the sources.
startEarly()
await import(freshBundle() ?? "./app/Serve.ts")
