import { createServer } from "node:net"

/** A TCP port free on loopback right now (the OS picks it), for a child server to listen on. */
export const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      server.close(() => resolve(port))
    })
  })

/**
 * The same, synchronously (Bun's listener binds at once): for settings made in a synchronous
 * function. Ports drawn at random from a range collided with ports the OS had handed out to
 * other connections (EADDRINUSE of a runner in CI); the OS's own choice does not.
 */
export const freePortSync = () => {
  const listener = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } })
  const port = listener.port
  listener.stop(true)
  return port
}
