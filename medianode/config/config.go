// Package config is the media node's configuration: defaults, a strict
// YAML file (unknown keys are errors), and validation that names the key
// that is wrong.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"go.yaml.in/yaml/v3"
)

// Config is the whole media node configuration. Sample() writes it with
// every key commented.
type Config struct {
	Chain    Chain    `yaml:"chain"`
	Node     Node     `yaml:"node"`
	HTTP     HTTP     `yaml:"http"`
	RPC      RPC      `yaml:"rpc"`
	Metrics  Metrics  `yaml:"metrics"`
	WebRTC   WebRTC   `yaml:"webrtc"`
	TURN     TURN     `yaml:"turn"`
	Limits   Limits   `yaml:"limits"`
	Grants   Grants   `yaml:"grants"`
	Receipts Receipts `yaml:"receipts"`
	Outbound Outbound `yaml:"outbound"`
}

// DefaultGrantMaxLifetime is the default of grants.max_lifetime: the
// orchestrator's default grant lifetime (api.grant_ttl).
const DefaultGrantMaxLifetime = 6 * time.Hour

// Grants configures which join grants the node accepts beyond the checks
// package grant always makes (issuer, chain, type, audience, expiry).
type Grants struct {
	// MaxLifetime is the longest lifetime (exp − iat) of a join grant the
	// node accepts; longer-lived grants, and grants without iat, are
	// refused. It bounds how long a leaked grant stays usable. Must be
	// positive; default DefaultGrantMaxLifetime.
	MaxLifetime time.Duration `yaml:"max_lifetime"`
}

// Outbound configures connections to endpoints read from the chain's
// registry.
type Outbound struct {
	// AllowPrivateEndpoints lets them reach loopback, private and
	// link-local addresses (package netguard); devnets only.
	AllowPrivateEndpoints bool `yaml:"allow_private_endpoints"`
}

// Chain says which chain the node serves and how it reads it.
type Chain struct {
	ChainID         string        `yaml:"chain_id"`
	RESTURL         string        `yaml:"rest_url"`
	RegistryRefresh time.Duration `yaml:"registry_refresh"`
}

// Node holds the node identity.
type Node struct {
	KeyFile string `yaml:"key_file"`
	Region  string `yaml:"region"`
	Moniker string `yaml:"moniker"`
}

// HTTP is the signaling listener (WebSocket, WHIP, WHEP, health).
type HTTP struct {
	Listen    string `yaml:"listen"`
	PublicURL string `yaml:"public_url"`
	TLSCert   string `yaml:"tls_cert"`
	TLSKey    string `yaml:"tls_key"`
}

// RPC is the Media Node RPC listener (gRPC).
type RPC struct {
	Listen string `yaml:"listen"`
}

// Metrics is the Prometheus listener.
type Metrics struct {
	Listen string `yaml:"listen"`
}

// WebRTC is where media flows.
type WebRTC struct {
	UDPPort         int      `yaml:"udp_port"`
	TCPPort         int      `yaml:"tcp_port"`
	BindIP          string   `yaml:"bind_ip"`
	PublicIPs       []string `yaml:"public_ips"`
	IncludeLoopback bool     `yaml:"include_loopback"`
	// SocketBufferBytes is the receive and send buffer asked for on the
	// media socket; 0 keeps the kernel's default.
	SocketBufferBytes int `yaml:"socket_buffer_bytes"`
	// BatchWrites sends the media socket's datagrams in batches, one
	// sendmmsg(2) per batch (medianode/udpbatch); false sends each with
	// its own sendto(2).
	BatchWrites bool `yaml:"batch_writes"`
}

// TURN configures the embedded relay.
type TURN struct {
	Enabled               bool          `yaml:"enabled"`
	UDPPort               int           `yaml:"udp_port"`
	TCPPort               int           `yaml:"tcp_port"`
	PublicIP              string        `yaml:"public_ip"`
	Realm                 string        `yaml:"realm"`
	Secret                string        `yaml:"secret"`
	CredentialTTL         time.Duration `yaml:"credential_ttl"`
	AllowLoopbackPeers    bool          `yaml:"allow_loopback_peers"`
	MaxAllocationsPerUser int           `yaml:"max_allocations_per_user"`
	// TLSPort serves TURN over TLS (turns:, RFC 8656 §3.1) for clients
	// whose networks allow only TLS over TCP; 0 disables it. TLSCert and
	// TLSKey (PEM) default to http.tls_cert and http.tls_key.
	TLSPort int    `yaml:"tls_port"`
	TLSCert string `yaml:"tls_cert"`
	TLSKey  string `yaml:"tls_key"`
}

