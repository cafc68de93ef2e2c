package registryview

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"

	"github.com/chroom/chroom/format"
)

// Node types, as Node.Type holds them.
const (
	TypeMedia        = "media"
	TypeOrchestrator = "orchestrator"
)

// Node statuses, as Node.Status holds them (x/registry README, "Status
// machine").
const (
	StatusActive    = "active"
	StatusJailed    = "jailed"
	StatusUnbonding = "unbonding"
)

// Node is one registered node as the view holds it: the fields of
// chroom.registry.v1.Node that media nodes and orchestrators act on. Every
// Node in a view has a valid 32-byte Pubkey whose node ID is ID.
type Node struct {
	// ID is the node ID: lowercase hex of SHA-256(Pubkey)[0:20].
	ID string
	// Type is TypeMedia or TypeOrchestrator.
	Type string
	// Status is StatusActive, StatusJailed or StatusUnbonding.
	Status string
	// Operator is the operator's bech32 account address (chroom1…).
	Operator string
	// Moniker is the operator's human-readable name for the node.
	Moniker string
	// Region is an ISO 3166-1 alpha-2 code with an optional sub-region, e.g.
	// "DE" or "US-CA".
	Region string
	// Pubkey is the node's ed25519 public key (32 bytes).
	Pubkey ed25519.PublicKey
	// Endpoints are the node's public URLs: http(s)/ws(s) for signaling,
	// WHIP, WHEP and RPC; turn(s)/stun(s) URIs for ICE.
	Endpoints []string
	// MaxSessions is the declared number of concurrent participant sessions.
	MaxSessions uint32
	// MaxEgressKbps is the declared outbound bandwidth in kilobits per second.
	MaxEgressKbps uint64
	// Quality is the on-chain quality score in [0, 1], converted from a
	// fixed-point decimal to float64 for display only; never compute rewards
	// or make consensus decisions with it.
	Quality float64
}

// clone returns a copy of n that shares no slices with it.
func (n Node) clone() Node {
	n.Pubkey = bytes.Clone(n.Pubkey)
	n.Endpoints = slices.Clone(n.Endpoints)
	return n
}

// wirePage is QueryNodesResponse as chroomd's REST gateway writes it
// (gogoproto JSON: original field names, enums as names, 64-bit integers as
// strings, bytes as standard base64). Nodes are kept raw so that one bad
// record is skipped rather than failing the page.
type wirePage struct {
	Nodes      []json.RawMessage `json:"nodes"`
	Pagination *struct {
		// NextKey is base64; null or absent on the last page.
		NextKey *string `json:"next_key"`
	} `json:"pagination"`
}

// wireNode is the part of chroom.registry.v1.Node that the view reads;
// other fields (stake, heights, times, slash history) are ignored.
type wireNode struct {
	ID        string   `json:"id"`
	NodeType  enum     `json:"node_type"`
	Operator  string   `json:"operator"`
	Pubkey    string   `json:"pubkey"`
	Moniker   string   `json:"moniker"`
	Endpoints []string `json:"endpoints"`
	Region    string   `json:"region"`
	Capacity  struct {
		MaxSessions   flexUint `json:"max_sessions"`
		MaxEgressKbps flexUint `json:"max_egress_kbps"`
	} `json:"capacity"`
	Status enum `json:"status"`
	Stats  struct {
		QualityScore flexFloat `json:"quality_score"`
	} `json:"stats"`
}

// decodeNode decodes and checks one node record. The error says what is
// wrong and names the record's id if it has one.
func decodeNode(raw json.RawMessage) (Node, error) {
	var w wireNode
	if err := json.Unmarshal(raw, &w); err != nil {
		return Node{}, fmt.Errorf("node record is not valid JSON for a node: %w", err)
	}
	n, err := w.node()
	if err != nil {
		return Node{}, fmt.Errorf("node %q: %w", w.ID, err)
	}
	return n, nil
}

func (w *wireNode) node() (Node, error) {
	pub, err := decodeBase64(w.Pubkey)
	if err != nil {
		return Node{}, errors.New("pubkey is not base64")
	}
	if err := format.ValidatePublicKey(pub); err != nil {
		return Node{}, err
	}
	id, err := format.NodeID(pub)
	if err != nil {
		return Node{}, err
	}
	if id != w.ID {
		return Node{}, fmt.Errorf("id does not match its pubkey, whose node ID is %s", id)
	}
	var typ string
	switch w.NodeType {
	case "NODE_TYPE_MEDIA", "1":
		typ = TypeMedia
	case "NODE_TYPE_ORCHESTRATOR", "2":
		typ = TypeOrchestrator
	default:
		return Node{}, fmt.Errorf("unknown node_type %q", string(w.NodeType))
	}
	var status string
	switch w.Status {
	case "NODE_STATUS_ACTIVE", "1":
		status = StatusActive
	case "NODE_STATUS_JAILED", "2":
		status = StatusJailed
	case "NODE_STATUS_UNBONDING", "3":
		status = StatusUnbonding
	default:
		return Node{}, fmt.Errorf("unknown status %q", string(w.Status))
	}
	if w.Capacity.MaxSessions > math.MaxUint32 {
		return Node{}, fmt.Errorf("capacity.max_sessions %d does not fit in 32 bits", w.Capacity.MaxSessions)
	}
	return Node{
		ID:            id,
		Type:          typ,
		Status:        status,
		Operator:      w.Operator,
		Moniker:       w.Moniker,
		Region:        w.Region,
		Pubkey:        ed25519.PublicKey(pub),
		Endpoints:     w.Endpoints,
		MaxSessions:   uint32(w.Capacity.MaxSessions),
		MaxEgressKbps: uint64(w.Capacity.MaxEgressKbps),
		Quality:       float64(w.Stats.QualityScore),
	}, nil
}

// decodeBase64 accepts what protobuf JSON accepts for bytes: standard or
// URL-safe base64, padded or not.
func decodeBase64(s string) ([]byte, error) {
	var err error
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		var b []byte
		if b, err = enc.DecodeString(s); err == nil {
			return b, nil
		}
	}
	return nil, err
}

// enum is a protobuf enum in JSON: its name ("NODE_STATUS_ACTIVE") or its
// number (1), held as the name or the decimal number.
type enum string

func (e *enum) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*e = ""
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*e = enum(s)
		return nil
	}
	var i int32
	if err := json.Unmarshal(b, &i); err != nil {
		return fmt.Errorf("enum must be a name or a number: %w", err)
	}
	*e = enum(strconv.FormatInt(int64(i), 10))
	return nil
}

// flexUint is an unsigned integer written as a JSON number or, as
// protobuf JSON writes 64-bit integers, a decimal string.
type flexUint uint64

func (u *flexUint) UnmarshalJSON(b []byte) error {
	s := string(b)
	if s == "null" {
		*u = 0
		return nil
	}
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		s = s[1 : len(s)-1]
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return errors.New("want an unsigned integer, as a number or a decimal string")
	}
	*u = flexUint(v)
	return nil
}

// flexFloat is a decimal written as a JSON string (cosmos.Dec, e.g.
// "0.900000000000000000") or number. It is for display, so a value that
// does not parse reads as 0 instead of failing the record.
type flexFloat float64

func (f *flexFloat) UnmarshalJSON(b []byte) error {
	s := string(b)
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		s = s[1 : len(s)-1]
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		v = 0
	}
	*f = flexFloat(v)
	return nil
}
