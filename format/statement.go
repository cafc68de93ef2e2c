package format

import (
	"crypto/ed25519"
	"encoding/binary"
	"errors"
)

// UsageStatement is what a client attests about its own session, signed
// with the key its join grant binds (grant cnf, RFC 7800) and sent to the
// orchestrator every few seconds and when it leaves. Its figures are
// cumulative since the join.
type UsageStatement struct {
	// GrantID is the grant's jti.
	GrantID string
	// Seq numbers the statements of one grant from 1, strictly increasing.
	Seq uint64
	// ElapsedMs is the time since the client received its grant, ms.
	ElapsedMs uint64
	// BytesReceived is inbound-rtp bytesReceived summed over tracks;
	// FramesDecoded inbound-rtp framesDecoded summed over video tracks.
	BytesReceived, FramesDecoded uint64
}

// SignBytes are the bytes the client signs (Ed25519):
//
//	"chroom/usage-statement/v1" 0x00 chain-id 0x00 grant-id 0x00
//	uint64be(seq) uint64be(elapsed_ms) uint64be(bytes_received) uint64be(frames_decoded)
func (s UsageStatement) SignBytes(chainID string) ([]byte, error) {
	if s.GrantID == "" {
		return nil, errors.New("usage statement: grant ID is empty")
	}
	return SignBytes(ObjectUsageStatement, chainID, s.payload())
}

// Verify reports whether sig is pub's Ed25519 signature of s for chainID
// (ZIP-215 rules, as for receipts).
func (s UsageStatement) Verify(pub []byte, chainID string, sig []byte) bool {
	if len(pub) != ed25519.PublicKeySize || len(sig) != SignatureBytes || s.GrantID == "" {
		return false
	}
	return Verify(pub, ObjectUsageStatement, chainID, s.payload(), sig)
}

func (s UsageStatement) payload() []byte {
	p := make([]byte, 0, len(s.GrantID)+1+32)
	p = append(p, s.GrantID...)
	p = append(p, 0)
	for _, v := range []uint64{s.Seq, s.ElapsedMs, s.BytesReceived, s.FramesDecoded} {
		p = binary.BigEndian.AppendUint64(p, v)
	}
	return p
}
