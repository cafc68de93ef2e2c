#!/usr/bin/env bash
# devnet.sh — a Chroom chain on 127.0.0.1 (one validator, or VALIDATORS=N),
# for `make demo` and `make localnet`.
#
#   scripts/devnet.sh up      create (first time) and start the devnet; with
#                             REGISTER=1 also register one media node and one
#                             orchestrator key by real txs; with NETWORK=1 run
#                             the whole network: ORCHESTRATORS (1) orchestrators
#                             (with the web client) and MEDIA_NODES (2) media nodes,
#                             registered and staked by real txs; with FOREGROUND=1 stay
#                             attached until Ctrl-C, then stop cleanly
#   scripts/devnet.sh down    stop the devnet's processes
#   scripts/devnet.sh reset   stop and delete the devnet folder
#   scripts/devnet.sh status  say whether it runs and at which height
#
# Settings (environment): DEVNET_DIR (default .demo), CHROOMD (default
# build/chroomd), CHAIN_ID (chroom-devnet-1), and the ports RPC_PORT
# (26657), P2P_PORT (26656), GRPC_PORT (9090), API_PORT (1317), and
# EPOCH_DURATION (30s) of the "chroom" reward epoch, VOTING_PERIOD (30s)
# of governance proposals (the expedited period is half of it; a real
# chain's default is 48 h). PROBES=1 turns the chain's QoS probes on
# (max_probes_per_epoch 1000; off by default; set in the genesis, so it
# takes a fresh devnet) and PROBE_JAIL_EPOCHS (3) sets
# after how many failed probes in a row a media node is jailed; the
# orchestrators then probe the media nodes each epoch, each probe measuring
# PROBE_DURATION (5s; an orchestrator's default is 10s). EMBED_ORIGINS
# (comma-separated origins, default none) may embed the API key's calls in
# an <iframe> (/embed). VALIDATORS (1): how
# many validators, each with an equal stake, its own home
# (DEVNET_DIR/chroomd for the first, DEVNET_DIR/validator-<i> for the
# others) and ports (each base port + i × PORT_STRIDE, default 100), all
# persistent peers of each other; clients talk to the first. OWNER_PID: stop the
# devnet when that process exits (tests set it, so a crashed test run leaves
# no processes behind). MEDIA_LOG_LEVEL (info) is the media nodes'
# --log-level: debug records each session's negotiation, track bindings,
# keyframes and ICE/DTLS states.
#
# Every tx pays gas at GAS_PRICES (0.01uchr, chroomd's default
# minimum-gas-prices). With REGISTER=1 or NETWORK=1 the account app-owner
# also creates the on-chain app APP_ID (demo), which the orchestrator may
# bill, and funds its escrow with APP_FUNDS (10000000000uchr); the NETWORK=1
# orchestrators bill their API key's and anonymous (web client) usage to it.
#
# ORCHESTRATORS (1, at most 9): orchestrator 1 lives in DEVNET_DIR/orchestrator
# on ORCH_HTTP/ORCH_RPC, orchestrator i >= 2 in DEVNET_DIR/orchestrator-<i> on
# ORCH_HTTP/ORCH_RPC + 10 × (i−1); all share one operator account and one API
# key (orchestrator 1's), so an app's key works at whichever owns a room,
# and the app APP_ID may be billed by each. Rooms are shared among them by
# rendezvous hashing; any of them serves the web client and redirects a
# join to the room's owner.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
DEVNET_DIR=${DEVNET_DIR:-$ROOT/.demo}
CHROOMD=${CHROOMD:-$ROOT/build/chroomd}
BIN_DIR=$(dirname "$CHROOMD")
CHAIN_ID=${CHAIN_ID:-chroom-devnet-1}
RPC_PORT=${RPC_PORT:-26657}
P2P_PORT=${P2P_PORT:-26656}
GRPC_PORT=${GRPC_PORT:-9090}
API_PORT=${API_PORT:-1317}
REGISTER=${REGISTER:-0}
NETWORK=${NETWORK:-0}
EPOCH_DURATION=${EPOCH_DURATION:-30s}
VOTING_PERIOD=${VOTING_PERIOD:-30s}
PROBES=${PROBES:-0}
EMBED_ORIGINS=${EMBED_ORIGINS:-}
PROBE_JAIL_EPOCHS=${PROBE_JAIL_EPOCHS:-3}
PROBE_DURATION=${PROBE_DURATION:-5s}
VALIDATORS=${VALIDATORS:-1}
PORT_STRIDE=${PORT_STRIDE:-100}
FOREGROUND=${FOREGROUND:-0}
OWNER_PID=${OWNER_PID:-}
MEDIA_LOG_LEVEL=${MEDIA_LOG_LEVEL:-info}
GAS_PRICES=${GAS_PRICES:-0.01uchr}
APP_ID=${APP_ID:-demo}
APP_FUNDS=${APP_FUNDS:-10000000000uchr}

