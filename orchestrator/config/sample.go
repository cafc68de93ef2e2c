package config

import (
	"bytes"
	"text/template"
)

// SampleValues fill the sample written by `orchestrator init`.
type SampleValues struct {
	ChainID, GRPC, RESTURL, KeyringDir, KeyName, PublicHost, Region, Moniker, APIKey string
	HTTPPort, RPCPort                                                                int
	Anonymous                                                                        bool
	// BindIP is the address the HTTP and RPC listeners bind (0.0.0.0, or
	// 127.0.0.1 on a devnet).
	BindIP string
	// AllowPrivate sets outbound.allow_private_endpoints (devnets).
	AllowPrivate bool
	// BillApp and AnonymousBillApp set api.keys[0].bill_app and
	// api.anonymous_bill_app (empty: the operator pays).
	BillApp, AnonymousBillApp string
}

var sample = template.Must(template.New("c").Parse(`# Chroom orchestrator configuration.
# Durations are Go durations (5s, 6h). Unknown keys are errors. Relative
# paths are relative to the home folder.

chain:
  # Chain ID that grants and receipts are bound to.
  chain_id: {{.ChainID}}
  # chroomd gRPC server (app.toml [grpc]): registry, rewards, tx broadcast.
  grpc: {{.GRPC}}
  # chroomd REST gateway (recorded for tools; the orchestrator itself
  # reads the chain over gRPC only).
  rest_url: {{.RESTURL}}
  # How often the chain's height is polled; the registry view is
  # refreshed whenever a new block arrives.
  refresh: 1s
  # Keyring holding the operator account that signs MsgSubmitReceipts
  # (chroomd keys ... --keyring-backend <backend> --home <dir>).
  keyring_backend: test
  keyring_dir: {{.KeyringDir}}
  key_name: {{.KeyName}}
  # What a receipt transaction pays for gas: gas_prices is a price per
  # unit of gas (a tx's gas limit is 200000 + 25000 per receipt), at least
  # your validators' minimum-gas-prices in app.toml (chroomd's default is
  # 0.01uchr); fees is a fixed fee per tx instead. Set one, not both.
  gas_prices: 0.01uchr
  fees: ""

node:
  # The ed25519 node key (written by 'orchestrator init'); it signs join
  # grants and countersigns receipts.
  key_file: node_key.json
  # Region new rooms prefer when the join gives none.
  region: {{.Region}}
  moniker: {{.Moniker}}

http:
  # Public API (/v1/...), web client (/), /healthz, /readyz, /metrics.
  listen: {{.BindIP}}:{{.HTTPPort}}
  # Public base URL to register on chain (the register command 'init'
  # prints uses it); other orchestrators redirect to the registered URL.
  public_url: http://{{.PublicHost}}:{{.HTTPPort}}

rpc:
  # Media Node RPC (gRPC): media nodes push load reports and receipts.
  listen: {{.BindIP}}:{{.RPCPort}}

metrics:
  # Separate Prometheus listener; empty serves /metrics on http.listen.
  listen: ""

api:
  # API keys of apps allowed to request join grants (X-API-Key header).
  keys:
    - key: {{.APIKey}}
      # The app's name; its identities are <name>:<identity> (no ':').
      name: devnet-app
      # Rooms the key may use: names starting with one of these prefixes;
      # empty: every room.
      room_prefixes: []
      # What the key may do: join (ask for grants), admin (roles, mutes,
      # removals, ending rooms), stats (list participants); empty: all.
      scopes: [join, admin, stats]
      # Live grants and rooms with live grants at once (0: unbounded).
      max_sessions: 10000
      max_rooms: 1000
      # On-chain app (chroomd tx incentives create-app / fund-app) whose
      # escrow pays the usage fees of this key's sessions; this
      # orchestrator's node ID must be one of the app's orchestrator IDs.
      # Empty: the operator account (chain.key_name) pays them.
      bill_app: "{{.BillApp}}"
      # Origins whose pages may embed this app's calls in an <iframe>
      # (GET /embed?token=<grant>), e.g. [https://support.example.com].
      # Empty: no page may frame them (CSP frame-ancestors 'none').
      embed_origins: []
  # Let the bundled web client join without an API key. Keep false on
  # public orchestrators unless you want open rooms.
  allow_anonymous_join: {{.Anonymous}}
  # On-chain app billed for anonymous joins (the bundled web client);
  # empty: the operator account pays.
  anonymous_bill_app: "{{.AnonymousBillApp}}"
  # Lifetime of a join grant.
  grant_ttl: 6h
  # Token buckets (rate per second, burst) per client IP and per API key;
  # over them the API answers 429 with Retry-After. A negative rate
  # disables that limit. Proxies are not trusted: behind one, every client
  # shares the proxy's address.
  rate_limits:
    join_per_ip: 2
    join_burst_per_ip: 20
    admin_per_ip: 10
    admin_burst_per_ip: 50
    join_per_key: 100
    join_burst_per_key: 500

receipts:
  # On-disk queue (bbolt) of countersigned receipts not yet on chain.
  queue: receipts.db
  # How often queued receipts are submitted as one MsgSubmitReceipts.
  submit_interval: 5s
  # Receipts per transaction (at most the chain's max_receipts_per_msg).
  batch_size: 200
  # Slack on session times when checking a receipt against the grant.
  clock_tolerance: 30s
  # A receipt's client-reported bytes may exceed what clients reported
  # here by this factor (the reports are taken at different moments).
  client_bytes_factor: 1.5

probes:
  # Run the QoS probes the chain assigns this orchestrator (x/verification
  # README, "QoS probes"): join the media node as an ordinary client,
  # measure, sign and submit the result. An orchestrator that skips an
  # assigned probe forfeits its share of that epoch's orchestrator rewards.
  enabled: true
  # The prober and its arguments: it reads one JSON request on stdin and
  # prints one JSON measurement (chroom-loadtest probe). Empty: the
  # chroom-loadtest next to this binary, else on PATH.
  command: []
  # How long each probe measures, and the bitrate it sends (kbit/s).
  duration: 10s
  target_kbps: 500
  # How often to look for assignments of the current and previous epoch.
  check_interval: 10s

webhooks:
  # Optional: POST room_started, room_finished, participant_joined and
  # participant_left events as JSON to this URL, signed with the secret
  # (X-Chroom-Signature: sha256=HMAC-SHA256(secret, timestamp + "." + body)).
  url: ""
  secret: ""
outbound:
  # Let connections to endpoints read from the chain's registry (Media Node RPC to media nodes, other orchestrators' health checks)
  # reach loopback, private and link-local addresses. Devnet only: anyone
  # who registers a node chooses its endpoints, and could otherwise point
  # this process at services on your private network. Redirects are never
  # followed.
  allow_private_endpoints: {{.AllowPrivate}}
`))

// Sample renders the commented sample.
func Sample(v SampleValues) ([]byte, error) {
	if v.BindIP == "" {
		v.BindIP = "0.0.0.0"
	}
	var b bytes.Buffer
	err := sample.Execute(&b, v)
	return b.Bytes(), err
}
