package format

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/cosmos/gogoproto/jsonpb"
	"github.com/hdevalence/ed25519consensus"
)

const (
	// SessionIDBytes is the length of a session ID.
	SessionIDBytes = 32
	// RoomHashBytes is the length of a room hash (SHA-256).
	RoomHashBytes = sha256.Size
	// SignatureBytes is the length of an ed25519 signature.
	SignatureBytes = 64
)

// RoomHash returns the room_hash of a room name: SHA-256 of its UTF-8 bytes.
func RoomHash(room string) []byte {
	sum := sha256.Sum256([]byte(room))
	return sum[:]
}

// GrantSessionID returns the session_id of the conn-th connection (0 for
// the first) that a media node served with the join grant jti issued by
// orchestrator issuer (a node ID):
//
//	SHA-256("chroom/grant-session/v1" 0x00 issuer 0x00 jti 0x00 uint32be(conn))
//
// It binds every receipt to one grant, so the orchestrator can check the
// receipt against its own record of that grant's session (and a receipt
// with a made-up session_id matches no grant). The connection index keeps
// the chain's replay key (epoch, media node, session_id) distinct when a
// client reconnects with the same grant.
func GrantSessionID(issuer, jti string, conn uint32) []byte {
	h := sha256.New()
	h.Write([]byte("chroom/grant-session/v1\x00"))
	h.Write([]byte(issuer))
	h.Write([]byte{0})
	h.Write([]byte(jti))
	h.Write([]byte{0, byte(conn >> 24), byte(conn >> 16), byte(conn >> 8), byte(conn)})
	return h.Sum(nil)
}

// ValidateBasic checks the receipt's shape without any chain state:
// session_id and room_hash are 32 bytes, both node IDs are well formed,
// epoch is positive, 0 < start ≤ end, and packets_lost ≤ packets_sent
// (a loss ratio in [0, 1]).
func (r *UsageReceipt) ValidateBasic() error {
	if r == nil {
		return errors.New("receipt is missing")
	}
	if len(r.SessionId) != SessionIDBytes {
		return fmt.Errorf("session_id must be %d bytes, got %d", SessionIDBytes, len(r.SessionId))
	}
	if len(r.RoomHash) != RoomHashBytes {
		return fmt.Errorf("room_hash must be %d bytes, got %d", RoomHashBytes, len(r.RoomHash))
	}
	if err := ValidateNodeID(r.MediaNodeId); err != nil {
		return fmt.Errorf("media_node_id: %w", err)
	}
	if err := ValidateNodeID(r.OrchestratorId); err != nil {
		return fmt.Errorf("orchestrator_id: %w", err)
	}
	if r.Epoch <= 0 {
		return fmt.Errorf("epoch must be positive, got %d", r.Epoch)
	}
	if r.StartUnixMs <= 0 || r.EndUnixMs < r.StartUnixMs {
		return fmt.Errorf("need 0 < start_unix_ms <= end_unix_ms, got %d and %d", r.StartUnixMs, r.EndUnixMs)
	}
	if r.PacketsLost > r.PacketsSent {
		return fmt.Errorf("packets_lost %d exceeds packets_sent %d (loss ratio above 1)", r.PacketsLost, r.PacketsSent)
	}
	return nil
}

// DurationSeconds is the segment length in whole seconds (truncated).
func (r *UsageReceipt) DurationSeconds() uint64 {
	if r.EndUnixMs <= r.StartUnixMs {
		return 0
	}
	return uint64(r.EndUnixMs-r.StartUnixMs) / 1000
}

// SessionIDHex is the session ID in lowercase hex, as events and logs show it.
func (r *UsageReceipt) SessionIDHex() string { return hex.EncodeToString(r.SessionId) }

// SignBytes returns the bytes the media node signs for r on chainID:
// SignBytes(ObjectUsageReceipt, chainID, gogoproto encoding of r).
func (r *UsageReceipt) SignBytes(chainID string) ([]byte, error) {
	payload, err := r.Marshal()
	if err != nil {
		return nil, fmt.Errorf("encode receipt: %w", err)
	}
	return SignBytes(ObjectUsageReceipt, chainID, payload)
}

// Hash is SHA-256 of the receipt's encoding: two receipts with the same
// hash have the same contents.
func (r *UsageReceipt) Hash() ([]byte, error) {
	payload, err := r.Marshal()
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(payload)
	return sum[:], nil
}