// Limits bound what the node accepts.
type Limits struct {
	MaxRooms                int `yaml:"max_rooms"`
	MaxParticipantsPerRoom  int `yaml:"max_participants_per_room"`
	MaxTracksPerParticipant int `yaml:"max_tracks_per_participant"`
	MaxDataMessageBytes     int `yaml:"max_data_message_bytes"`
}

// Receipts configures the receipt queue and reporting.
type Receipts struct {
	Store              string        `yaml:"store"`
	PushInterval       time.Duration `yaml:"push_interval"`
	LoadReportInterval time.Duration `yaml:"load_report_interval"`
}

// Default returns the defaults every key falls back to.
func Default() Config {
	return Config{
		Chain:    Chain{RESTURL: "http://127.0.0.1:1317", RegistryRefresh: 5 * time.Second},
		Node:     Node{KeyFile: "node_key.json", Region: "DE"},
		HTTP:     HTTP{Listen: "0.0.0.0:7880"},
		RPC:      RPC{Listen: "0.0.0.0:7881"},
		Metrics:  Metrics{Listen: "127.0.0.1:9100"},
		WebRTC:   WebRTC{UDPPort: 7882, TCPPort: 7883, BindIP: "0.0.0.0", SocketBufferBytes: 4 << 20, BatchWrites: true},
		TURN:     TURN{Enabled: true, UDPPort: 3478, TCPPort: 3478, Realm: "chroom", CredentialTTL: 2 * time.Hour, MaxAllocationsPerUser: 10},
		Limits:   Limits{MaxRooms: 1000, MaxParticipantsPerRoom: 100, MaxTracksPerParticipant: 8, MaxDataMessageBytes: 64 << 10},
		Grants:   Grants{MaxLifetime: DefaultGrantMaxLifetime},
		Receipts: Receipts{Store: "receipts.db", PushInterval: 2 * time.Second, LoadReportInterval: 5 * time.Second},
	}
}

