package types

import (
	"net"
	"net/url"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	errorsmod "cosmossdk.io/errors"
	"golang.org/x/text/language"

	"github.com/chroom/chroom/format"
)

// ValidateNodeType accepts MEDIA and ORCHESTRATOR.
func ValidateNodeType(t NodeType) error {
	switch t {
	case NodeType_NODE_TYPE_MEDIA, NodeType_NODE_TYPE_ORCHESTRATOR:
		return nil
	default:
		return errorsmod.Wrapf(ErrInvalidNodeType, "node_type must be media or orchestrator, got %s", t)
	}
}

// NodeIDFromPubkey checks that pubkey is a 32-byte ed25519 public key
// outside the small-order subgroup and returns its node ID.
func NodeIDFromPubkey(pubkey []byte) (string, error) {
	if err := format.ValidatePublicKey(pubkey); err != nil {
		return "", errorsmod.Wrap(ErrInvalidPubkey, err.Error())
	}
	id, err := format.NodeID(pubkey)
	if err != nil {
		return "", errorsmod.Wrap(ErrInvalidPubkey, err.Error())
	}
	return id, nil
}

// ValidateNodeID checks the shape of a node ID (40 lowercase hex characters).
func ValidateNodeID(id string) error {
	if err := format.ValidateNodeID(id); err != nil {
		return errorsmod.Wrapf(ErrInvalidNodeID, "node_id: %s", err)
	}
	return nil
}

// ValidateMoniker accepts 1 to 70 bytes of printable UTF-8.
func ValidateMoniker(m string) error {
	if m == "" {
		return errorsmod.Wrap(ErrInvalidMoniker, "moniker is empty")
	}
	if len(m) > MaxMonikerLength {
		return errorsmod.Wrapf(ErrInvalidMoniker, "moniker is %d bytes, at most %d allowed", len(m), MaxMonikerLength)
	}
	if !utf8.ValidString(m) {
		return errorsmod.Wrap(ErrInvalidMoniker, "moniker is not valid UTF-8")
	}
	for _, r := range m {
		if !unicode.IsPrint(r) {
			return errorsmod.Wrapf(ErrInvalidMoniker, "moniker contains the non-printable character %q", r)
		}
	}
	return nil
}

// ValidateRegion accepts an ISO 3166-1 alpha-2 country code, optionally
// followed by a dash and an ISO 3166-2 subdivision of 1 to 3 uppercase
// letters or digits: "DE", "US-CA". The country must be a current country
// code as golang.org/x/text/language knows it (its CLDR tables); deprecated
// aliases such as "UK" are refused with the canonical code.
func ValidateRegion(region string) error {
	country, sub, hasSub := strings.Cut(region, "-")
	if len(country) != 2 || country[0] < 'A' || country[0] > 'Z' || country[1] < 'A' || country[1] > 'Z' {
		return errorsmod.Wrapf(ErrInvalidRegion, "region %q must start with an ISO 3166-1 alpha-2 country code in capitals, e.g. DE or US-CA", region)
	}
	r, err := language.ParseRegion(country)
	if err != nil || !r.IsCountry() {
		return errorsmod.Wrapf(ErrInvalidRegion, "region %q: %s is not an ISO 3166-1 country code", region, country)
	}
	if canonical := r.Canonicalize().String(); canonical != country {
		return errorsmod.Wrapf(ErrInvalidRegion, "region %q: %s is deprecated, use %s", region, country, canonical)
	}
	if hasSub {
		if len(sub) < 1 || len(sub) > 3 {
			return errorsmod.Wrapf(ErrInvalidRegion, "region %q: sub-region must be 1 to 3 characters", region)
		}
		for _, c := range sub {
			if (c < 'A' || c > 'Z') && (c < '0' || c > '9') {
				return errorsmod.Wrapf(ErrInvalidRegion, "region %q: sub-region may hold only A-Z and 0-9", region)
			}
		}
	}
	return nil
}

// Country returns the ISO 3166-1 part of a valid region ("US" of "US-CA").
func Country(region string) string {
	country, _, _ := strings.Cut(region, "-")
	return country
}

