// Package tests holds whole-chain tests: real chroomd apps in an in-process
// network, driven by signed transactions over gRPC.
package tests

import (
	"context"
	"testing"
	"time"

	sdkmath "cosmossdk.io/math"
	clienttx "github.com/cosmos/cosmos-sdk/client/tx"
	"github.com/cosmos/cosmos-sdk/codec"
	sdknetwork "github.com/cosmos/cosmos-sdk/testutil/network"
	sdk "github.com/cosmos/cosmos-sdk/types"
	txtypes "github.com/cosmos/cosmos-sdk/types/tx"
	"github.com/cosmos/cosmos-sdk/types/tx/signing"
	authclient "github.com/cosmos/cosmos-sdk/x/auth/client"
	banktypes "github.com/cosmos/cosmos-sdk/x/bank/types"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/chroom/chroom/testutil/network"
	"github.com/chroom/chroom/testutil/sample"
	registrytypes "github.com/chroom/chroom/x/registry/types"
)

// chain is a running one-validator network and a gRPC connection to it.
type chain struct {
	t    *testing.T
	net  *sdknetwork.Network
	val  *sdknetwork.Validator
	conn *grpc.ClientConn
}

func startChain(t *testing.T, mutate func(cfg *sdknetwork.Config)) *chain {
	cfg := network.DefaultConfig()
	if mutate != nil {
		mutate(&cfg)
	}
	n := network.New(t, cfg)
	val := n.Validators[0]
	conn, err := grpc.NewClient(val.AppConfig.GRPC.Address,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.ForceCodec(codec.NewProtoCodec(cfg.InterfaceRegistry).GRPCCodec())))
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	return &chain{t: t, net: n, val: val, conn: conn}
}

// deliver signs msgs with the validator's account key, broadcasts them and
// waits until the tx is in a block; it returns the tx result.
func (c *chain) deliver(msgs ...sdk.Msg) *sdk.TxResponse {
	c.t.Helper()
	require.NoError(c.t, c.net.WaitForNextBlock())
	b := c.val.ClientCtx.TxConfig.NewTxBuilder()
	require.NoError(c.t, b.SetMsgs(msgs...))
	b.SetGasLimit(400_000)
	b.SetFeeAmount(sdk.NewCoins(sdk.NewInt64Coin("uchr", 10)))
	f := clienttx.Factory{}.WithChainID(c.val.ClientCtx.ChainID).WithKeybase(c.val.ClientCtx.Keyring).
		WithTxConfig(c.val.ClientCtx.TxConfig).WithSignMode(signing.SignMode_SIGN_MODE_DIRECT)
	require.NoError(c.t, authclient.SignTx(f, c.val.ClientCtx, c.val.Moniker, b, false, true))
	bz, err := c.val.ClientCtx.TxConfig.TxEncoder()(b.GetTx())
	require.NoError(c.t, err)

	txs := txtypes.NewServiceClient(c.conn)
	res, err := txs.BroadcastTx(context.Background(), &txtypes.BroadcastTxRequest{Mode: txtypes.BroadcastMode_BROADCAST_MODE_SYNC, TxBytes: bz})
	require.NoError(c.t, err)
	if res.TxResponse.Code != 0 {
		return res.TxResponse // refused by CheckTx
	}
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		got, err := txs.GetTx(context.Background(), &txtypes.GetTxRequest{Hash: res.TxResponse.TxHash})
		if err == nil {
			return got.TxResponse
		}
		time.Sleep(200 * time.Millisecond)
	}
	c.t.Fatalf("tx %s was not included within 20 s", res.TxResponse.TxHash)
	return nil
}

func (c *chain) balance(addr sdk.AccAddress) sdkmath.Int {
	c.t.Helper()
	res, err := banktypes.NewQueryClient(c.conn).Balance(context.Background(), &banktypes.QueryBalanceRequest{Address: addr.String(), Denom: "uchr"})
	require.NoError(c.t, err)
	return res.Balance.Amount
}

