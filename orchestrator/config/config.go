// Package config is the orchestrator's configuration: defaults, a strict
// YAML file (unknown keys are errors), validation naming the key at fault,
// and the commented sample `orchestrator init` writes.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Config is the whole orchestrator configuration.
type Config struct {
	Chain    Chain    `yaml:"chain"`
	Node     Node     `yaml:"node"`
	HTTP     HTTP     `yaml:"http"`
	RPC      RPC      `yaml:"rpc"`
	Metrics  Metrics  `yaml:"metrics"`
	API      API      `yaml:"api"`
	Receipts Receipts `yaml:"receipts"`
	Probes   Probes   `yaml:"probes"`
	Webhooks Webhooks `yaml:"webhooks"`
	Outbound Outbound `yaml:"outbound"`
}

// Outbound configures connections to endpoints read from the chain's
// registry.
type Outbound struct {
	// AllowPrivateEndpoints lets them reach loopback, private and
	// link-local addresses (package netguard); devnets only.
	AllowPrivateEndpoints bool `yaml:"allow_private_endpoints"`
}

// Webhooks configures signed event delivery to an app (optional).
type Webhooks struct {
	URL    string `yaml:"url"`
	Secret string `yaml:"secret"`
}

// Chain: how the orchestrator reads and writes chroomd.
type Chain struct {
	ChainID        string        `yaml:"chain_id"`
	GRPC           string        `yaml:"grpc"`
	RESTURL        string        `yaml:"rest_url"`
	Refresh        time.Duration `yaml:"refresh"`
	KeyringBackend string        `yaml:"keyring_backend"`
	KeyringDir     string        `yaml:"keyring_dir"`
	KeyName        string        `yaml:"key_name"`
	// GasPrices (e.g. "0.01uchr") makes each receipt tx pay ceil(price ×
	// gas limit); Fees (e.g. "500uchr") is a fixed fee per tx instead.
	// Set one of them, not both (a zero amount counts as unset).
	GasPrices string `yaml:"gas_prices"`
	Fees      string `yaml:"fees"`
}

// Node holds the orchestrator's identity.
type Node struct {
	KeyFile string `yaml:"key_file"`
	Region  string `yaml:"region"`
	Moniker string `yaml:"moniker"`
}

// HTTP is the public API and web client listener.
type HTTP struct {
	Listen    string `yaml:"listen"`
	PublicURL string `yaml:"public_url"`
}

// RPC is the Media Node RPC listener.
type RPC struct {
	Listen string `yaml:"listen"`
}

// Metrics is the Prometheus listener ("" serves /metrics on the HTTP listener).
type Metrics struct {
	Listen string `yaml:"listen"`
}

// APIKey is one app's key.
type APIKey struct {
	Key  string `yaml:"key"`
	Name string `yaml:"name"`
	// RoomPrefixes, Scopes, MaxRooms, MaxSessions: api.KeyPolicy.
	RoomPrefixes []string `yaml:"room_prefixes"`
	Scopes       []string `yaml:"scopes"`
	MaxRooms     int      `yaml:"max_rooms"`
	MaxSessions  int      `yaml:"max_sessions"`
	// BillApp is the on-chain app (x/incentives app escrow) whose escrow
	// pays the usage fees of this key's sessions; the orchestrator must be
	// one of the app's orchestrator IDs. Empty: the orchestrator's
	// operator account pays them itself.
	BillApp string `yaml:"bill_app"`
	// EmbedOrigins are the origins (scheme://host[:port]) whose pages may
	// put this app's calls in an <iframe> (/embed): the page's CSP
	// frame-ancestors. Empty: no page may frame them.
	EmbedOrigins []string `yaml:"embed_origins"`
}

