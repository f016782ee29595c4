/**
 * A TCP port free on loopback right now, the OS's choice (Bun's listener binds at once, so it
 * can be had synchronously: for settings made in a synchronous function). Ports drawn at random
 * from a range collided with ports the OS had handed out to other connections (EADDRINUSE of a
 * runner in CI); the OS's own choice does not.
 */
export const freePortSync = () => {
  const listener = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } })
  const port = listener.port
  listener.stop(true)
  return port
}

/** The same, for a child server to listen on, where callers await it. */
export const freePort = async () => freePortSync()