// Load reads path over the defaults. Unknown keys, bad durations and
// invalid values are errors that name the key. Relative file paths are
// resolved against home.
func Load(path, home string) (Config, error) {
	cfg := Default()
	data, err := os.ReadFile(path)
	if err != nil {
		return cfg, fmt.Errorf("read config: %w", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil {
		return cfg, fmt.Errorf("config %s: %w", path, err)
	}
	cfg.resolve(home)
	return cfg, cfg.Validate()
}

func (c *Config) resolve(home string) {
	for _, p := range []*string{&c.Node.KeyFile, &c.Receipts.Store, &c.HTTP.TLSCert, &c.HTTP.TLSKey, &c.TURN.TLSCert, &c.TURN.TLSKey} {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(home, *p)
		}
	}
}

// Validate checks every key and returns the first problem, naming the key.
func (c Config) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) { errs = append(errs, fmt.Errorf(key+": "+format, args...)) }
	if c.Chain.ChainID == "" {
		bad("chain.chain_id", "is required (the chain grants and receipts are bound to)")
	}
	if u, err := url.Parse(c.Chain.RESTURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		bad("chain.rest_url", "must be an http(s) URL of a chroomd REST gateway, got %q", c.Chain.RESTURL)
	}
	if c.Chain.RegistryRefresh < time.Second {
		bad("chain.registry_refresh", "must be at least 1s")
	}
	if c.Node.KeyFile == "" {
		bad("node.key_file", "is required")
	}
	for key, addr := range map[string]string{"http.listen": c.HTTP.Listen, "rpc.listen": c.RPC.Listen} {
		if _, _, err := net.SplitHostPort(addr); err != nil {
			bad(key, "must be host:port, got %q", addr)
		}
	}
	if c.Metrics.Listen != "" {
		if _, _, err := net.SplitHostPort(c.Metrics.Listen); err != nil {
			bad("metrics.listen", "must be host:port or empty, got %q", c.Metrics.Listen)
		}
	}
	if (c.HTTP.TLSCert == "") != (c.HTTP.TLSKey == "") {
		bad("http.tls_cert", "and http.tls_key must be set together")
	}
	if c.WebRTC.UDPPort < 1 || c.WebRTC.UDPPort > 65535 {
		bad("webrtc.udp_port", "must be in 1-65535, got %d", c.WebRTC.UDPPort)
	}
	if c.WebRTC.TCPPort < 0 || c.WebRTC.TCPPort > 65535 {
		bad("webrtc.tcp_port", "must be in 0-65535 (0 disables ICE-TCP), got %d", c.WebRTC.TCPPort)
	}
	if net.ParseIP(c.WebRTC.BindIP) == nil {
		bad("webrtc.bind_ip", "must be an IP address, got %q", c.WebRTC.BindIP)
	}
	for _, ip := range c.WebRTC.PublicIPs {
		if net.ParseIP(ip) == nil {
			bad("webrtc.public_ips", "%q is not an IP address", ip)
		}
	}
	if c.TURN.Enabled {
		if c.TURN.UDPPort < 0 || c.TURN.UDPPort > 65535 || c.TURN.TCPPort < 0 || c.TURN.TCPPort > 65535 || c.TURN.UDPPort+c.TURN.TCPPort == 0 {
			bad("turn.udp_port", "and turn.tcp_port must be in 0-65535 and not both 0")
		}
		if len(c.TURN.Secret) < 16 {
			bad("turn.secret", "must be at least 16 characters (medianode init generates one)")
		}
		if c.TURN.PublicIP != "" && net.ParseIP(c.TURN.PublicIP) == nil {
			bad("turn.public_ip", "must be an IP address, got %q", c.TURN.PublicIP)
		}
		if c.WebRTC.SocketBufferBytes < 0 || c.WebRTC.SocketBufferBytes > 1<<30 {
			bad("webrtc.socket_buffer_bytes", "must be in 0-1073741824 (0 keeps the kernel's default)")
		}
		if c.TURN.TLSPort < 0 || c.TURN.TLSPort > 65535 {
			bad("turn.tls_port", "must be in 0-65535")
		}
		if c.TURN.TLSPort > 0 && (c.TURN.TLSPort == c.TURN.TCPPort || c.TURN.TLSPort == c.WebRTC.TCPPort) {
			bad("turn.tls_port", "must differ from turn.tcp_port and webrtc.tcp_port")
		}
		if c.TURN.TLSPort > 0 && (c.TURN.TLSCert == "") != (c.TURN.TLSKey == "") {
			bad("turn.tls_cert", "and turn.tls_key must be set together")
		}
		if c.TURN.TLSPort > 0 && c.TURN.TLSCert == "" && c.HTTP.TLSCert == "" {
			bad("turn.tls_cert", "is required with turn.tls_port (or set http.tls_cert and http.tls_key, which it defaults to)")
		}
		if c.TURN.CredentialTTL < time.Minute {
			bad("turn.credential_ttl", "must be at least 1m")
		}
	}
	if c.Limits.MaxRooms < 1 || c.Limits.MaxParticipantsPerRoom < 1 || c.Limits.MaxTracksPerParticipant < 1 {
		bad("limits", "max_rooms, max_participants_per_room and max_tracks_per_participant must be positive")
	}
	if c.Limits.MaxDataMessageBytes < 1024 || c.Limits.MaxDataMessageBytes > 256<<10 {
		bad("limits.max_data_message_bytes", "must be in 1024-262144, got %d", c.Limits.MaxDataMessageBytes)
	}
	if c.Grants.MaxLifetime <= 0 {
		bad("grants.max_lifetime", "must be a positive duration (the longest join grant lifetime, exp − iat, this node accepts; default 6h), got %s", c.Grants.MaxLifetime)
	}
	if c.Receipts.Store == "" {
		bad("receipts.store", "is required")
	}
	if c.Receipts.PushInterval < 100*time.Millisecond || c.Receipts.LoadReportInterval < time.Second {
		bad("receipts", "push_interval must be ≥ 100ms and load_report_interval ≥ 1s")
	}
	return errors.Join(errs...)
}
