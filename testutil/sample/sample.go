// Package sample makes valid test fixtures: accounts, node keys and
// registration messages.
package sample

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"time"

	sdkmath "cosmossdk.io/math"
	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/chroom/chroom/format"
	registrytypes "github.com/chroom/chroom/x/registry/types"
)

// AccAddress returns a deterministic account address for seed n.
func AccAddress(n int) sdk.AccAddress {
	sum := sha256.Sum256([]byte(fmt.Sprintf("chroom-test-account-%d", n)))
	return sdk.AccAddress(sum[:20])
}

// NodeKey returns a deterministic node key for seed n.
func NodeKey(n int) *format.NodeKey {
	seed := sha256.Sum256(binary.BigEndian.AppendUint64([]byte("chroom-test-node-key"), uint64(n)))
	k, err := format.NodeKeyFromSeed(seed[:])
	if err != nil {
		panic(err)
	}
	return k
}

// Uchr returns amount uchr.
func Uchr(amount int64) sdk.Coin { return sdk.NewCoin("uchr", sdkmath.NewInt(amount)) }

// RegisterMediaNode returns a valid MsgRegisterNode for a media node with
// key seed n, operated by operator, in region, staking 5 CHR.
func RegisterMediaNode(operator sdk.AccAddress, n int, region string) *registrytypes.MsgRegisterNode {
	return &registrytypes.MsgRegisterNode{
		Operator:      operator.String(),
		NodeType:      registrytypes.NodeType_NODE_TYPE_MEDIA,
		Pubkey:        NodeKey(n).PublicKey,
		Moniker:       fmt.Sprintf("media-%d", n),
		Endpoints:     []string{fmt.Sprintf("https://media-%d.example.com", n), fmt.Sprintf("turn:media-%d.example.com:3478?transport=udp", n)},
		Region:        region,
		MaxSessions:   500,
		MaxEgressKbps: 1_000_000,
		Stake:         Uchr(5_000_000),
	}
}

// RegisterOrchestrator returns a valid MsgRegisterNode for an orchestrator
// with key seed n, staking 5 CHR.
func RegisterOrchestrator(operator sdk.AccAddress, n int, region string) *registrytypes.MsgRegisterNode {
	m := RegisterMediaNode(operator, n, region)
	m.NodeType = registrytypes.NodeType_NODE_TYPE_ORCHESTRATOR
	m.Moniker = fmt.Sprintf("orchestrator-%d", n)
	return m
}

// SessionID returns a deterministic 32-byte session ID for seed n.
func SessionID(n int) []byte {
	sum := sha256.Sum256(binary.BigEndian.AppendUint64([]byte("chroom-test-session"), uint64(n)))
	return sum[:]
}

// Receipt returns a valid receipt of a 60-second session segment in epoch
// served by media and countersigned by orch: 6 MB out, 1 MB in, 1% loss,
// 40 ms RTT. It starts (session mod 3000) s after 2025-12-31T23:00:00Z,
// so it ends before 2026-01-01T00:00:00Z (testutil/keeper's block time)
// and lies within the chain's time window for one-hour epochs; use
// ReceiptAt for other times.
func Receipt(media, orch *format.NodeKey, epoch int64, session int) format.UsageReceipt {
	return ReceiptAt(media, orch, epoch, session, time.UnixMilli(1_767_222_000_000+int64(session%3000)*1000))
}

// ReceiptAt is Receipt starting at start.
func ReceiptAt(media, orch *format.NodeKey, epoch int64, session int, startAt time.Time) format.UsageReceipt {
	start := startAt.UnixMilli()
	return format.UsageReceipt{
		SessionId: format.GrantSessionID(orch.ID, GrantID(session), 0), RoomHash: format.RoomHash("room-1"),
		MediaNodeId: media.ID, OrchestratorId: orch.ID, Epoch: epoch,
		StartUnixMs: start, EndUnixMs: start + 60_000,
		BytesIn: 1_000_000, BytesOut: 6_000_000, PacketsSent: 10_000, PacketsLost: 100,
		RttMsP50: 40, JitterMsP50: 5,
		ClientReport: &format.ClientReport{BytesReceived: 5_900_000, FramesDecoded: 1800},
	}
}

// Sign signs r with media and countersigns it with orch for chainID.
func Sign(media, orch *format.NodeKey, chainID string, r format.UsageReceipt) format.SignedReceipt {
	s, err := format.SignReceipt(media, chainID, r)
	if err != nil {
		panic(err)
	}
	if err := format.Countersign(orch, chainID, s); err != nil {
		panic(err)
	}
	return *s
}

// GrantID is the join grant (jti) of sample session n: Receipt's
// session_id is its first connection, format.GrantSessionID(orch, GrantID(n), 0).
func GrantID(n int) string { return fmt.Sprintf("grant-%d", n) }

// ClientKey returns a deterministic client Ed25519 key for seed n.
func ClientKey(n int) ed25519.PrivateKey {
	sum := sha256.Sum256(binary.BigEndian.AppendUint64([]byte("chroom-test-client"), uint64(n)))
	return ed25519.NewKeyFromSeed(sum[:])
}

// Statement is the usage statement a web client of sample session n
// would last have sent for r: elapsed time since the grant covers the
// segment, no loss, the receipt's bytes.
func Statement(r *format.UsageReceipt, n int) *format.UsageStatement {
	return &format.UsageStatement{
		GrantId: GrantID(n), Seq: 7, ElapsedMs: uint64(r.EndUnixMs-r.StartUnixMs) + 2000,
		BytesReceived: r.BytesOut, FramesDecoded: 1800, PacketsReceived: r.PacketsSent, BytesSent: r.BytesIn, AudioSamples: 2_880_000,
	}
}

// Attest attaches to s (a receipt of sample session n, see GrantID) the
// attestation an honest orchestrator adds for a web client: the grant
// binding signed by orch and st signed by ClientKey(n) (Statement(r, n)
// when st is nil), all for chainID.
func Attest(orch *format.NodeKey, chainID string, s format.SignedReceipt, n int, st *format.UsageStatement) format.SignedReceipt {
	r := s.Receipt
	if st == nil {
		st = Statement(r, n)
	}
	key := ClientKey(n)
	g := &format.GrantBinding{
		GrantId: GrantID(n), OrchestratorId: orch.ID, MediaNodeId: r.MediaNodeId, RoomHash: r.RoomHash, AppId: r.AppId,
		ClientKey: key.Public().(ed25519.PublicKey), NotBeforeUnixMs: r.StartUnixMs - 5000, ExpiresUnixMs: r.StartUnixMs + 6*3600*1000,
	}
	gsig, err := format.SignGrantBinding(orch, chainID, g)
	if err != nil {
		panic(err)
	}
	ssig, err := st.Sign(key, chainID)
	if err != nil {
		panic(err)
	}
	s.Attestation = &format.ClientAttestation{Grant: g, GrantSignature: gsig, Statement: st, StatementSignature: ssig}
	return s
}
