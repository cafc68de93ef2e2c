package format

import (
	"bytes"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/cosmos/gogoproto/jsonpb"
)

// MaxProbeErrorBytes bounds ProbeResult.Error.
const MaxProbeErrorBytes = 256

// ValidateBasic checks a probe result's fields on their own: node IDs well
// formed and distinct, epoch > 0, started_unix_ms > 0, loss_permille ≤
// 1000, target_kbps > 0, error valid UTF-8 of at most MaxProbeErrorBytes,
// and an error exactly when the probe did not connect.
func (r *ProbeResult) ValidateBasic() error {
	if r == nil {
		return errors.New("probe result is missing")
	}
	if err := ValidateNodeID(r.MediaNodeId); err != nil {
		return fmt.Errorf("media_node_id: %w", err)
	}
	if err := ValidateNodeID(r.ProberId); err != nil {
		return fmt.Errorf("prober_id: %w", err)
	}
	if r.MediaNodeId == r.ProberId {
		return errors.New("a node cannot probe itself")
	}
	if r.Epoch <= 0 {
		return fmt.Errorf("epoch must be positive, got %d", r.Epoch)
	}
	if r.StartedUnixMs <= 0 {
		return fmt.Errorf("started_unix_ms must be positive, got %d", r.StartedUnixMs)
	}
	if r.LossPermille > 1000 {
		return fmt.Errorf("loss_permille is at most 1000, got %d", r.LossPermille)
	}
	if r.TargetKbps == 0 {
		return errors.New("target_kbps must be positive")
	}
	if len(r.Error) > MaxProbeErrorBytes || !utf8.ValidString(r.Error) {
		return fmt.Errorf("error must be valid UTF-8 of at most %d bytes", MaxProbeErrorBytes)
	}
	if r.Connected != (r.Error == "") {
		return errors.New("a probe has an error exactly when it did not connect")
	}
	return nil
}

// SignProbe returns r signed by the prober's node key k for chainID
// (ObjectProbeResult over r's encoding). It fails if r is malformed or k is
// not r's prober.
func SignProbe(k *NodeKey, chainID string, r ProbeResult) (*SignedProbeResult, error) {
	if err := r.ValidateBasic(); err != nil {
		return nil, err
	}
	if k.ID != r.ProberId {
		return nil, fmt.Errorf("key is node %s but the probe's prober_id is %s", k.ID, r.ProberId)
	}
	payload, err := r.Marshal()
	if err != nil {
		return nil, err
	}
	sig, err := k.Sign(ObjectProbeResult, chainID, payload)
	if err != nil {
		return nil, err
	}
	return &SignedProbeResult{Result: &r, Signature: sig}, nil
}

// Verify reports whether s carries a valid signature of its result by
// pubkey for chainID.
func (s *SignedProbeResult) Verify(pubkey []byte, chainID string) bool {
	if s == nil || s.Result == nil || len(s.Signature) != SignatureBytes {
		return false
	}
	payload, err := s.Result.Marshal()
	if err != nil {
		return false
	}
	return Verify(pubkey, ObjectProbeResult, chainID, payload, s.Signature)
}

// MarshalJSON encodes s as proto3 JSON.
func (s *SignedProbeResult) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	if err := jsonMarshaler.Marshal(&buf, s); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// UnmarshalJSON decodes proto3 JSON into s; unknown fields are an error.
func (s *SignedProbeResult) UnmarshalJSON(data []byte) error {
	return jsonpb.Unmarshal(bytes.NewReader(data), s)
}