func TestRegisterNodeOverGRPC(t *testing.T) {
	c := startChain(t, nil)
	operator := c.val.Address
	msg := sample.RegisterMediaNode(operator, 1, "DE-BY")
	q := registrytypes.NewQueryClient(c.conn)

	// A tx with a stake below the minimum is refused with the module's
	// error code and changes nothing.
	low := *msg
	low.Stake = sample.Uchr(10)
	res := c.deliver(&low)
	require.Equal(t, registrytypes.ModuleName, res.Codespace, res.RawLog)
	require.Equal(t, registrytypes.ErrStakeBelowMinimum.ABCICode(), res.Code, res.RawLog)
	require.Contains(t, res.RawLog, "stake 10uchr is below the media node minimum of 1000000uchr")

	before := c.balance(operator)
	res = c.deliver(msg)
	require.Zero(t, res.Code, res.RawLog)

	got, err := q.Node(context.Background(), &registrytypes.QueryNodeRequest{NodeId: sample.NodeKey(1).ID})
	require.NoError(t, err)
	require.Equal(t, operator.String(), got.Node.Operator)
	require.Equal(t, registrytypes.NodeStatus_NODE_STATUS_ACTIVE, got.Node.Status)
	require.Equal(t, msg.Endpoints, got.Node.Endpoints)
	require.Equal(t, sample.Uchr(5_000_000), got.Node.Stake)
	// The operator paid the stake and the fee.
	require.Equal(t, before.Sub(sdkmath.NewInt(5_000_010)), c.balance(operator))

	list, err := q.Nodes(context.Background(), &registrytypes.QueryNodesRequest{Region: "DE", Status: registrytypes.NodeStatus_NODE_STATUS_ACTIVE})
	require.NoError(t, err)
	require.Len(t, list.Nodes, 1)
	byOp, err := q.NodesByOperator(context.Background(), &registrytypes.QueryNodesByOperatorRequest{Operator: operator.String()})
	require.NoError(t, err)
	require.Len(t, byOp.Nodes, 1)

	// Registering the same pubkey again fails.
	res = c.deliver(msg)
	require.Equal(t, registrytypes.ErrPubkeyInUse.ABCICode(), res.Code, res.RawLog)
}

func TestUnbondingReturnsStakeOnChain(t *testing.T) {
	c := startChain(t, func(cfg *sdknetwork.Config) {
		var gs registrytypes.GenesisState
		cfg.Codec.MustUnmarshalJSON(cfg.GenesisState[registrytypes.ModuleName], &gs)
		gs.Params.UnbondingPeriod = 3 * time.Second
		cfg.GenesisState[registrytypes.ModuleName] = cfg.Codec.MustMarshalJSON(&gs)
	})
	operator := c.val.Address
	id := sample.NodeKey(2).ID
	res := c.deliver(sample.RegisterMediaNode(operator, 2, "FR"))
	require.Zero(t, res.Code, res.RawLog)
	afterRegister := c.balance(operator)

	res = c.deliver(&registrytypes.MsgDeregisterNode{Operator: operator.String(), NodeId: id})
	require.Zero(t, res.Code, res.RawLog)
	// Deregistering twice is refused.
	res = c.deliver(&registrytypes.MsgDeregisterNode{Operator: operator.String(), NodeId: id})
	require.Equal(t, registrytypes.ErrNodeUnbonding.ABCICode(), res.Code, res.RawLog)

	q := registrytypes.NewQueryClient(c.conn)
	require.Eventually(t, func() bool {
		_, err := q.Node(context.Background(), &registrytypes.QueryNodeRequest{NodeId: id})
		return err != nil
	}, 30*time.Second, 250*time.Millisecond, "the node is removed once the unbonding period is over")
	// Stake back, minus the fees of the two deregister txs.
	require.Equal(t, afterRegister.Add(sdkmath.NewInt(5_000_000-20)), c.balance(operator))
}
