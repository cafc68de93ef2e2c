package keeper_test

import (
	"testing"
	"time"

	errorsmod "cosmossdk.io/errors"
	sdkmath "cosmossdk.io/math"
	sdk "github.com/cosmos/cosmos-sdk/types"
	sdkerrors "github.com/cosmos/cosmos-sdk/types/errors"
	"github.com/stretchr/testify/require"

	testkeeper "github.com/chroom/chroom/testutil/keeper"
	"github.com/chroom/chroom/testutil/sample"
	"github.com/chroom/chroom/x/registry/keeper"
	"github.com/chroom/chroom/x/registry/types"
)

// fixture is a registry with one funded operator and a msg server.
type fixture struct {
	*testkeeper.Registry
	msgs     types.MsgServer
	operator sdk.AccAddress
	other    sdk.AccAddress
}

func newFixture(t *testing.T) *fixture {
	r := testkeeper.NewRegistry(t)
	f := &fixture{Registry: r, msgs: keeper.NewMsgServerImpl(r.Keeper), operator: sample.AccAddress(1), other: sample.AccAddress(2)}
	r.Bank.Fund(f.operator, sdk.NewCoins(sample.Uchr(100_000_000)))
	r.Bank.Fund(f.other, sdk.NewCoins(sample.Uchr(100_000_000)))
	return f
}

// register registers media node n for the fixture's operator and returns its ID.
func (f *fixture) register(t *testing.T, n int, region string) string {
	t.Helper()
	res, err := f.msgs.RegisterNode(f.Ctx, sample.RegisterMediaNode(f.operator, n, region))
	require.NoError(t, err)
	return res.NodeId
}

// state captures everything a failed message must leave untouched.
type state struct {
	genesis  *types.GenesisState
	balances map[string]sdk.Coins
	queue    int
}

func (f *fixture) state(t *testing.T) state {
	t.Helper()
	gs, err := f.Keeper.ExportGenesis(f.Ctx)
	require.NoError(t, err)
	q, err := f.Keeper.UnbondingQueueLength(f.Ctx)
	require.NoError(t, err)
	return state{genesis: gs, balances: f.Bank.Snapshot(), queue: q}
}

// requireFails checks that err is expErr with a message containing
// expMsg, and that state did not change.
func (f *fixture) requireFails(t *testing.T, before state, err error, expErr *errorsmod.Error, expMsg string) {
	t.Helper()
	require.Error(t, err)
	require.ErrorIs(t, err, expErr)
	require.Contains(t, err.Error(), expMsg)
	require.Equal(t, before, f.state(t), "state changed although the message failed")
	require.NoError(t, f.Keeper.StakeInvariant(f.Ctx))
}

