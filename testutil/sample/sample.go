// Package sample makes valid test fixtures: accounts, node keys and
// registration messages.
package sample

import (
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
		SessionId: SessionID(session), RoomHash: format.RoomHash("room-1"),
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
