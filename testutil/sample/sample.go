// Package sample makes valid test fixtures: accounts, node keys and
// registration messages.
package sample

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"

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