HOME_DIR=$DEVNET_DIR/chroomd
LOG_DIR=$DEVNET_DIR/logs
PID_FILE=$DEVNET_DIR/chroomd.pid
KR=(--keyring-backend test --home "$HOME_DIR")
NODE=(--node "tcp://127.0.0.1:$RPC_PORT")
# Gas is simulated (the estimate goes to stderr, i.e. send_tx's log) and
# paid at GAS_PRICES.
TX=(--chain-id "$CHAIN_ID" "${KR[@]}" "${NODE[@]}" --yes --output json --gas auto --gas-adjustment 1.5 --gas-prices "$GAS_PRICES")

step() { printf '==> %s\n' "$*"; }
fail() {
  printf 'devnet: %s\n' "$1" >&2
  [ -n "${2:-}" ] && printf '        see %s\n' "$2" >&2
  exit 1
}

running_pid() {
  [ -f "$PID_FILE" ] || return 1
  local pid
  pid=$(cat "$PID_FILE")
  kill -0 "$pid" 2>/dev/null && { echo "$pid"; return 0; }
  return 1
}

# Validator i (0 is the first, the one clients use): home, pid file, and a
# base port shifted by i × PORT_STRIDE.
val_home() { if [ "$1" = 0 ]; then echo "$HOME_DIR"; else echo "$DEVNET_DIR/validator-$1"; fi; }
val_pid_file() { if [ "$1" = 0 ]; then echo "$PID_FILE"; else echo "$DEVNET_DIR/validator-$1.pid"; fi; }
val_log() { if [ "$1" = 0 ]; then echo "$LOG_DIR/chroomd.log"; else echo "$LOG_DIR/validator-$1.log"; fi; }
val_port() { echo $(($1 + $2 * PORT_STRIDE)); }
validators() { seq 0 $((VALIDATORS - 1)); }

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

check_ports() {
  local name port i
  [[ "$VALIDATORS" =~ ^[1-9][0-9]*$ ]] && [ "$VALIDATORS" -le 20 ] || fail "VALIDATORS must be a number from 1 to 20, got '$VALIDATORS'"
  [[ "$VOTING_PERIOD" =~ ^[0-9]+s$ ]] && [ "${VOTING_PERIOD%s}" -ge 2 ] || fail "VOTING_PERIOD must be whole seconds, at least 2s (e.g. 30s), got '$VOTING_PERIOD'"
  for i in $(validators); do
    for name in RPC_PORT P2P_PORT GRPC_PORT API_PORT; do
      port=$(val_port "${!name}" "$i")
      if port_in_use "$port"; then
        fail "port $port (validator $i's $name) is already taken on 127.0.0.1; free it or choose other ports ($name=<port>, PORT_STRIDE=<n>)"
      fi
    done
  done
}

# configure_validator I — one-second blocks, validator I's ports, all on
# loopback; with several validators, peers on one IP allowed.
configure_validator() {
  local i=$1 home cfg app
  home=$(val_home "$i")
  cfg=$home/config/config.toml app=$home/config/app.toml
  sed -i -e 's/^timeout_commit = .*/timeout_commit = "1s"/' \
    -e 's/^timeout_propose = .*/timeout_propose = "1s"/' \
    -e "s#^laddr = \"tcp://127.0.0.1:26657\"#laddr = \"tcp://127.0.0.1:$(val_port "$RPC_PORT" "$i")\"#" \
    -e "s#^laddr = \"tcp://0.0.0.0:26656\"#laddr = \"tcp://127.0.0.1:$(val_port "$P2P_PORT" "$i")\"#" \
    -e 's#^pprof_laddr = .*#pprof_laddr = ""#' \
    -e 's/^allow_duplicate_ip = .*/allow_duplicate_ip = true/' \
    -e 's/^addr_book_strict = .*/addr_book_strict = false/' "$cfg"
  sed -i -e "s#^address = \"localhost:9090\"#address = \"127.0.0.1:$(val_port "$GRPC_PORT" "$i")\"#" \
    -e "s#^address = \"tcp://localhost:1317\"#address = \"tcp://127.0.0.1:$(val_port "$API_PORT" "$i")\"#" "$app"
  if [ "$i" = 0 ]; then
    sed -i -e '/^\[api\]/,/^\[/ s/^enable = false/enable = true/' "$app"
  fi
}

