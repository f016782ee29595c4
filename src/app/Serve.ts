import { AppConfig } from "../config/AppConfig.ts"
import { launchPlatform } from "./LaunchPlatform.ts"

// The server of `bun run dev`, run by main.ts from the sources or from its bundle (src/app/ServerBundle.ts).
launchPlatform(AppConfig.layer)