// ValidateCapacity requires both limits to be positive.
func ValidateCapacity(c Capacity) error {
	if c.MaxSessions == 0 {
		return errorsmod.Wrap(ErrInvalidCapacity, "max_sessions must be greater than zero")
	}
	if c.MaxEgressKbps == 0 {
		return errorsmod.Wrap(ErrInvalidCapacity, "max_egress_kbps must be greater than zero")
	}
	return nil
}

// ValidateEndpoints checks a node's endpoint list: 1 to 16 distinct
// absolute URLs of at most 512 bytes, at least one of them http(s) or
// ws(s). http, https, ws and wss URLs need a host and no user info;
// turn, turns, stun and stuns URIs follow RFC 7065 / RFC 7064
// (scheme:host[:port][?transport=udp|tcp]).
func ValidateEndpoints(endpoints []string) error {
	if len(endpoints) == 0 {
		return errorsmod.Wrap(ErrInvalidEndpoint, "endpoints must list at least one https:// URL")
	}
	if len(endpoints) > MaxEndpoints {
		return errorsmod.Wrapf(ErrInvalidEndpoint, "endpoints lists %d URLs, at most %d allowed", len(endpoints), MaxEndpoints)
	}
	seen := make(map[string]bool, len(endpoints))
	hasWeb := false
	for i, e := range endpoints {
		if seen[e] {
			return errorsmod.Wrapf(ErrInvalidEndpoint, "endpoints[%d] %q is listed twice", i, e)
		}
		seen[e] = true
		web, err := validateEndpoint(e)
		if err != nil {
			return errorsmod.Wrapf(ErrInvalidEndpoint, "endpoints[%d] %q: %s", i, e, err)
		}
		hasWeb = hasWeb || web
	}
	if !hasWeb {
		return errorsmod.Wrap(ErrInvalidEndpoint, "endpoints must include at least one http(s) or ws(s) URL")
	}
	return nil
}

type endpointError string

func (e endpointError) Error() string { return string(e) }

// validateEndpoint checks one endpoint and reports whether it is a web
// (http/https/ws/wss) URL.
func validateEndpoint(e string) (web bool, err error) {
	if len(e) > MaxEndpointLength {
		return false, endpointError("longer than " + strconv.Itoa(MaxEndpointLength) + " bytes")
	}
	for _, r := range e {
		if r <= ' ' || r == 0x7f {
			return false, endpointError("contains whitespace or a control character")
		}
	}
	u, perr := url.Parse(e)
	if perr != nil {
		return false, endpointError("not a URL")
	}
	switch u.Scheme {
	case "http", "https", "ws", "wss":
		if u.Host == "" || u.Hostname() == "" {
			return false, endpointError("must be an absolute URL with a host, e.g. https://node.example.com")
		}
		if u.User != nil {
			return false, endpointError("must not contain user info")
		}
		if p := u.Port(); p != "" {
			if err := validatePort(p); err != nil {
				return false, err
			}
		}
		return true, nil
	case "turn", "turns", "stun", "stuns":
		if u.Opaque == "" {
			return false, endpointError("must have the form " + u.Scheme + ":host[:port] (RFC 7065)")
		}
		hostport := u.Opaque
		host := hostport
		if strings.Contains(hostport, ":") {
			h, port, serr := net.SplitHostPort(hostport)
			if serr != nil {
				return false, endpointError("host:port is malformed")
			}
			if err := validatePort(port); err != nil {
				return false, err
			}
			host = h
		}
		if host == "" {
			return false, endpointError("has no host")
		}
		if u.RawQuery != "" {
			if !strings.HasPrefix(u.Scheme, "turn") {
				return false, endpointError("stun URIs take no query")
			}
			if u.RawQuery != "transport=udp" && u.RawQuery != "transport=tcp" {
				return false, endpointError("the only query allowed is transport=udp or transport=tcp")
			}
		}
		return false, nil
	case "":
		return false, endpointError("must be absolute: add a scheme such as https:// or turn:")
	default:
		return false, endpointError("scheme " + u.Scheme + " is not one of http, https, ws, wss, turn, turns, stun, stuns")
	}
}

func validatePort(p string) error {
	n, err := strconv.Atoi(p)
	if err != nil || n < 1 || n > 65535 {
		return endpointError("port " + p + " is not in 1-65535")
	}
	return nil
}