init_chain() {
  step "creating the devnet in $DEVNET_DIR (chain $CHAIN_ID)"
  mkdir -p "$LOG_DIR"
  local log=$LOG_DIR/init.log
  : >"$log"
  {
    "$CHROOMD" init devnet-validator --chain-id "$CHAIN_ID" --home "$HOME_DIR"
    for key in validator media-operator orchestrator-operator app-owner; do
      "$CHROOMD" keys add "$key" "${KR[@]}"
    done
    "$CHROOMD" genesis add-genesis-account validator 1000000000000uchr "${KR[@]}"
    "$CHROOMD" genesis add-genesis-account media-operator 100000000000uchr "${KR[@]}"
    "$CHROOMD" genesis add-genesis-account orchestrator-operator 100000000000uchr "${KR[@]}"
    # Owns the on-chain app whose escrow pays the demo's usage fees.
    "$CHROOMD" genesis add-genesis-account app-owner 100000000000uchr "${KR[@]}"
    # The other validators' accounts, each in its own home and keyring.
    local i home addr
    for i in $(seq 1 $((VALIDATORS - 1))); do
      home=$(val_home "$i")
      "$CHROOMD" init "devnet-validator-$i" --chain-id "$CHAIN_ID" --home "$home"
      "$CHROOMD" keys add validator --keyring-backend test --home "$home"
      addr=$("$CHROOMD" keys show validator -a --keyring-backend test --home "$home")
      "$CHROOMD" genesis add-genesis-account "$addr" 1000000000000uchr "${KR[@]}"
    done
    # Short epochs so receipts turn into rewards within a minute.
    "$CHROOMD" genesis set-epoch-duration chroom "$EPOCH_DURATION" --home "$HOME_DIR"
    # Proposals (software upgrades, parameter changes) decided in seconds.
    local g="$HOME_DIR/config/genesis.json" vp=${VOTING_PERIOD%s}
    sed -i -E "s/\"voting_period\": *\"[0-9]+s\"/\"voting_period\": \"${vp}s\"/; s/\"expedited_voting_period\": *\"[0-9]+s\"/\"expedited_voting_period\": \"$((vp / 2))s\"/" "$g"
    # QoS probes (x/verification): on with PROBES=1 (the chain's default is off).
    if [ "$PROBES" = 1 ]; then
      sed -i -E "s/\"max_probes_per_epoch\": *[0-9]+/\"max_probes_per_epoch\": 1000/; s/\"probe_jail_epochs\": *[0-9]+/\"probe_jail_epochs\": $PROBE_JAIL_EPOCHS/" "$g"
    fi
    "$CHROOMD" genesis gentx validator 10000000000uchr --chain-id "$CHAIN_ID" "${KR[@]}"
    # Every validator signs its gentx over the same accounts; the first
    # collects them into the genesis all of them start from.
    for i in $(seq 1 $((VALIDATORS - 1))); do
      home=$(val_home "$i")
      cp "$HOME_DIR/config/genesis.json" "$home/config/genesis.json"
      "$CHROOMD" genesis gentx validator 10000000000uchr --chain-id "$CHAIN_ID" --keyring-backend test --home "$home"
      cp "$home"/config/gentx/*.json "$HOME_DIR/config/gentx/"
    done
    "$CHROOMD" genesis collect-gentxs --home "$HOME_DIR"
    "$CHROOMD" genesis validate --home "$HOME_DIR"
    for i in $(seq 1 $((VALIDATORS - 1))); do
      cp "$HOME_DIR/config/genesis.json" "$(val_home "$i")/config/genesis.json"
    done
  } >>"$log" 2>&1 || fail "creating the genesis failed" "$log"
  grep -q "\"voting_period\": \"${VOTING_PERIOD}\"" "$HOME_DIR/config/genesis.json" ||
    fail "could not set the governance voting period ($VOTING_PERIOD) in $HOME_DIR/config/genesis.json" "$log"
  if [ "$PROBES" = 1 ]; then
    grep -q '"max_probes_per_epoch": 1000' "$HOME_DIR/config/genesis.json" ||
      fail "could not turn QoS probes on in $HOME_DIR/config/genesis.json" "$log"
  fi

  local peers=() id
  for i in $(validators); do
    configure_validator "$i"
    id=$("$CHROOMD" comet show-node-id --home "$(val_home "$i")")
    peers+=("$id@127.0.0.1:$(val_port "$P2P_PORT" "$i")")
  done
  if [ "$VALIDATORS" -gt 1 ]; then
    local list
    for i in $(validators); do
      # Everyone but itself.
      list=$(printf '%s\n' "${peers[@]}" | grep -v "^${peers[$i]}$" | paste -sd, -)
      sed -i "s#^persistent_peers = .*#persistent_peers = \"$list\"#" "$(val_home "$i")/config/config.toml"
    done
  fi
  mkdir -p "$DEVNET_DIR/nodes"
}

start_chain() {
  local i
  for i in $(validators); do
    if [ "$VALIDATORS" = 1 ]; then
      step "starting chroomd (log: $(val_log 0))"
    else
      step "starting validator $i of $VALIDATORS (home $(val_home "$i"), RPC 127.0.0.1:$(val_port "$RPC_PORT" "$i"), log $(val_log "$i"))"
    fi
    "$CHROOMD" start --home "$(val_home "$i")" >>"$(val_log "$i")" 2>&1 &
    echo $! >"$(val_pid_file "$i")"
  done
  local height
  for i in $(seq 1 60); do
    if ! running_pid >/dev/null; then
      fail "chroomd exited while starting" "$LOG_DIR/chroomd.log"
    fi
    height=$("$CHROOMD" status "${NODE[@]}" 2>/dev/null | grep -o '"latest_block_height":"[0-9]*"' | grep -o '[0-9]*' || true)
    if [ -n "$height" ] && [ "$height" -ge 2 ]; then
      step "chain is producing blocks (height $height)"
      return 0
    fi
    sleep 1
  done
  fail "chroomd did not produce blocks within 60 s" "$LOG_DIR/chroomd.log"
}

# send_tx LOG ARGS... — broadcast a tx, wait until it is in a block, fail
# with the chain's reason if it was rejected.
send_tx() {
  local log=$1
  shift
  local out hash code
  out=$("$CHROOMD" tx "$@" "${TX[@]}" 2>>"$log") || fail "tx $* was refused: $(tail -n 3 "$log")" "$log"
  echo "$out" >>"$log"
  code=$(echo "$out" | grep -o '"code":[0-9]*' | head -1 | grep -o '[0-9]*' || echo 0)
  [ "$code" = 0 ] || fail "tx $1 $2 failed in CheckTx: $out" "$log"
  hash=$(echo "$out" | grep -o '"txhash":"[0-9A-F]*"' | grep -o '[0-9A-F]\{64\}')
  # Poll for the tx rather than `query wait-tx`: that subscribes to the tx's
  # event and misses a tx committed before the subscription starts (with
  # 1 s blocks that happened about one start in twenty).
  local i
  for i in $(seq 1 60); do
    out=$("$CHROOMD" query tx "$hash" "${NODE[@]}" --output json 2>/dev/null) && break
    out=
    sleep 0.5
  done
  [ -n "$out" ] || fail "tx $hash was not included within 30 s" "$log"
  echo "$out" >>"$log"
  code=$(echo "$out" | grep -o '"code":[0-9]*' | head -1 | grep -o '[0-9]*' || echo 0)
  [ "$code" = 0 ] || fail "tx $1 $2 failed in the block: $(echo "$out" | grep -o '"raw_log":"[^"]*"')" "$log"
}

# register NAME TYPE OPERATOR STAKE URL
# register NAME TYPE OPERATOR STAKE ENDPOINTS [KEYFILE]
register() {
  local name=$1 type=$2 operator=$3 stake=$4 url=$5
  local keyfile=${6:-$DEVNET_DIR/nodes/$name/node_key.json} log=$LOG_DIR/register-$name.log
  : >"$log"
  if [ ! -f "$keyfile" ]; then
    "$CHROOMD" node-key generate --out "$keyfile" >>"$log" 2>&1 || fail "node-key generate for $name failed" "$log"
  fi
  local info id pubkey
  info=$("$CHROOMD" node-key show "$keyfile")
  id=$(echo "$info" | grep -o '"node_id": *"[0-9a-f]*"' | grep -o '[0-9a-f]\{16,\}')
  pubkey=$(echo "$info" | grep -o '"pubkey": *"[^"]*"' | cut -d'"' -f4)
  if "$CHROOMD" query registry node "$id" "${NODE[@]}" >/dev/null 2>&1; then
    step "$name ($type) is already registered as $id"
    return 0
  fi
  step "registering $name ($type) as node $id with $stake"
  send_tx "$log" registry register-node --node-type "$type" --pubkey "$pubkey" --stake "$stake" \
    --moniker "$name" --region DE --endpoints "$url" --max-sessions 100 --max-egress-kbps 200000 \
    --from "$operator"
}

# node_id KEYFILE prints the node ID of a node key (chroomd node-key show).
node_id() {
  "$CHROOMD" node-key show "$1" | grep -o '"node_id": *"[0-9a-f]*"' | grep -o '[0-9a-f]\{16,\}'
}

# setup_app ORCH_KEYFILE... — app-owner creates the on-chain app APP_ID,
# which the orchestrators with those node keys may bill, and funds its
# escrow with APP_FUNDS (once: a reused devnet keeps its app; one that lacks
# an orchestrator gets it with update-app). Prints the app and its escrow.
setup_app() {
  local ids=() missing=0 kf id log=$LOG_DIR/app-$APP_ID.log out balance
  for kf in "$@"; do
    id=$(node_id "$kf") || fail "cannot read the orchestrator's node ID from $kf"
    ids+=("$id")
  done
  : >"$log"
  if out=$("$CHROOMD" query incentives app "$APP_ID" "${NODE[@]}" --output json 2>>"$log"); then
    step "app $APP_ID already exists"
    for id in "${ids[@]}"; do
      echo "$out" | grep -q "\"$id\"" || missing=1
    done
    if [ "$missing" = 1 ]; then
      step "letting orchestrators ${ids[*]} bill app $APP_ID"
      send_tx "$log" incentives update-app "$APP_ID" "${ids[@]}" --from app-owner
      out=$("$CHROOMD" query incentives app "$APP_ID" "${NODE[@]}" --output json 2>>"$log")
    fi
  else
    if ! "$CHROOMD" keys show app-owner "${KR[@]}" >/dev/null 2>&1; then
      # A devnet created before app-owner was a genesis account.
      step "adding the account app-owner, funded by the validator"
      "$CHROOMD" keys add app-owner "${KR[@]}" >>"$log" 2>&1 || fail "keys add app-owner failed" "$log"
      send_tx "$log" bank send validator "$("$CHROOMD" keys show app-owner -a "${KR[@]}")" 100000000000uchr --from validator
    fi
    step "creating app $APP_ID (owner app-owner), billable by orchestrator(s) ${ids[*]}"
    send_tx "$log" incentives create-app "$APP_ID" "${ids[@]}" --from app-owner
    step "funding app $APP_ID's escrow with $APP_FUNDS"
    send_tx "$log" incentives fund-app "$APP_ID" "$APP_FUNDS" --from app-owner
    out=$("$CHROOMD" query incentives app "$APP_ID" "${NODE[@]}" --output json 2>>"$log") ||
      fail "app $APP_ID is not on chain after create-app" "$log"
  fi
  echo "$out" >>"$log"
  balance=$(echo "$out" | tr -d ' \n' | grep -o '"balance":{[^}]*}' | grep -o '"amount":"[0-9]*"' | grep -o '[0-9]\+' || true)
  APP_LINE="app $APP_ID (owner app-owner, billable by orchestrator(s) ${ids[*]}): escrow ${balance:-?}uchr"
  step "$APP_LINE"
}

# configure_orchestrator — the devnet's orchestrators pay gas at GAS_PRICES
# and bill their API keys' and anonymous usage to the app APP_ID (the keys
# are added when an older 'orchestrator init' did not write them).
configure_orchestrator() {
  local o
  for ((o = 1; o <= ORCHESTRATORS; o++)); do
    configure_orchestrator_in "$(orch_home "$o")/config.yaml"
  done
}

configure_orchestrator_in() {
  local cfg=$1
  if grep -q '^probes:' "$cfg"; then
    sed -i -e "s/^  duration: .*/  duration: $PROBE_DURATION/" -e "s/^  check_interval: .*/  check_interval: 5s/" "$cfg"
  fi
  grep -q '^  gas_prices:' "$cfg" || sed -i 's/^  fees:.*/  gas_prices: x\n&/' "$cfg"
  sed -i -e "s/^  gas_prices:.*/  gas_prices: $GAS_PRICES/" -e 's/^  fees:.*/  fees: ""/' "$cfg"
  grep -q '^      bill_app:' "$cfg" || sed -i 's/^      max_rooms:.*/&\n      bill_app: x/' "$cfg"
  grep -q '^  anonymous_bill_app:' "$cfg" || sed -i 's/^  allow_anonymous_join:.*/&\n  anonymous_bill_app: x/' "$cfg"
  sed -i -e "s/^      bill_app:.*/      bill_app: $APP_ID/" -e "s/^  anonymous_bill_app:.*/  anonymous_bill_app: $APP_ID/" "$cfg"
  # EMBED_ORIGINS (comma-separated): pages that may embed the API key's
  # calls in an <iframe> (GET /embed?token=<grant>).
  local origins="" o list
  IFS=, read -ra list <<<"$EMBED_ORIGINS"
  for o in "${list[@]}"; do [ -n "$o" ] && origins+="${origins:+, }\"$o\""; done
  grep -q '^      embed_origins:' "$cfg" || sed -i 's/^      bill_app:.*/&\n      embed_origins: []/' "$cfg"
  sed -i "s|^      embed_origins:.*|      embed_origins: [$origins]|" "$cfg"
}

print_help() {
  if [ "$NETWORK" = 1 ]; then
    cat <<MSG

Chroom is running: chain $CHAIN_ID, $ORCHESTRATORS orchestrator(s), $MEDIA_NODES media node(s).

  Web client:      http://127.0.0.1:$ORCH_HTTP/?room=demo
  Second person:   open the same URL in another browser window (or tab) and join the same room
  API:             http://127.0.0.1:$ORCH_HTTP/v1/openapi.json
  API key:         $(grep -m1 '^    - key: ' "$(orch_home 1)/config.yaml" | sed 's/^    - key: //') (apps' backends; Authorization: Bearer <key>)
  JS SDK:          http://127.0.0.1:$ORCH_HTTP/sdk/index.js (sdk/js/README.md)
MSG
    if [ -n "$EMBED_ORIGINS" ]; then
      echo "  Embeds allowed:  $EMBED_ORIGINS (try: go run ./examples/support-call -orchestrator http://127.0.0.1:$ORCH_HTTP -api-key <API key>)"
    fi
    local o
    for ((o = 2; o <= ORCHESTRATORS; o++)); do
      echo "  Orchestrator $o:  http://127.0.0.1:$(orch_http "$o")/ (any orchestrator serves any room: a join is redirected to the room's owner)"
    done
  fi
  local media orch owner
  media=$("$CHROOMD" keys show media-operator -a "${KR[@]}")
  orch=$("$CHROOMD" keys show orchestrator-operator -a "${KR[@]}")
  owner=$("$CHROOMD" keys show app-owner -a "${KR[@]}" 2>/dev/null || echo "(none)")
  cat <<MSG

Chroom devnet is up: chain $CHAIN_ID, RPC http://127.0.0.1:$RPC_PORT, gRPC 127.0.0.1:$GRPC_PORT, REST http://127.0.0.1:$API_PORT

Query it (from $ROOT):
  build/chroomd query registry nodes --node tcp://127.0.0.1:$RPC_PORT
  build/chroomd query registry nodes --node-type media --status active --region DE --node tcp://127.0.0.1:$RPC_PORT
  build/chroomd query registry nodes-by-operator $media --node tcp://127.0.0.1:$RPC_PORT
  build/chroomd query registry params --node tcp://127.0.0.1:$RPC_PORT
  build/chroomd query incentives pool --node tcp://127.0.0.1:$RPC_PORT
  build/chroomd query incentives rewards $media --node tcp://127.0.0.1:$RPC_PORT
  build/chroomd query epochs current-epoch chroom --node tcp://127.0.0.1:$RPC_PORT
  build/chroomd query incentives app $APP_ID --node tcp://127.0.0.1:$RPC_PORT
  curl -s http://127.0.0.1:$API_PORT/chroom/registry/v1/nodes
Accounts (keyring: --keyring-backend test --home $HOME_DIR):
  media-operator        $media
  orchestrator-operator $orch
  app-owner             $owner
Txs pay gas: add --gas auto --gas-adjustment 1.5 --gas-prices $GAS_PRICES
MSG
  if [ -n "${APP_LINE:-}" ]; then
    echo "Billing: $APP_LINE"
  fi
  cat <<MSG
Logs: $LOG_DIR
Stop: Ctrl-C here, or 'make demo-stop'; start over: 'make demo-reset'
MSG
}

# Ports of the network services (NETWORK=1).
ORCH_HTTP=${ORCH_HTTP:-7800}
ORCH_RPC=${ORCH_RPC:-7801}
MEDIA1_BASE=${MEDIA1_BASE:-7880}
MEDIA2_BASE=${MEDIA2_BASE:-7890}
# MEDIA_NODES media nodes (default 2); node i >= 3 uses MEDIA2_BASE + 10*(i-2).
MEDIA_NODES=${MEDIA_NODES:-2}
case $MEDIA_NODES in '' | *[!0-9]*) echo "MEDIA_NODES must be a number from 1 to 9, not '$MEDIA_NODES'" >&2; exit 2 ;; esac
{ [ "$MEDIA_NODES" -ge 1 ] && [ "$MEDIA_NODES" -le 9 ]; } || { echo "MEDIA_NODES must be from 1 to 9" >&2; exit 2; }
TURN_BASE=${TURN_BASE:-3477}      # media node i relays on TURN_BASE+i
TURN_TLS_BASE=${TURN_TLS_BASE:-5348} # and serves TURN over TLS on TURN_TLS_BASE+i
METRICS_BASE=${METRICS_BASE:-9099} # media node i serves metrics on METRICS_BASE+i
ORCHESTRATORS=${ORCHESTRATORS:-1}
case $ORCHESTRATORS in '' | *[!0-9]*) echo "ORCHESTRATORS must be a number from 1 to 9, not '$ORCHESTRATORS'" >&2; exit 2 ;; esac
{ [ "$ORCHESTRATORS" -ge 1 ] && [ "$ORCHESTRATORS" -le 9 ]; } || { echo "ORCHESTRATORS must be from 1 to 9" >&2; exit 2; }

