package config

import (
	"bytes"
	"text/template"
)

// SampleValues fill the sample config written by `medianode init`.
type SampleValues struct {
	ChainID, RESTURL, PublicHost, Region, Moniker, TURNSecret  string
	HTTPPort, RPCPort, UDPPort, TCPPort, TURNPort, MetricsPort int
	// TURNTLSPort serves TURN over TLS (0: off); TURNTLSCert and
	// TURNTLSKey are its PEM files (init writes self-signed ones for a
	// devnet).
	TURNTLSPort             int
	TURNTLSCert, TURNTLSKey string
	Devnet                  bool
}

var sample = template.Must(template.New("config").Parse(`# Chroom media node configuration.
# Every key is shown with its value; durations are Go durations (5s, 10m).
# Unknown keys are errors. Relative paths are relative to the home folder.

chain:
  # The chain ID that join grants and usage receipts are bound to.
  chain_id: {{.ChainID}}
  # A chroomd REST gateway (app.toml [api]); the node reads x/registry and
  # the current epoch from it.
  rest_url: {{.RESTURL}}
  # How often the registry view is refreshed.
  registry_refresh: 5s

node:
  # The ed25519 node key (written by 'medianode init'); its public key is
  # registered on chain with 'chroomd tx registry register-node'.
  key_file: node_key.json
  # ISO 3166-1 alpha-2 region, optionally with a sub-region (DE, US-CA);
  # used in the printed register command.
  region: {{.Region}}
  # Human-readable name for the printed register command.
  moniker: {{.Moniker}}

http:
  # Signaling listener: WebSocket /rtc, WHIP /whip, WHEP /whep, /healthz,
  # /readyz. A devnet binds loopback only.
  listen: {{if .Devnet}}127.0.0.1{{else}}0.0.0.0{{end}}:{{.HTTPPort}}
  # The public base URL registered on chain for this listener.
  public_url: http://{{.PublicHost}}:{{.HTTPPort}}
  # TLS certificate and key (PEM); leave empty to serve plain HTTP behind a
  # TLS-terminating proxy or on a devnet.
  tls_cert: ""
  tls_key: ""

rpc:
  # Media Node RPC (gRPC over HTTP/2): orchestrators call it for room admin.
  listen: {{if .Devnet}}127.0.0.1{{else}}0.0.0.0{{end}}:{{.RPCPort}}

metrics:
  # Prometheus /metrics listener; empty disables it.
  listen: 127.0.0.1:{{.MetricsPort}}

webrtc:
  # The one UDP port all WebRTC media uses (ICE UDP mux).
  udp_port: {{.UDPPort}}
  # ICE-TCP port for clients that cannot use UDP; 0 disables it.
  tcp_port: {{.TCPPort}}
  # Address the media sockets bind to.
  bind_ip: {{if .Devnet}}127.0.0.1{{else}}0.0.0.0{{end}}
  # Public addresses to advertise as host candidates (1:1 NAT, cloud VMs);
  # empty advertises the local addresses.
  public_ips: []
  # Also gather loopback candidates (devnets and tests only).
  include_loopback: {{.Devnet}}
  # Receive and send buffer of the media socket, in bytes (0: the kernel's
  # default, 208 KiB on Linux, which drops packets in bursts at high
  # rates). The kernel caps it at net.core.rmem_max / wmem_max; the node
  # warns at start when it got less (raise them with sysctl, see README).
  socket_buffer_bytes: 4194304
  # Send the media socket's datagrams in batches, one sendmmsg system call
  # for all the packets queued while the last one ran (Linux; elsewhere
  # one call per packet as before). Cuts the SFU's CPU per forwarded
  # packet; false sends each packet with its own sendto.
  batch_writes: true

turn:
  # Embedded TURN relay (RFC 8656) for clients behind restrictive NATs.
  enabled: true
  udp_port: {{.TURNPort}}
  tcp_port: {{.TURNPort}}
  # IPv4 relay address advertised to clients; empty uses the host of
  # http.public_url if it is an IP, else webrtc.bind_ip if it is not a
  # wildcard (start fails otherwise).
  public_ip: ""
  realm: chroom
  # HMAC secret for short-lived TURN credentials (TURN REST API style).
  # Keep it private; any 16+ characters.
  secret: {{.TURNSecret}}
  # Lifetime of minted TURN credentials. A relayed call stops working about
  # 5 minutes after its credentials expire, so keep this above your longest call.
  credential_ttl: 2h
  # Allow relaying to loopback peers. Devnet only: in production it would
  # let clients reach services on this machine.
  allow_loopback_peers: {{.Devnet}}
  # Concurrent relay allocations one identity may hold.
  max_allocations_per_user: 10
  # TURN over TLS (turns:) for networks that allow only TLS over TCP
  # (corporate, hotel and school networks; 443 gets through the most);
  # 0 disables it. Browsers check the certificate against the host of
  # http.public_url, which the turns: URL names.
  tls_port: {{.TURNTLSPort}}
  # PEM certificate and key for TURN over TLS; empty uses http.tls_cert
  # and http.tls_key.
  tls_cert: "{{.TURNTLSCert}}"
  tls_key: "{{.TURNTLSKey}}"

limits:
  max_rooms: 1000
  max_participants_per_room: 100
  max_tracks_per_participant: 8
  # Largest data-channel message (chat, file chunk) relayed, in bytes.
  max_data_message_bytes: 65536

grants:
  # The longest lifetime (exp - iat) of a join grant this node accepts;
  # longer-lived grants and grants without iat are refused (401). It bounds
  # how long a leaked grant can be used. Keep it at least the orchestrators'
  # api.grant_ttl (6h by default), or their grants are refused.
  max_lifetime: 6h

receipts:
  # On-disk queue (bbolt) of signed usage receipts not yet acknowledged by
  # an orchestrator; it survives restarts.
  store: receipts.db
  # How often queued receipts are pushed to orchestrators.
  push_interval: 2s
  # How often signed load reports are pushed to orchestrators.
  load_report_interval: 5s
outbound:
  # Let connections to endpoints read from the chain's registry (Media Node RPC pushes to orchestrators)
  # reach loopback, private and link-local addresses. Devnet only: anyone
  # who registers a node chooses its endpoints, and could otherwise point
  # this process at services on your private network. Redirects are never
  # followed.
  allow_private_endpoints: {{.Devnet}}
`))

// Sample renders the commented sample configuration.
func Sample(v SampleValues) ([]byte, error) {
	var b bytes.Buffer
	if err := sample.Execute(&b, v); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