// SignReceipt returns r signed by the media node key k for chainID. It
// fails if r is malformed or k is not r's media node.
func SignReceipt(k *NodeKey, chainID string, r UsageReceipt) (*SignedReceipt, error) {
	if err := r.ValidateBasic(); err != nil {
		return nil, err
	}
	if k.ID != r.MediaNodeId {
		return nil, fmt.Errorf("key is node %s but the receipt's media_node_id is %s", k.ID, r.MediaNodeId)
	}
	payload, err := r.Marshal()
	if err != nil {
		return nil, err
	}
	sig, err := k.Sign(ObjectUsageReceipt, chainID, payload)
	if err != nil {
		return nil, err
	}
	return &SignedReceipt{Receipt: &r, MediaNodeSignature: sig}, nil
}

// Countersign adds the orchestrator key k's countersignature to s for
// chainID. It fails if k is not s's orchestrator or the media node
// signature is missing (the orchestrator checks it against the media
// node's registered key with VerifyMediaNodeSignature first).
func Countersign(k *NodeKey, chainID string, s *SignedReceipt) error {
	if s.Receipt == nil {
		return errors.New("signed receipt has no receipt")
	}
	if len(s.MediaNodeSignature) != SignatureBytes {
		return errors.New("receipt has no media node signature")
	}
	if k.ID != s.Receipt.OrchestratorId {
		return fmt.Errorf("key is node %s but the receipt's orchestrator_id is %s", k.ID, s.Receipt.OrchestratorId)
	}
	payload, err := s.Receipt.Marshal()
	if err != nil {
		return err
	}
	sig, err := k.Sign(ObjectReceiptCountersignature, chainID, payload)
	if err != nil {
		return err
	}
	s.OrchestratorSignature = sig
	return nil
}

// VerifyMediaNodeSignature reports whether s carries a valid media node
// signature by pubkey for chainID.
func (s *SignedReceipt) VerifyMediaNodeSignature(pubkey []byte, chainID string) bool {
	return s.verify(pubkey, ObjectUsageReceipt, chainID, s.MediaNodeSignature)
}

// VerifyCountersignature reports whether s carries a valid orchestrator
// countersignature by pubkey for chainID.
func (s *SignedReceipt) VerifyCountersignature(pubkey []byte, chainID string) bool {
	return s.verify(pubkey, ObjectReceiptCountersignature, chainID, s.OrchestratorSignature)
}

func (s *SignedReceipt) verify(pubkey []byte, object, chainID string, sig []byte) bool {
	if s.Receipt == nil {
		return false
	}
	payload, err := s.Receipt.Marshal()
	if err != nil {
		return false
	}
	return Verify(pubkey, object, chainID, payload, sig)
}

// SameContents reports whether two receipts encode identically.
func SameContents(a, b *UsageReceipt) bool {
	ea, errA := a.Marshal()
	eb, errB := b.Marshal()
	return errA == nil && errB == nil && bytes.Equal(ea, eb)
}

// jsonMarshaler writes proto3 JSON with the proto field names
// (snake_case), bytes in base64 and 64-bit integers as strings.
var jsonMarshaler = jsonpb.Marshaler{OrigName: true, Indent: "  "}

// MarshalJSON encodes s as proto3 JSON, the form operator tools print and
// `chroomd tx verification submit-receipts` reads.
func (s *SignedReceipt) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	if err := jsonMarshaler.Marshal(&buf, s); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// UnmarshalJSON decodes proto3 JSON into s; unknown fields are an error.
func (s *SignedReceipt) UnmarshalJSON(data []byte) error {
	return jsonpb.Unmarshal(bytes.NewReader(data), s)
}

// MarshalJSON encodes r as proto3 JSON.
func (r *UsageReceipt) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	if err := jsonMarshaler.Marshal(&buf, r); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// UnmarshalJSON decodes proto3 JSON into r; unknown fields are an error.
func (r *UsageReceipt) UnmarshalJSON(data []byte) error {
	return jsonpb.Unmarshal(bytes.NewReader(data), r)
}

// verifyEd25519 checks one signature with ZIP-215 rules, the rules the
// chain's batch verifier applies, so tools and chain agree on every
// signature.
func verifyEd25519(pubkey, msg, sig []byte) bool {
	return ed25519consensus.Verify(pubkey, msg, sig)
}