# Orchestrator I (1-based): service name (pid and log file), home, ports.
orch_name() { if [ "$1" = 1 ]; then echo orchestrator; else echo "orchestrator-$1"; fi; }
orch_home() { echo "$DEVNET_DIR/$(orch_name "$1")"; }
orch_http() { echo $((ORCH_HTTP + 10 * ($1 - 1))); }
orch_rpc() { echo $((ORCH_RPC + 10 * ($1 - 1))); }

# media_base I prints media node I's first port (it uses base..base+3).
media_base() {
  case $1 in
    1) echo "$MEDIA1_BASE" ;;
    *) echo $((MEDIA2_BASE + 10 * ($1 - 2))) ;;
  esac
}

service_ports() {
  local i b
  for ((i = 1; i <= ORCHESTRATORS; i++)); do
    echo "$(orch_name "$i")=$(orch_http "$i"),$(orch_rpc "$i")"
  done
  for ((i = 1; i <= MEDIA_NODES; i++)); do
    b=$(media_base "$i")
    echo "media-$i=$b($((b)),$((b + 1)),$((b + 2)),$((b + 3)))"
  done
}

check_service_ports() {
  local p i b
  for ((i = 1; i <= ORCHESTRATORS; i++)); do
    for p in "$(orch_http "$i")" "$(orch_rpc "$i")"; do
      port_in_use "$p" && fail "port $p (orchestrator $i) is already taken on 127.0.0.1; choose others with ORCH_HTTP=<port> ORCH_RPC=<port> (orchestrator i adds 10 × (i−1))"
    done
  done
  for ((i = 1; i <= MEDIA_NODES; i++)); do
    b=$(media_base "$i")
    for p in "$b" $((b + 1)) $((b + 3)); do
      port_in_use "$p" && fail "port $p is already taken on 127.0.0.1; move the media nodes with MEDIA1_BASE=<port> MEDIA2_BASE=<port> (each uses base..base+3; node i >= 3 MEDIA2_BASE+10*(i-2))"
    done
  done
  for ((i = 1; i <= MEDIA_NODES; i++)); do
    p=$((TURN_TLS_BASE + i))
    port_in_use "$p" && fail "port $p is already taken on 127.0.0.1; move TURN over TLS with TURN_TLS_BASE=<port> (media node i uses TURN_TLS_BASE+i)"
  done
  return 0
}

