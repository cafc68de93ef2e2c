#!/usr/bin/env bash
# devnet-check.sh — smoke test of scripts/devnet.sh: start a devnet in a
# temporary folder on spare ports, register a media node and an
# orchestrator by real txs (paying gas), check both are ACTIVE, check the
# app "demo" exists with its escrow funded, refuse a second start, and
# stop. Sends no txs itself. Needs build/chroomd.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
export DEVNET_DIR
DEVNET_DIR=$(mktemp -d /tmp/chroom-devnet-check.XXXXXX)
export RPC_PORT=22657 P2P_PORT=22656 GRPC_PORT=22090 API_PORT=22317 REGISTER=1
cleanup() { bash "$ROOT/scripts/devnet.sh" down >/dev/null 2>&1 || true; rm -rf "$DEVNET_DIR"; }
trap cleanup EXIT

bash "$ROOT/scripts/devnet.sh" up >"$DEVNET_DIR.out" 2>&1 || { cat "$DEVNET_DIR.out"; exit 1; }
count=$("$ROOT/build/chroomd" query registry nodes --status active --node "tcp://127.0.0.1:$RPC_PORT" -o json |
  grep -o '"status": *"NODE_STATUS_ACTIVE"' | wc -l || true)
if [ "$count" != 2 ]; then
  echo "devnet-check: want 2 active nodes, got $count" >&2
  cat "$DEVNET_DIR.out"
  exit 1
fi
app=$("$ROOT/build/chroomd" query incentives app demo --node "tcp://127.0.0.1:$RPC_PORT" -o json 2>&1 | tr -d ' \n' || true)
if ! echo "$app" | grep -q '"balance":{[^}]*"amount":"10000000000"'; then
  echo "devnet-check: want app demo with 10000000000uchr in escrow, got: $app" >&2
  cat "$DEVNET_DIR.out"
  exit 1
fi
if bash "$ROOT/scripts/devnet.sh" up >/dev/null 2>&1; then
  echo "devnet-check: a second 'up' should refuse while the devnet runs" >&2
  exit 1
fi
rm -f "$DEVNET_DIR.out"
echo "devnet-check: ok (2 nodes registered by tx and active, app demo funded)"