// API configures the public API.
type API struct {
	Keys               []APIKey `yaml:"keys"`
	AllowAnonymousJoin bool     `yaml:"allow_anonymous_join"`
	// AnonymousBillApp is the on-chain app billed for anonymous joins
	// (e.g. the bundled web client); empty: the operator pays.
	AnonymousBillApp string        `yaml:"anonymous_bill_app"`
	GrantTTL         time.Duration `yaml:"grant_ttl"`
	RateLimits       RateLimits    `yaml:"rate_limits"`
}

// MaxAppIDLen is the longest on-chain app ID.
const MaxAppIDLen = 64

// ValidAppID reports whether id is an on-chain app ID: 1–64 characters of
// [a-z0-9-], starting with a letter.
func ValidAppID(id string) bool {
	if id == "" || len(id) > MaxAppIDLen || id[0] < 'a' || id[0] > 'z' {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// RateLimits bound joins and room-admin calls (token buckets: a rate
// per second and a burst); a negative rate disables a limit.
type RateLimits struct {
	JoinPerIP       float64 `yaml:"join_per_ip"`
	JoinBurstPerIP  int     `yaml:"join_burst_per_ip"`
	AdminPerIP      float64 `yaml:"admin_per_ip"`
	AdminBurstPerIP int     `yaml:"admin_burst_per_ip"`
	JoinPerKey      float64 `yaml:"join_per_key"`
	JoinBurstPerKey int     `yaml:"join_burst_per_key"`
}

// Receipts configures the attestation pipeline.
type Receipts struct {
	Queue             string        `yaml:"queue"`
	SubmitInterval    time.Duration `yaml:"submit_interval"`
	BatchSize         int           `yaml:"batch_size"`
	ClockTolerance    time.Duration `yaml:"clock_tolerance"`
	ClientBytesFactor float64       `yaml:"client_bytes_factor"`
}

// Probes are the QoS probes the chain assigns this orchestrator
// (x/verification README, "QoS probes").
type Probes struct {
	Enabled bool `yaml:"enabled"`
	// Command is the prober and its arguments (empty: chroom-loadtest
	// probe, next to this binary or on PATH).
	Command       []string      `yaml:"command"`
	Duration      time.Duration `yaml:"duration"`
	TargetKbps    int           `yaml:"target_kbps"`
	CheckInterval time.Duration `yaml:"check_interval"`
}

// DefaultGasPrices is chain.gas_prices by default: chroomd's default
// minimum gas price (app.toml minimum-gas-prices).
const DefaultGasPrices = "0.01uchr"

// unsetGasPrices marks chain.gas_prices absent from a config file.
const unsetGasPrices = "\x00unset"

// zeroAmount reports whether a coin list such as "0uchr" or
// "0.0uchr,0stake" is empty or all zero (a syntax error is not zero: the
// node reports it).
func zeroAmount(s string) bool {
	for _, c := range strings.Split(s, ",") {
		c = strings.TrimSpace(c)
		if c == "" {
			continue
		}
		amount := strings.TrimLeft(c, "0123456789.")
		if len(amount) == len(c) || strings.Trim(c[:len(c)-len(amount)], "0.") != "" {
			return false
		}
	}
	return true
}

// Default returns the defaults.
func Default() Config {
	return Config{
		Chain: Chain{GRPC: "127.0.0.1:9090", RESTURL: "http://127.0.0.1:1317", Refresh: time.Second, KeyringBackend: "test", KeyName: "orchestrator-operator", GasPrices: DefaultGasPrices},
		Node:  Node{KeyFile: "node_key.json", Region: "DE"},
		HTTP:  HTTP{Listen: "0.0.0.0:7800", PublicURL: "http://127.0.0.1:7800"},
		RPC:   RPC{Listen: "0.0.0.0:7801"},
		API: API{GrantTTL: 6 * time.Hour, RateLimits: RateLimits{JoinPerIP: 2, JoinBurstPerIP: 20, AdminPerIP: 10, AdminBurstPerIP: 50,
			JoinPerKey: 100, JoinBurstPerKey: 500}},
		Receipts: Receipts{Queue: "receipts.db", SubmitInterval: 5 * time.Second, BatchSize: 200, ClockTolerance: 30 * time.Second, ClientBytesFactor: 1.5},
		Probes:   Probes{Enabled: true, Duration: 10 * time.Second, TargetKbps: 500, CheckInterval: 10 * time.Second},
	}
}

// Load reads path over the defaults; relative paths are relative to home.
func Load(path, home string) (Config, error) {
	cfg := Default()
	data, err := os.ReadFile(path)
	if err != nil {
		return cfg, fmt.Errorf("read config: %w", err)
	}
	// chain.gas_prices defaults to DefaultGasPrices only when chain.fees
	// sets no fixed fee: a file written before gas_prices existed keeps
	// paying its fees.
	cfg.Chain.GasPrices = unsetGasPrices
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil {
		return cfg, fmt.Errorf("config %s: %w", path, err)
	}
	if cfg.Chain.GasPrices == unsetGasPrices {
		cfg.Chain.GasPrices = ""
		if zeroAmount(cfg.Chain.Fees) {
			cfg.Chain.GasPrices = DefaultGasPrices
		}
	}
	for _, p := range []*string{&cfg.Node.KeyFile, &cfg.Receipts.Queue, &cfg.Chain.KeyringDir} {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(home, *p)
		}
	}
	return cfg, cfg.Validate()
}

// Validate checks every key.
func (c Config) Validate() error {
	var errs []error
	bad := func(key, f string, a ...any) { errs = append(errs, fmt.Errorf(key+": "+f, a...)) }
	if c.Chain.ChainID == "" {
		bad("chain.chain_id", "is required")
	}
	if _, _, err := net.SplitHostPort(c.Chain.GRPC); err != nil {
		bad("chain.grpc", "must be host:port of chroomd's gRPC server, got %q", c.Chain.GRPC)
	}
	if u, err := url.Parse(c.Chain.RESTURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		bad("chain.rest_url", "must be an http(s) URL, got %q", c.Chain.RESTURL)
	}
	if c.Chain.KeyName == "" {
		bad("chain.key_name", "is required: the keyring key that pays for receipt transactions")
	}
	if !zeroAmount(c.Chain.GasPrices) && !zeroAmount(c.Chain.Fees) {
		bad("chain.fees", "set chain.gas_prices (a price per gas) or chain.fees (a fixed fee per tx), not both; got gas_prices %q and fees %q", c.Chain.GasPrices, c.Chain.Fees)
	}
	switch c.Chain.KeyringBackend {
	case "test", "file", "os":
	default:
		bad("chain.keyring_backend", "must be test, file or os, got %q", c.Chain.KeyringBackend)
	}
	if c.Node.KeyFile == "" {
		bad("node.key_file", "is required")
	}
	for key, a := range map[string]string{"http.listen": c.HTTP.Listen, "rpc.listen": c.RPC.Listen} {
		if _, _, err := net.SplitHostPort(a); err != nil {
			bad(key, "must be host:port, got %q", a)
		}
	}
	if u, err := url.Parse(c.HTTP.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		bad("http.public_url", "must be an absolute http(s) URL, got %q", c.HTTP.PublicURL)
	}
	for i, k := range c.API.Keys {
		if len(k.Key) < 16 || k.Name == "" {
			bad(fmt.Sprintf("api.keys[%d]", i), "needs a key of 16+ characters and a name")
		}
		if strings.Contains(k.Name, ":") {
			bad(fmt.Sprintf("api.keys[%d].name", i), "may not contain ':' (it prefixes the app's identities as <name>:<identity>)")
		}
		for _, sc := range k.Scopes {
			if sc != "join" && sc != "admin" && sc != "stats" {
				bad(fmt.Sprintf("api.keys[%d].scopes", i), "must be join, admin or stats, got %q", sc)
			}
		}
		if k.MaxRooms < 0 || k.MaxSessions < 0 {
			bad(fmt.Sprintf("api.keys[%d]", i), "max_rooms and max_sessions must be 0 (unbounded) or more")
		}
		if k.BillApp != "" && !ValidAppID(k.BillApp) {
			bad(fmt.Sprintf("api.keys[%d].bill_app", i), "must be an app ID of 1-64 characters a-z, 0-9 and '-', starting with a letter (or empty: the operator pays), got %q", k.BillApp)
		}
		for _, o := range k.EmbedOrigins {
			if !ValidOrigin(o) {
				bad(fmt.Sprintf("api.keys[%d].embed_origins", i), "must be origins like https://app.example or http://127.0.0.1:8080 (scheme, host and port only), got %q", o)
			}
		}
	}
	if c.API.AnonymousBillApp != "" && !ValidAppID(c.API.AnonymousBillApp) {
		bad("api.anonymous_bill_app", "must be an app ID of 1-64 characters a-z, 0-9 and '-', starting with a letter (or empty: the operator pays), got %q", c.API.AnonymousBillApp)
	}
	if c.API.GrantTTL < time.Minute || c.API.GrantTTL > 48*time.Hour {
		bad("api.grant_ttl", "must be between 1m and 48h")
	}
	rl := c.API.RateLimits
	for key, v := range map[string]int{"api.rate_limits.join_burst_per_ip": rl.JoinBurstPerIP, "api.rate_limits.admin_burst_per_ip": rl.AdminBurstPerIP,
		"api.rate_limits.join_burst_per_key": rl.JoinBurstPerKey} {
		if v < 1 {
			bad(key, "must be at least 1, got %d", v)
		}
	}
	for key, v := range map[string]float64{"api.rate_limits.join_per_ip": rl.JoinPerIP, "api.rate_limits.admin_per_ip": rl.AdminPerIP,
		"api.rate_limits.join_per_key": rl.JoinPerKey} {
		if v == 0 {
			bad(key, "must be a positive rate per second, or negative to disable the limit")
		}
	}
	if c.Receipts.Queue == "" {
		bad("receipts.queue", "is required")
	}
	if c.Receipts.BatchSize < 1 || c.Receipts.BatchSize > 1000 {
		bad("receipts.batch_size", "must be in 1-1000 (the chain's max_receipts_per_msg)")
	}
	if c.Receipts.SubmitInterval < 100*time.Millisecond {
		bad("receipts.submit_interval", "must be at least 100ms")
	}
	if c.Probes.Duration < time.Second || c.Probes.Duration > 5*time.Minute {
		bad("probes.duration", "must be from 1s to 5m, got %s", c.Probes.Duration)
	}
	if c.Probes.TargetKbps < 50 || c.Probes.TargetKbps > 20_000 {
		bad("probes.target_kbps", "must be from 50 to 20000, got %d", c.Probes.TargetKbps)
	}
	if c.Probes.CheckInterval < time.Second {
		bad("probes.check_interval", "must be at least 1s, got %s", c.Probes.CheckInterval)
	}
	if c.Webhooks.URL != "" {
		if u, err := url.Parse(c.Webhooks.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("webhooks.url", "must be an absolute http(s) URL, got %q", c.Webhooks.URL)
		}
		if len(c.Webhooks.Secret) < 16 {
			bad("webhooks.secret", "must be at least 16 characters when webhooks.url is set")
		}
	}
	if c.Receipts.ClientBytesFactor < 1 {
		bad("receipts.client_bytes_factor", "must be at least 1")
	}
	return errors.Join(errs...)
}

// ValidOrigin reports whether o is a web origin (RFC 6454): http or https,
// a host, an optional port, and nothing else (no path, query, user or
// wildcard) — what CSP frame-ancestors may list safely.
func ValidOrigin(o string) bool {
	u, err := url.Parse(o)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return false
	}
	if u.Path != "" || u.RawQuery != "" || u.Fragment != "" || strings.ContainsAny(u.Host, "*;, '\"") {
		return false
	}
	return u.Scheme+"://"+u.Host == o
}