init_services() {
  local log=$LOG_DIR/init-services.log i o home key
  for ((o = 1; o <= ORCHESTRATORS; o++)); do
    home=$(orch_home "$o")
    if [ ! -f "$home/config.yaml" ]; then
      step "creating orchestrator $o in $home"
      "$BIN_DIR/orchestrator" init --home "$home" --chain-id "$CHAIN_ID" --grpc "127.0.0.1:$GRPC_PORT" \
        --rest-url "http://127.0.0.1:$API_PORT" --keyring-dir "$HOME_DIR" --key-name orchestrator-operator \
        --http-port "$(orch_http "$o")" --rpc-port "$(orch_rpc "$o")" --bind 127.0.0.1 --allow-private-endpoints --allow-anonymous-join \
        --moniker "orchestrator-$o" >>"$log" 2>&1 ||
        fail "orchestrator init failed" "$log"
      if [ "$o" -gt 1 ]; then
        # One API key for the whole devnet: orchestrator 1's.
        key=$(grep -m1 '^    - key: ' "$(orch_home 1)/config.yaml" | sed 's/^    - key: //')
        [ -n "$key" ] || fail "no API key in $(orch_home 1)/config.yaml"
        sed -i "0,/^    - key: .*/s//    - key: $key/" "$home/config.yaml"
      fi
    fi
  done
  local base
  for ((i = 1; i <= MEDIA_NODES; i++)); do
    base=$(media_base "$i")
    if [ ! -f "$DEVNET_DIR/media-$i/config.yaml" ]; then
      step "creating media node $i in $DEVNET_DIR/media-$i"
      "$BIN_DIR/medianode" init --home "$DEVNET_DIR/media-$i" --chain-id "$CHAIN_ID" --rest-url "http://127.0.0.1:$API_PORT" \
        --http-port "$base" --rpc-port $((base + 1)) --udp-port $((base + 2)) --tcp-port $((base + 3)) \
        --turn-port $((TURN_BASE + i)) --turn-tls-port $((TURN_TLS_BASE + i)) --metrics-port $((METRICS_BASE + i)) --moniker "media-$i" --devnet >>"$log" 2>&1 ||
        fail "medianode init failed" "$log"
    fi
  done
}

