package format

import (
	"crypto/ed25519"
	"encoding/binary"
	"errors"
	"fmt"
)

// ObjectGrantBinding is an orchestrator's signature over a GrantBinding.
const ObjectGrantBinding = "grant-binding"

// SignBytes are the bytes the client signs (Ed25519) for a usage
// statement; all integers are uint64 big-endian:
//
//	"chroom/usage-statement/v1" 0x00 chain-id 0x00 grant-id 0x00
//	seq elapsed_ms bytes_received frames_decoded
//	packets_received packets_lost bytes_sent audio_samples
//
// A fixed binary layout rather than protobuf, so a browser can build it
// without a protobuf library (orchestrator/web/static/js/attest.js).
func (s *UsageStatement) SignBytes(chainID string) ([]byte, error) {
	if s == nil || s.GrantId == "" {
		return nil, errors.New("usage statement: grant ID is empty")
	}
	return SignBytes(ObjectUsageStatement, chainID, s.payload())
}

// Verify reports whether sig is pub's Ed25519 signature of s for chainID
// (ZIP-215 rules, as for receipts).
func (s *UsageStatement) Verify(pub []byte, chainID string, sig []byte) bool {
	if s == nil || len(pub) != ed25519.PublicKeySize || len(sig) != SignatureBytes || s.GrantId == "" {
		return false
	}
	return Verify(pub, ObjectUsageStatement, chainID, s.payload(), sig)
}

// Sign returns key's signature of s for chainID (clients written in Go,
// tests and the economic simulation).
func (s *UsageStatement) Sign(key ed25519.PrivateKey, chainID string) ([]byte, error) {
	msg, err := s.SignBytes(chainID)
	if err != nil {
		return nil, err
	}
	return ed25519.Sign(key, msg), nil
}

func (s *UsageStatement) payload() []byte {
	p := make([]byte, 0, len(s.GrantId)+1+64)
	p = append(p, s.GrantId...)
	p = append(p, 0)
	for _, v := range []uint64{s.Seq, s.ElapsedMs, s.BytesReceived, s.FramesDecoded,
		s.PacketsReceived, s.PacketsLost, s.BytesSent, s.AudioSamples} {
		p = binary.BigEndian.AppendUint64(p, v)
	}
	return p
}

// Validate checks the binding's shape: grant ID 1–128 bytes, both node
// IDs present, room hash 32 bytes, client key 32 bytes, nbf < exp.
func (g *GrantBinding) Validate() error {
	switch {
	case g == nil:
		return errors.New("grant binding is missing")
	case g.GrantId == "" || len(g.GrantId) > 128:
		return fmt.Errorf("grant_id must be 1–128 bytes, got %d", len(g.GrantId))
	case g.OrchestratorId == "" || g.MediaNodeId == "":
		return errors.New("grant binding needs orchestrator_id and media_node_id")
	case len(g.RoomHash) != RoomHashBytes:
		return fmt.Errorf("grant room_hash must be %d bytes, got %d", RoomHashBytes, len(g.RoomHash))
	case len(g.ClientKey) != ed25519.PublicKeySize:
		return fmt.Errorf("grant client_key must be %d bytes, got %d", ed25519.PublicKeySize, len(g.ClientKey))
	case g.NotBeforeUnixMs >= g.ExpiresUnixMs:
		return errors.New("grant not_before must be before expires")
	}
	return nil
}

// SignGrantBinding signs g as its issuer k (object kind "grant-binding").
func SignGrantBinding(k *NodeKey, chainID string, g *GrantBinding) ([]byte, error) {
	if k.ID != g.OrchestratorId {
		return nil, fmt.Errorf("key is node %s but the grant's issuer is %s", k.ID, g.OrchestratorId)
	}
	payload, err := g.Marshal()
	if err != nil {
		return nil, err
	}
	return k.Sign(ObjectGrantBinding, chainID, payload)
}

// CheckAttestation checks the parts of a client attestation that need no
// keys: its shape, that the grant is r's (issuer, media node, room, app,
// and session_id = GrantSessionID(issuer, grant_id, connection)), that
// r's segment lies within the grant's validity ± graceMs, and that the
// statement is the grant's. The two signatures are checked separately
// (AttestationSignBytes), so a verifier can batch them.
func CheckAttestation(r *UsageReceipt, a *ClientAttestation, graceMs int64) error {
	if a == nil {
		return errors.New("attestation is missing")
	}
	g := a.Grant
	if err := g.Validate(); err != nil {
		return err
	}
	st := a.Statement
	switch {
	case st == nil:
		return errors.New("attestation has no usage statement")
	case len(a.GrantSignature) != SignatureBytes || len(a.StatementSignature) != SignatureBytes:
		return errors.New("attestation signatures must be 64 bytes")
	case st.GrantId != g.GrantId:
		return fmt.Errorf("the statement is for grant %q, the attestation's grant is %q", st.GrantId, g.GrantId)
	case g.OrchestratorId != r.OrchestratorId || g.MediaNodeId != r.MediaNodeId:
		return errors.New("the grant was issued by another orchestrator or for another media node")
	case string(g.RoomHash) != string(r.RoomHash):
		return errors.New("the grant is for another room")
	case g.AppId != r.AppId:
		return fmt.Errorf("the grant bills app %q, the receipt app %q", g.AppId, r.AppId)
	case string(GrantSessionID(g.OrchestratorId, g.GrantId, a.Connection)) != string(r.SessionId):
		return fmt.Errorf("session_id is not connection %d of grant %s", a.Connection, g.GrantId)
	case r.StartUnixMs < g.NotBeforeUnixMs-graceMs || r.EndUnixMs > g.ExpiresUnixMs+graceMs:
		return errors.New("the segment lies outside the grant's validity")
	case st.PacketsLost > st.PacketsLost+st.PacketsReceived:
		return errors.New("statement packet counts overflow")
	}
	return nil
}

// AttestationSignBytes returns the signed bytes of the grant binding (to
// verify with the orchestrator's key) and of the statement (with the
// grant's client key).
func AttestationSignBytes(chainID string, a *ClientAttestation) (grant, statement []byte, err error) {
	payload, err := a.Grant.Marshal()
	if err != nil {
		return nil, nil, err
	}
	if grant, err = SignBytes(ObjectGrantBinding, chainID, payload); err != nil {
		return nil, nil, err
	}
	if statement, err = a.Statement.SignBytes(chainID); err != nil {
		return nil, nil, err
	}
	return grant, statement, nil
}