func TestRegisterNode(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(f *fixture, m *types.MsgRegisterNode)
		expErr *errorsmod.Error
		expMsg string
	}{
		{name: "media node", mutate: func(*fixture, *types.MsgRegisterNode) {}},
		{name: "orchestrator at its minimum", mutate: func(_ *fixture, m *types.MsgRegisterNode) {
			m.NodeType = types.NodeType_NODE_TYPE_ORCHESTRATOR
			m.Stake = types.DefaultMinStakeOrchestrator
		}},
		{name: "region with sub-region", mutate: func(_ *fixture, m *types.MsgRegisterNode) { m.Region = "US-CA" }},
		{name: "stake below media minimum", mutate: func(_ *fixture, m *types.MsgRegisterNode) { m.Stake = sample.Uchr(999_999) },
			expErr: types.ErrStakeBelowMinimum, expMsg: "stake 999999uchr is below the media node minimum of 1000000uchr"},
		{name: "orchestrator stake below its minimum", mutate: func(_ *fixture, m *types.MsgRegisterNode) {
			m.NodeType = types.NodeType_NODE_TYPE_ORCHESTRATOR
			m.Stake = sample.Uchr(4_999_999)
		}, expErr: types.ErrStakeBelowMinimum, expMsg: "orchestrator minimum of 5000000uchr"},
		{name: "stake in another denom", mutate: func(_ *fixture, m *types.MsgRegisterNode) { m.Stake = sdk.NewInt64Coin("stake", 5_000_000) },
			expErr: types.ErrInvalidStake, expMsg: "stake must be in uchr"},
		{name: "zero stake", mutate: func(_ *fixture, m *types.MsgRegisterNode) { m.Stake = sample.Uchr(0) },
			expErr: types.ErrInvalidStake, expMsg: "stake must be positive"},
		{name: "stake beyond the balance", mutate: func(_ *fixture, m *types.MsgRegisterNode) { m.Stake = sample.Uchr(200_000_000) },
			expErr: sdkerrors.ErrInsufficientFunds, expMsg: "bond stake"},
		{name: "pubkey of 31 bytes", mutate: func(_ *fixture, m *types.MsgRegisterNode) { m.Pubkey = m.Pubkey[:31] },
			expErr: types.ErrInvalidPubkey, expMsg: "pubkey must be 32 bytes (ed25519), got 31"},
		{name: "empty pubkey", mutate: func(_ *fixture, m *types.MsgRegisterNode) { m.Pubkey = nil },
			expErr: types.ErrInvalidPubkey, expMsg: "got 0"},
		{name: "pubkey already registered", mutate: func(f *fixture, m *types.MsgRegisterNode) {
			_, err := f.msgs.RegisterNode(f.Ctx, sample.RegisterMediaNode(f.other, 1, "FR"))
			if err != nil {
				panic(err)
			}
		}, expErr: types.ErrPubkeyInUse, expMsg: "pubkey is already registered as node " + sample.NodeKey(1).ID},
		{name: "endpoint without scheme", mutate: func(_ *fixture, m *types.MsgRegisterNode) { m.Endpoints = []string{"sfu.example.com"} },
			expErr: types.ErrInvalidEndpoint, expMsg: `endpoints[0] "sfu.example.com": must be absolute`},
		{name: "endpoint with ftp scheme", mutate: func(_ *fixture, m *types.MsgRegisterNode) { m.Endpoints = []string{"ftp://sfu.example.com"} },
			expErr: types.ErrInvalidEndpoint, expMsg: "scheme ftp is not one of"},
		{name: "https endpoint without host", mutate: func(_ *fixture, m *types.MsgRegisterNode) { m.Endpoints = []string{"https:///path"} },
			expErr: types.ErrInvalidEndpoint, expMsg: "with a host"},
		{name: "turn endpoint with bad port", mutate: func(_ *fixture, m *types.MsgRegisterNode) {
			m.Endpoints = []string{"https://a.example.com", "turn:a.example.com:99999"}
		}, expErr: types.ErrInvalidEndpoint, expMsg: `endpoints[1] "turn:a.example.com:99999": port 99999`},
		{name: "only turn endpoints", mutate: func(_ *fixture, m *types.MsgRegisterNode) { m.Endpoints = []string{"turn:a.example.com:3478"} },
			expErr: types.ErrInvalidEndpoint, expMsg: "at least one http(s) or ws(s) URL"},
		{name: "no endpoints", mutate: func(_ *fixture, m *types.MsgRegisterNode) { m.Endpoints = nil },
			expErr: types.ErrInvalidEndpoint, expMsg: "at least one https:// URL"},
		{name: "duplicate endpoint", mutate: func(_ *fixture, m *types.MsgRegisterNode) {
			m.Endpoints = []string{"https://a.example.com", "https://a.example.com"}
		}, expErr: types.ErrInvalidEndpoint, expMsg: "listed twice"},
		{name: "unknown region code", mutate: func(_ *fixture, m *types.MsgRegisterNode) { m.Region = "ZZ" },
			expErr: types.ErrInvalidRegion, expMsg: "ZZ is not an ISO 3166-1 country code"},
		{name: "lowercase region", mutate: func(_ *fixture, m *types.MsgRegisterNode) { m.Region = "de" },
			expErr: types.ErrInvalidRegion, expMsg: "in capitals"},
		{name: "region spelled out", mutate: func(_ *fixture, m *types.MsgRegisterNode) { m.Region = "Germany" },
			expErr: types.ErrInvalidRegion, expMsg: "ISO 3166-1 alpha-2"},
		{name: "deprecated region alias", mutate: func(_ *fixture, m *types.MsgRegisterNode) { m.Region = "UK" },
			expErr: types.ErrInvalidRegion, expMsg: "use GB"},
		{name: "bad sub-region", mutate: func(_ *fixture, m *types.MsgRegisterNode) { m.Region = "US-CALI" },
			expErr: types.ErrInvalidRegion, expMsg: "sub-region must be 1 to 3 characters"},
		{name: "zero max sessions", mutate: func(_ *fixture, m *types.MsgRegisterNode) { m.MaxSessions = 0 },
			expErr: types.ErrInvalidCapacity, expMsg: "max_sessions must be greater than zero"},
		{name: "zero max egress", mutate: func(_ *fixture, m *types.MsgRegisterNode) { m.MaxEgressKbps = 0 },
			expErr: types.ErrInvalidCapacity, expMsg: "max_egress_kbps must be greater than zero"},
		{name: "unspecified node type", mutate: func(_ *fixture, m *types.MsgRegisterNode) { m.NodeType = types.NodeType_NODE_TYPE_UNSPECIFIED },
			expErr: types.ErrInvalidNodeType, expMsg: "node_type must be media or orchestrator"},
		{name: "unknown node type number", mutate: func(_ *fixture, m *types.MsgRegisterNode) { m.NodeType = 7 },
			expErr: types.ErrInvalidNodeType, expMsg: "node_type must be media or orchestrator"},
		{name: "empty moniker", mutate: func(_ *fixture, m *types.MsgRegisterNode) { m.Moniker = "" },
			expErr: types.ErrInvalidMoniker, expMsg: "moniker is empty"},
		{name: "moniker too long", mutate: func(_ *fixture, m *types.MsgRegisterNode) { m.Moniker = string(make([]byte, 71)) },
			expErr: types.ErrInvalidMoniker, expMsg: "71 bytes"},
		{name: "bad operator address", mutate: func(_ *fixture, m *types.MsgRegisterNode) { m.Operator = "not-an-address" },
			expErr: types.ErrInvalidAddress, expMsg: `operator "not-an-address"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			msg := sample.RegisterMediaNode(f.operator, 1, "DE")
			tc.mutate(f, msg)
			before := f.state(t)
			res, err := f.msgs.RegisterNode(f.Ctx, msg)
			if tc.expErr != nil {
				f.requireFails(t, before, err, tc.expErr, tc.expMsg)
				return
			}
			require.NoError(t, err)
			require.Equal(t, sample.NodeKey(1).ID, res.NodeId)

			node, err := f.Keeper.GetNode(f.Ctx, res.NodeId)
			require.NoError(t, err)
			require.Equal(t, types.NodeStatus_NODE_STATUS_ACTIVE, node.Status)
			require.Equal(t, msg.Stake, node.Stake)
			require.Equal(t, msg.Region, node.Region)
			require.Equal(t, types.Capacity{MaxSessions: msg.MaxSessions, MaxEgressKbps: msg.MaxEgressKbps}, node.Capacity)
			require.True(t, node.Stats.QualityScore.Equal(sdkmath.LegacyOneDec()))
			require.Equal(t, int64(1), node.RegisteredHeight)
			// The stake moved from the operator into the module account.
			require.Equal(t, msg.Stake, f.Bank.ModuleBalance(types.ModuleName, "uchr"))
			require.Equal(t, sample.Uchr(100_000_000).Sub(msg.Stake), f.Bank.GetBalance(f.Ctx, f.operator, "uchr"))
			require.NoError(t, f.Keeper.StakeInvariant(f.Ctx))
			requireEvent(t, f.Ctx, "chroom.registry.v1.EventNodeRegistered")
		})
	}
}

func requireEvent(t *testing.T, ctx sdk.Context, typ string) {
	t.Helper()
	for _, ev := range ctx.EventManager().Events() {
		if ev.Type == typ {
			return
		}
	}
	t.Fatalf("no %s event among %d events", typ, len(ctx.EventManager().Events()))
}

func TestUpdateNode(t *testing.T) {
	tests := []struct {
		name   string
		msg    func(f *fixture, id string) *types.MsgUpdateNode
		expErr *errorsmod.Error
		expMsg string
		check  func(t *testing.T, n types.Node)
	}{
		{name: "change region and capacity", msg: func(f *fixture, id string) *types.MsgUpdateNode {
			return &types.MsgUpdateNode{Operator: f.operator.String(), NodeId: id, Region: "FR-75", MaxSessions: 10}
		}, check: func(t *testing.T, n types.Node) {
			require.Equal(t, "FR-75", n.Region)
			require.Equal(t, uint32(10), n.Capacity.MaxSessions)
			require.Equal(t, uint64(1_000_000), n.Capacity.MaxEgressKbps, "unset field must stay")
			require.Equal(t, "media-1", n.Moniker, "unset field must stay")
		}},
		{name: "replace endpoints", msg: func(f *fixture, id string) *types.MsgUpdateNode {
			return &types.MsgUpdateNode{Operator: f.operator.String(), NodeId: id, Endpoints: []string{"wss://new.example.com/ws"}}
		}, check: func(t *testing.T, n types.Node) {
			require.Equal(t, []string{"wss://new.example.com/ws"}, n.Endpoints)
		}},
		{name: "by someone else", msg: func(f *fixture, id string) *types.MsgUpdateNode {
			return &types.MsgUpdateNode{Operator: f.other.String(), NodeId: id, Moniker: "mine now"}
		}, expErr: types.ErrNotOperator, expMsg: "is operated by"},
		{name: "unknown node", msg: func(f *fixture, _ string) *types.MsgUpdateNode {
			return &types.MsgUpdateNode{Operator: f.operator.String(), NodeId: sample.NodeKey(99).ID, Moniker: "x"}
		}, expErr: types.ErrNodeNotFound, expMsg: "no node with id " + sample.NodeKey(99).ID},
		{name: "malformed node id", msg: func(f *fixture, _ string) *types.MsgUpdateNode {
			return &types.MsgUpdateNode{Operator: f.operator.String(), NodeId: "XYZ", Moniker: "x"}
		}, expErr: types.ErrInvalidNodeID, expMsg: "node ID must be 40 hex characters"},
		{name: "nothing to update", msg: func(f *fixture, id string) *types.MsgUpdateNode {
			return &types.MsgUpdateNode{Operator: f.operator.String(), NodeId: id}
		}, expErr: types.ErrNothingToUpdate, expMsg: "at least one of"},
		{name: "bad region", msg: func(f *fixture, id string) *types.MsgUpdateNode {
			return &types.MsgUpdateNode{Operator: f.operator.String(), NodeId: id, Region: "XX"}
		}, expErr: types.ErrInvalidRegion, expMsg: "XX"},
		{name: "bad endpoint", msg: func(f *fixture, id string) *types.MsgUpdateNode {
			return &types.MsgUpdateNode{Operator: f.operator.String(), NodeId: id, Endpoints: []string{"https://user:pw@a.example.com"}}
		}, expErr: types.ErrInvalidEndpoint, expMsg: "user info"},
		{name: "unbonding node", msg: func(f *fixture, id string) *types.MsgUpdateNode {
			_, err := f.msgs.DeregisterNode(f.Ctx, &types.MsgDeregisterNode{Operator: f.operator.String(), NodeId: id})
			if err != nil {
				panic(err)
			}
			return &types.MsgUpdateNode{Operator: f.operator.String(), NodeId: id, Moniker: "late"}
		}, expErr: types.ErrNodeUnbonding, expMsg: "can no longer be updated"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			id := f.register(t, 1, "DE")
			msg := tc.msg(f, id)
			before := f.state(t)
			_, err := f.msgs.UpdateNode(f.Ctx, msg)
			if tc.expErr != nil {
				f.requireFails(t, before, err, tc.expErr, tc.expMsg)
				return
			}
			require.NoError(t, err)
			n, err := f.Keeper.GetNode(f.Ctx, id)
			require.NoError(t, err)
			tc.check(t, n)
		})
	}
}

func TestAddStake(t *testing.T) {
	tests := []struct {
		name   string
		msg    func(f *fixture, id string) *types.MsgAddStake
		expErr error
		expMsg string
	}{
		{name: "adds", msg: func(f *fixture, id string) *types.MsgAddStake {
			return &types.MsgAddStake{Operator: f.operator.String(), NodeId: id, Amount: sample.Uchr(2_000_000)}
		}},
		{name: "by someone else", msg: func(f *fixture, id string) *types.MsgAddStake {
			return &types.MsgAddStake{Operator: f.other.String(), NodeId: id, Amount: sample.Uchr(1)}
		}, expErr: types.ErrNotOperator, expMsg: "not " + sample.AccAddress(2).String()},
		{name: "wrong denom", msg: func(f *fixture, id string) *types.MsgAddStake {
			return &types.MsgAddStake{Operator: f.operator.String(), NodeId: id, Amount: sdk.NewInt64Coin("atom", 1)}
		}, expErr: types.ErrInvalidStake, expMsg: "amount must be in uchr"},
		{name: "zero", msg: func(f *fixture, id string) *types.MsgAddStake {
			return &types.MsgAddStake{Operator: f.operator.String(), NodeId: id, Amount: sample.Uchr(0)}
		}, expErr: types.ErrInvalidStake, expMsg: "must be positive"},
		{name: "more than the balance", msg: func(f *fixture, id string) *types.MsgAddStake {
			return &types.MsgAddStake{Operator: f.operator.String(), NodeId: id, Amount: sample.Uchr(1_000_000_000)}
		}, expErr: sdkerrors.ErrInsufficientFunds, expMsg: "bond stake"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			id := f.register(t, 1, "DE")
			before := f.state(t)
			res, err := f.msgs.AddStake(f.Ctx, tc.msg(f, id))
			if tc.expErr != nil {
				require.ErrorIs(t, err, tc.expErr)
				require.Contains(t, err.Error(), tc.expMsg)
				require.Equal(t, before, f.state(t))
				return
			}
			require.NoError(t, err)
			require.Equal(t, sample.Uchr(7_000_000), res.Total)
			require.Equal(t, sample.Uchr(7_000_000), f.Bank.ModuleBalance(types.ModuleName, "uchr"))
			require.NoError(t, f.Keeper.StakeInvariant(f.Ctx))
		})
	}
}

func TestDeregisterAndUnbonding(t *testing.T) {
	f := newFixture(t)
	id := f.register(t, 1, "DE")
	msg := &types.MsgDeregisterNode{Operator: f.operator.String(), NodeId: id}

	// Only the operator may deregister.
	before := f.state(t)
	_, err := f.msgs.DeregisterNode(f.Ctx, &types.MsgDeregisterNode{Operator: f.other.String(), NodeId: id})
	f.requireFails(t, before, err, types.ErrNotOperator, "is operated by")

	res, err := f.msgs.DeregisterNode(f.Ctx, msg)
	require.NoError(t, err)
	require.Equal(t, testkeeper.GenesisTime.Add(types.DefaultUnbondingPeriod), res.CompletionTime)
	n, err := f.Keeper.GetNode(f.Ctx, id)
	require.NoError(t, err)
	require.Equal(t, types.NodeStatus_NODE_STATUS_UNBONDING, n.Status)
	require.NoError(t, f.Keeper.StakeInvariant(f.Ctx))

	// Deregistering twice fails and names the completion time.
	before = f.state(t)
	_, err = f.msgs.DeregisterNode(f.Ctx, msg)
	f.requireFails(t, before, err, types.ErrNodeUnbonding, "already unbonding; its stake returns at 2026-01-08T00:00:00Z")

	// Adding stake to an unbonding node fails.
	_, err = f.msgs.AddStake(f.Ctx, &types.MsgAddStake{Operator: f.operator.String(), NodeId: id, Amount: sample.Uchr(1)})
	require.ErrorIs(t, err, types.ErrNodeUnbonding)

	balance := f.Bank.GetBalance(f.Ctx, f.operator, "uchr")
	// One second before the end of the period nothing is returned.
	f.AdvanceTime(types.DefaultUnbondingPeriod - time.Second)
	require.NoError(t, f.Keeper.EndBlocker(f.Ctx))
	require.Equal(t, balance, f.Bank.GetBalance(f.Ctx, f.operator, "uchr"))
	_, err = f.Keeper.GetNode(f.Ctx, id)
	require.NoError(t, err)

	// At the end of the period the stake returns and the node is gone.
	f.AdvanceTime(time.Second)
	require.NoError(t, f.Keeper.EndBlocker(f.Ctx))
	require.Equal(t, balance.Add(sample.Uchr(5_000_000)), f.Bank.GetBalance(f.Ctx, f.operator, "uchr"))
	_, err = f.Keeper.GetNode(f.Ctx, id)
	require.ErrorIs(t, err, types.ErrNodeNotFound)
	require.True(t, f.Bank.ModuleBalance(types.ModuleName, "uchr").IsZero())
	requireEvent(t, f.Ctx, "chroom.registry.v1.EventUnbondingCompleted")
	require.NoError(t, f.Keeper.StakeInvariant(f.Ctx))

	// The pubkey is free again.
	f.register(t, 1, "DE")
}

func TestEndBlockerIsBoundedPerBlock(t *testing.T) {
	f := newFixture(t)
	params, err := f.Keeper.Params(f.Ctx)
	require.NoError(t, err)
	params.MaxUnbondingPerBlock = 2
	require.NoError(t, f.Keeper.SetParams(f.Ctx, params))
	for i := 1; i <= 5; i++ {
		id := f.register(t, i, "DE")
		_, err := f.msgs.DeregisterNode(f.Ctx, &types.MsgDeregisterNode{Operator: f.operator.String(), NodeId: id})
		require.NoError(t, err)
	}
	f.AdvanceTime(types.DefaultUnbondingPeriod)
	for _, want := range []int{3, 1, 0, 0} {
		require.NoError(t, f.Keeper.EndBlocker(f.Ctx))
		left, err := f.Keeper.UnbondingQueueLength(f.Ctx)
		require.NoError(t, err)
		require.Equal(t, want, left)
		require.NoError(t, f.Keeper.StakeInvariant(f.Ctx))
		f.AdvanceTime(time.Second)
	}
}

func TestSlashJailUnjail(t *testing.T) {
	f := newFixture(t)
	id := f.register(t, 1, "DE")
	unjail := &types.MsgUnjail{Operator: f.operator.String(), NodeId: id}

	// An active node cannot be unjailed.
	before := f.state(t)
	_, err := f.msgs.Unjail(f.Ctx, unjail)
	f.requireFails(t, before, err, types.ErrNodeNotJailed, "is active")

	burned, err := f.Keeper.Slash(f.Ctx, id, sdkmath.LegacyNewDecWithPrec(1, 1), "equivocation")
	require.NoError(t, err)
	require.Equal(t, sample.Uchr(500_000), burned)
	n, err := f.Keeper.GetNode(f.Ctx, id)
	require.NoError(t, err)
	require.Equal(t, types.NodeStatus_NODE_STATUS_JAILED, n.Status)
	require.Equal(t, sample.Uchr(4_500_000), n.Stake)
	require.Equal(t, testkeeper.GenesisTime.Add(types.DefaultJailDuration), n.JailedUntil)
	require.Len(t, n.SlashHistory, 1)
	require.Equal(t, "equivocation", n.SlashHistory[0].Reason)
	require.NoError(t, f.Keeper.StakeInvariant(f.Ctx), "burned stake must leave the module account")

	// Unjailing early fails.
	f.AdvanceTime(types.DefaultJailDuration - time.Minute)
	before = f.state(t)
	_, err = f.msgs.Unjail(f.Ctx, unjail)
	f.requireFails(t, before, err, types.ErrJailPeriodNotOver, "1m0s from now")

	// Someone else cannot unjail it.
	f.AdvanceTime(time.Minute)
	_, err = f.msgs.Unjail(f.Ctx, &types.MsgUnjail{Operator: f.other.String(), NodeId: id})
	require.ErrorIs(t, err, types.ErrNotOperator)

	_, err = f.msgs.Unjail(f.Ctx, unjail)
	require.NoError(t, err)
	n, err = f.Keeper.GetNode(f.Ctx, id)
	require.NoError(t, err)
	require.Equal(t, types.NodeStatus_NODE_STATUS_ACTIVE, n.Status)
}

func TestUnjailNeedsMinimumStake(t *testing.T) {
	f := newFixture(t)
	id := f.register(t, 1, "DE")
	_, err := f.Keeper.Slash(f.Ctx, id, sdkmath.LegacyNewDecWithPrec(9, 1), "equivocation")
	require.NoError(t, err)
	f.AdvanceTime(types.DefaultJailDuration)
	before := f.state(t)
	_, err = f.msgs.Unjail(f.Ctx, &types.MsgUnjail{Operator: f.operator.String(), NodeId: id})
	f.requireFails(t, before, err, types.ErrStakeBelowMinimum, "stake 500000uchr is below the media node minimum of 1000000uchr; add stake first")

	_, err = f.msgs.AddStake(f.Ctx, &types.MsgAddStake{Operator: f.operator.String(), NodeId: id, Amount: sample.Uchr(500_000)})
	require.NoError(t, err, "a jailed node may add stake")
	_, err = f.msgs.Unjail(f.Ctx, &types.MsgUnjail{Operator: f.operator.String(), NodeId: id})
	require.NoError(t, err)
}

func TestSlash(t *testing.T) {
	t.Run("rejects bad input", func(t *testing.T) {
		f := newFixture(t)
		id := f.register(t, 1, "DE")
		before := f.state(t)
		for _, tc := range []struct {
			fraction sdkmath.LegacyDec
			reason   string
			expErr   *errorsmod.Error
		}{
			{sdkmath.LegacyNewDec(2), "x", types.ErrInvalidSlash},
			{sdkmath.LegacyNewDec(-1), "x", types.ErrInvalidSlash},
			{sdkmath.LegacyDec{}, "x", types.ErrInvalidSlash},
			{sdkmath.LegacyOneDec(), "", types.ErrInvalidSlash},
			{sdkmath.LegacyOneDec(), string(make([]byte, 65)), types.ErrInvalidSlash},
		} {
			_, err := f.Keeper.Slash(f.Ctx, id, tc.fraction, tc.reason)
			require.ErrorIs(t, err, tc.expErr)
		}
		_, err := f.Keeper.Slash(f.Ctx, sample.NodeKey(50).ID, sdkmath.LegacyOneDec(), "x")
		require.ErrorIs(t, err, types.ErrNodeNotFound)
		require.Equal(t, before, f.state(t))
	})
	t.Run("an unbonding node is slashed and stays unbonding", func(t *testing.T) {
		f := newFixture(t)
		id := f.register(t, 1, "DE")
		_, err := f.msgs.DeregisterNode(f.Ctx, &types.MsgDeregisterNode{Operator: f.operator.String(), NodeId: id})
		require.NoError(t, err)
		_, err = f.Keeper.Slash(f.Ctx, id, sdkmath.LegacyNewDecWithPrec(5, 1), "equivocation")
		require.NoError(t, err)
		n, err := f.Keeper.GetNode(f.Ctx, id)
		require.NoError(t, err)
		require.Equal(t, types.NodeStatus_NODE_STATUS_UNBONDING, n.Status)
		require.NoError(t, f.Keeper.StakeInvariant(f.Ctx))

		balance := f.Bank.GetBalance(f.Ctx, f.operator, "uchr")
		f.AdvanceTime(types.DefaultUnbondingPeriod)
		require.NoError(t, f.Keeper.EndBlocker(f.Ctx))
		require.Equal(t, balance.Add(sample.Uchr(2_500_000)), f.Bank.GetBalance(f.Ctx, f.operator, "uchr"),
			"only the unslashed half returns")
	})
	t.Run("history keeps the newest records", func(t *testing.T) {
		f := newFixture(t)
		id := f.register(t, 1, "DE")
		for i := 0; i < types.MaxSlashHistory+3; i++ {
			f.AdvanceTime(time.Second)
			_, err := f.Keeper.Slash(f.Ctx, id, sdkmath.LegacyZeroDec(), "test")
			require.NoError(t, err)
		}
		n, err := f.Keeper.GetNode(f.Ctx, id)
		require.NoError(t, err)
		require.Len(t, n.SlashHistory, types.MaxSlashHistory)
		require.Equal(t, f.Ctx.BlockHeight(), n.SlashHistory[types.MaxSlashHistory-1].Height)
	})
}

func TestUpdateParams(t *testing.T) {
	valid := types.DefaultParams()
	valid.JailDuration = time.Hour
	otherDenom := types.DefaultParams()
	otherDenom.MinStakeMediaNode = sdk.NewInt64Coin("stake", 1)
	otherDenom.MinStakeOrchestrator = sdk.NewInt64Coin("stake", 1)
	zeroBound := types.DefaultParams()
	zeroBound.MaxUnbondingPerBlock = 0
	mixed := types.DefaultParams()
	mixed.MinStakeOrchestrator = sdk.NewInt64Coin("stake", 1)
	backingDenom := types.DefaultParams()
	backingDenom.StakePerSession = sdk.NewInt64Coin("stake", 1)
	noBacking := types.DefaultParams()
	noBacking.StakePerSession, noBacking.StakePerEgressMbps = sdk.NewInt64Coin("uchr", 0), sdk.NewInt64Coin("uchr", 0)

	tests := []struct {
		name      string
		authority func(f *fixture) string
		params    types.Params
		expErr    error
		expMsg    string
	}{
		{name: "gov changes params", authority: func(f *fixture) string { return f.Authority }, params: valid},
		{name: "someone else", authority: func(f *fixture) string { return f.operator.String() }, params: valid,
			expErr: sdkerrors.ErrUnauthorized, expMsg: "invalid authority"},
		{name: "stake denom change", authority: func(f *fixture) string { return f.Authority }, params: otherDenom,
			expErr: types.ErrInvalidParams, expMsg: "the stake denom cannot change"},
		{name: "unbounded end blocker", authority: func(f *fixture) string { return f.Authority }, params: zeroBound,
			expErr: types.ErrInvalidParams, expMsg: "max_unbonding_per_block must be in [1, 10000]"},
		{name: "mixed denoms", authority: func(f *fixture) string { return f.Authority }, params: mixed,
			expErr: types.ErrInvalidParams, expMsg: "differs from"},
		{name: "capacity backed in another denom", authority: func(f *fixture) string { return f.Authority }, params: backingDenom,
			expErr: types.ErrInvalidParams, expMsg: `stake_per_session denom "stake" is not the stake denom "uchr"`},
		{name: "no stake backing required", authority: func(f *fixture) string { return f.Authority }, params: noBacking},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			before := f.state(t)
			_, err := f.msgs.UpdateParams(f.Ctx, &types.MsgUpdateParams{Authority: tc.authority(f), Params: tc.params})
			if tc.expErr != nil {
				require.ErrorIs(t, err, tc.expErr)
				require.Contains(t, err.Error(), tc.expMsg)
				require.Equal(t, before, f.state(t))
				return
			}
			require.NoError(t, err)
			got, err := f.Keeper.Params(f.Ctx)
			require.NoError(t, err)
			require.Equal(t, tc.params, got)
		})
	}
}

func TestRegisterNodeRefusesSmallOrderKeys(t *testing.T) {
	identity := make([]byte, 32)
	identity[0] = 1            // the identity point (0, 1), little-endian
	order2 := make([]byte, 32) // (0, -1), the point of order 2
	order2[0] = 0xec
	for i := 1; i < 31; i++ {
		order2[i] = 0xff
	}
	order2[31] = 0x7f
	for name, key := range map[string][]byte{"identity": identity, "order 2": order2} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t)
			msg := sample.RegisterMediaNode(f.operator, 1, "DE")
			msg.Pubkey = key
			before := f.state(t)
			_, err := f.msgs.RegisterNode(f.Ctx, msg)
			f.requireFails(t, before, err, types.ErrInvalidPubkey, "pubkey")
		})
	}
}