register_services() {
  local i base
  for ((i = 1; i <= ORCHESTRATORS; i++)); do
    register "orchestrator-$i" orchestrator orchestrator-operator 5000000uchr \
      "http://127.0.0.1:$(orch_http "$i"),http://127.0.0.1:$(orch_rpc "$i")/rpc" "$(orch_home "$i")/node_key.json"
  done
  for ((i = 1; i <= MEDIA_NODES; i++)); do
    base=$(media_base "$i")
    register "media-$i" media media-operator 5000000uchr \
      "http://127.0.0.1:$base,http://127.0.0.1:$((base + 1))/rpc,turn:127.0.0.1:$((TURN_BASE + i))" "$DEVNET_DIR/media-$i/node_key.json"
  done
}

# start_service NAME BINARY HOME READY_URL [START_FLAGS...]
start_service() {
  local name=$1 bin=$2 home=$3 url=$4 i
  shift 4
  step "starting $name (log: $LOG_DIR/$name.log)"
  "$bin" start --home "$home" "$@" >>"$LOG_DIR/$name.log" 2>&1 &
  echo $! >"$DEVNET_DIR/$name.pid"
  for i in $(seq 1 60); do
    kill -0 "$(cat "$DEVNET_DIR/$name.pid")" 2>/dev/null || fail "$name exited while starting" "$LOG_DIR/$name.log"
    if (exec 3<>"/dev/tcp/127.0.0.1/${url##*:}") 2>/dev/null && ready "$url"; then
      step "$name is ready"
      return 0
    fi
    sleep 1
  done
  fail "$name was not ready within 60 s" "$LOG_DIR/$name.log"
}

