/**
 * Typed clients of the platform (`agent-platform/client`): the Effect client
 * (`PlatformClient`, an `RpcClient` of `PlatformRpcs`) and a Promise client
 * (`createPlatformClient`) for code that does not use Effect. See README "Typed clients".
 */
export { PlatformRpcs } from "../../rpc/PlatformRpcs.ts"
export {
  type ConnectionOptions,
  httpProtocol,
  makePlatformRpcClient,
  PlatformClient,
  type PlatformRpcClient,
  protocolFor,
  webSocketProtocol
} from "./EffectClient.ts"
export { createPlatformClient, type DocumentProgress, type PlatformPromiseClient, type PromiseGroup } from "./PromiseClient.ts"
export { events, login, PlatformRequestError, type PlatformEvent, type ProjectView, type TokenResponse } from "./Rest.ts"
