#!/usr/bin/env bash
# The official MCP conformance suite (@modelcontextprotocol/conformance, an exact-pinned
# devDependency) against the platform, both ways, the two halves at once:
# - server scenarios (active suite) against `/mcp` of an in-process platform serving the suite's
#   fixture tools/resources/prompts (MCP_CONFORMANCE_FIXTURES=1, refused unless NODE_ENV=test),
#   behind a loopback proxy that adds a user's bearer token (test/mcp/conformanceServer.ts);
# - client scenarios (all suites, OAuth included) with the platform's MCP client, McpConnection +
#   McpOAuthProvider (test/mcp/conformanceClient.ts).
# Prints `mcp <server|client>: Total: ...` and the failing scenarios. Exit status: non-zero when a
# scenario fails that test/interop/mcp-known-failures.txt does not list, or a half gives no summary.
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
log() { printf '[mcp-conformance] %s\n' "$*" >&2; }
CLI=$ROOT/node_modules/@modelcontextprotocol/conformance/dist/index.js
KNOWN=$ROOT/test/interop/mcp-known-failures.txt
[ -f "$CLI" ] || { log "conformance CLI not installed: $CLI (bun install)"; exit 2; }
# The suite writes results/ under the working directory: keep them out of the tree.
WORK=$(mktemp -d /tmp/mcp-conformance.XXXXXX)
SERVER_PID=
trap '[ -z "$SERVER_PID" ] || kill "$SERVER_PID" 2>/dev/null; rm -rf "$WORK"' EXIT
cd "$WORK"

(NODE_ENV=test MCP_CONFORMANCE_FIXTURES=1 exec timeout "${MCP_CONFORMANCE_TIMEOUT:-300}" \
  bun "$ROOT/test/mcp/conformanceServer.ts" >server.log 2>&1) &
SERVER_PID=$!
timeout "${MCP_CONFORMANCE_TIMEOUT:-300}" bun "$CLI" client --command "bun $ROOT/test/mcp/conformanceClient.ts" \
  --suite all --timeout 90000 >client.log 2>&1
wait "$SERVER_PID"; SERVER_PID=

unexpected=0
for mode in server client; do
  out=$WORK/$mode.log
  total=$(grep -E '^Total: ' "$out" | tail -n1)
  echo "mcp $mode: ${total:-no summary}"
  [ -n "$total" ] || { log "$mode: no summary"; tail -n 20 "$out" >&2; unexpected=$((unexpected + 1)); continue; }
  # Summary lines: `✓ <scenario>: N passed, N failed` / `✗ ...` (a warning alone also shows ✗).
  while read -r mark scenario; do
    scenario=${scenario%%:*}
    known=$(awk -v m="$mode" -v s="$scenario" '$1 == m && $2 == s { print "yes" }' "$KNOWN")
    if [ "$mark" = "✗" ]; then
      if [ -n "$known" ]; then echo "  known: $scenario"; else echo "  UNEXPECTED: $scenario"; unexpected=$((unexpected + 1)); fi
    elif [ -n "$known" ]; then
      echo "  now passes (remove from the known list): $scenario"
    fi
  done < <(grep -E '^[✓✗] ' "$out")
done
echo "mcp conformance: $unexpected unexpected"
[ "$unexpected" -eq 0 ]