# ready URL: GET host:port/readyz over bash's /dev/tcp (no curl needed).
ready() {
  local hostport=${1#http://} line
  exec 3<>"/dev/tcp/${hostport%%:*}/${hostport##*:}" || return 1
  printf 'GET /readyz HTTP/1.0\r\nHost: %s\r\n\r\n' "$hostport" >&3
  read -r line <&3
  exec 3<&-
  [[ $line == *" 200 "* ]]
}

# stop_pid_file FILE WHAT TRIES — stop the process FILE names (TERM, then
# KILL after TRIES half-seconds) and remove FILE.
stop_pid_file() {
  local f=$1 what=$2 tries=$3 pid
  [ -f "$f" ] || return 0
  pid=$(cat "$f")
  if kill -0 "$pid" 2>/dev/null; then
    step "stopping $what (pid $pid)"
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 "$tries"); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.5
    done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$f"
}

stop_services() {
  local f name
  # Every service this devnet ever ran (MEDIA_NODES may differ now).
  for f in "$DEVNET_DIR"/orchestrator*.pid "$DEVNET_DIR"/media-*.pid; do
    name=$(basename "$f" .pid)
    stop_pid_file "$f" "$name" 30
  done
}

stop_chain() {
  local f
  # Every validator this devnet ever had (VALIDATORS may differ now).
  for f in "$PID_FILE" "$DEVNET_DIR"/validator-*.pid; do
    stop_pid_file "$f" chroomd 20
  done
}

cmd_up() {
  [ -x "$CHROOMD" ] || fail "$CHROOMD is missing; run 'make build' first"
  if pid=$(running_pid); then
    fail "a devnet is already running from $DEVNET_DIR (chroomd pid $pid); stop it with 'make demo-stop' or start over with 'make demo-reset'"
  fi
  local f
  for f in "$DEVNET_DIR"/orchestrator*.pid; do
    if [ -f "$f" ] && kill -0 "$(cat "$f")" 2>/dev/null; then
      fail "the demo's $(basename "$f" .pid) is still running from an earlier devnet; stop it with 'make demo-stop'"
    fi
  done
  check_ports
  [ "$NETWORK" = 1 ] && check_service_ports
  if [ -f "$HOME_DIR/config/genesis.json" ]; then
    step "reusing the devnet in $DEVNET_DIR ('make demo-reset' starts over)"
    mkdir -p "$LOG_DIR" "$DEVNET_DIR/nodes"
  else
    rm -rf "$DEVNET_DIR"
    init_chain
  fi
  start_chain
  if [ "$REGISTER" = 1 ]; then
    register media-node-1 media media-operator 5000000uchr "https://127.0.0.1:7880"
    register orchestrator-1 orchestrator orchestrator-operator 5000000uchr "https://127.0.0.1:7800"
    [ "$NETWORK" = 1 ] || setup_app "$DEVNET_DIR/nodes/orchestrator-1/node_key.json"
  fi
  if [ "$NETWORK" = 1 ]; then
    init_services
    configure_orchestrator
    register_services
    local keys=() m
    for ((m = 1; m <= ORCHESTRATORS; m++)); do keys+=("$(orch_home "$m")/node_key.json"); done
    setup_app "${keys[@]}"
    for ((m = 1; m <= MEDIA_NODES; m++)); do
      start_service "media-$m" "$BIN_DIR/medianode" "$DEVNET_DIR/media-$m" "http://127.0.0.1:$(media_base "$m")" --log-level "$MEDIA_LOG_LEVEL"
    done
    for ((m = 1; m <= ORCHESTRATORS; m++)); do
      start_service "$(orch_name "$m")" "$BIN_DIR/orchestrator" "$(orch_home "$m")" "http://127.0.0.1:$(orch_http "$m")"
    done
  fi
  print_help
  if [ -n "$OWNER_PID" ]; then
    # Detached watchdog: stops the devnet once the owner has gone.
    (
      trap '' HUP
      while kill -0 "$OWNER_PID" 2>/dev/null; do sleep 2; done
      echo "owner $OWNER_PID exited: stopping the devnet"
      stop_services
      stop_chain
    ) >>"$LOG_DIR/watchdog.log" 2>&1 </dev/null &
  fi
  if [ "$FOREGROUND" = 1 ]; then
    trap 'echo; stop_services; stop_chain; exit 0' INT TERM
    local pid
    pid=$(running_pid) || fail "chroomd stopped" "$LOG_DIR/chroomd.log"
    while kill -0 "$pid" 2>/dev/null; do sleep 1; done
    fail "chroomd exited" "$LOG_DIR/chroomd.log"
  fi
}

case "${1:-}" in
  up) cmd_up ;;
  down)
    stop_services
    stop_chain
    ;;
  reset)
    stop_services
    stop_chain
    step "deleting $DEVNET_DIR"
    rm -rf "$DEVNET_DIR"
    ;;
  status)
    if pid=$(running_pid); then
      echo "running (chroomd pid $pid), height $("$CHROOMD" status "${NODE[@]}" 2>/dev/null | grep -o '"latest_block_height":"[0-9]*"' | grep -o '[0-9]*')"
    else
      echo "not running"
    fi
    ;;
  *)
    sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
    ;;
esac
