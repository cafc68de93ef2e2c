package keeper_test

import (
	"testing"
	"time"

	sdkmath "cosmossdk.io/math"
	sdk "github.com/cosmos/cosmos-sdk/types"
	"github.com/stretchr/testify/require"

	"github.com/chroom/chroom/format"
	testkeeper "github.com/chroom/chroom/testutil/keeper"
	"github.com/chroom/chroom/testutil/sample"
	registrykeeper "github.com/chroom/chroom/x/registry/keeper"
	registrytypes "github.com/chroom/chroom/x/registry/types"
	"github.com/chroom/chroom/x/verification/keeper"
	"github.com/chroom/chroom/x/verification/types"
)

// Key seeds of the fixture's nodes. Seeds from unregisteredSeed up are
// never registered.
const (
	mediaSeed        = 1
	orchSeed         = 2
	unregisteredSeed = 90
)

// fixture is the three-module chain with one ACTIVE media node and one
// ACTIVE orchestrator registered, each by its own funded operator.
type fixture struct {
	*testkeeper.Chroom
	msgs    types.MsgServer
	queries types.QueryServer
	regMsgs registrytypes.MsgServer

	mediaOp, orchOp, other sdk.AccAddress
	media, orch            *format.NodeKey
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	c := testkeeper.NewChroom(t)
	f := &fixture{
		Chroom:  c,
		msgs:    keeper.NewMsgServerImpl(c.Verification),
		queries: keeper.NewQueryServer(c.Verification),
		regMsgs: registrykeeper.NewMsgServerImpl(c.Registry),
		mediaOp: sample.AccAddress(1),
		orchOp:  sample.AccAddress(2),
		other:   sample.AccAddress(3),
		media:   sample.NodeKey(mediaSeed),
		orch:    sample.NodeKey(orchSeed),
	}
	for _, op := range []sdk.AccAddress{f.mediaOp, f.orchOp, f.other} {
		c.Bank.Fund(op, sdk.NewCoins(sample.Uchr(100_000_000)))
	}
	f.register(t, sample.RegisterMediaNode(f.mediaOp, mediaSeed, "DE"))
	f.register(t, sample.RegisterOrchestrator(f.orchOp, orchSeed, "DE"))
	return f
}

// register registers a node and returns its ID.
func (f *fixture) register(t *testing.T, msg *registrytypes.MsgRegisterNode) string {
	t.Helper()
	res, err := f.regMsgs.RegisterNode(f.Backdated(), msg)
	require.NoError(t, err, "register %s", msg.Moniker)
	return res.NodeId
}

// jail slashes node id by 1%, which jails it.
func (f *fixture) jail(t *testing.T, id string) {
	t.Helper()
	_, err := f.Registry.Slash(f.Ctx, id, sdkmath.LegacyNewDecWithPrec(1, 2), "test")
	require.NoError(t, err)
	n, err := f.Registry.GetNode(f.Ctx, id)
	require.NoError(t, err)
	require.Equal(t, registrytypes.NodeStatus_NODE_STATUS_JAILED, n.Status, "slash must jail node %s", id)
}

// signed returns a valid receipt of the fixture's nodes for session,
// signed for the test chain, with the client attestation of an honest web
// client (no loss seen by the client, so its quality is the node's).
func (f *fixture) signed(epoch int64, session int) format.SignedReceipt {
	return f.attest(sample.Sign(f.media, f.orch, testkeeper.ChainID, sample.Receipt(f.media, f.orch, epoch, session)), session)
}

// app creates app id owned by f.other, funded with amount uchr and
// billable by orchs.
func (f *fixture) app(t *testing.T, id string, amount int64, orchs ...string) {
	t.Helper()
	require.NoError(t, f.Incentives.CreateApp(f.Ctx, f.other.String(), id, orchs))
	if amount > 0 {
		_, err := f.Incentives.FundApp(f.Ctx, f.other.String(), id, sample.Uchr(amount))
		require.NoError(t, err)
	}
}

// appReceipt is signed(epoch, session) billed to app.
func (f *fixture) appReceipt(epoch int64, session int, app string) format.SignedReceipt {
	r := sample.Receipt(f.media, f.orch, epoch, session)
	r.AppId = app
	return f.attest(resign(f.media, f.orch, r), session)
}

// attest attaches the attestation of sample session n to s.
func (f *fixture) attest(s format.SignedReceipt, n int) format.SignedReceipt {
	return sample.Attest(f.orch, testkeeper.ChainID, s, n, nil)
}

// submit sends receipts as the orchestrator's operator through the Msg
// service.
func (f *fixture) submit(t *testing.T, receipts ...format.SignedReceipt) *types.MsgSubmitReceiptsResponse {
	t.Helper()
	res, err := f.msgs.SubmitReceipts(f.Ctx, &types.MsgSubmitReceipts{Submitter: f.orchOp.String(), Receipts: receipts})
	require.NoError(t, err)
	return res
}

// node returns registered node id.
func (f *fixture) node(t *testing.T, id string) registrytypes.Node {
	t.Helper()
	n, err := f.Registry.GetNode(f.Ctx, id)
	require.NoError(t, err)
	return n
}

// tally returns the media node tally of (epoch, id).
func (f *fixture) tally(t *testing.T, epoch int64, id string) types.NodeEpochTally {
	t.Helper()
	tl, err := f.Verification.NodeTally(f.Ctx, epoch, id)
	require.NoError(t, err)
	return tl
}

// totals returns the totals of epoch.
func (f *fixture) totals(t *testing.T, epoch int64) types.EpochTotals {
	t.Helper()
	tt, err := f.Verification.EpochTotals(f.Ctx, epoch)
	require.NoError(t, err)
	return tt
}

// markers returns how many replay markers are stored.
func (f *fixture) markers(t *testing.T) int {
	t.Helper()
	n, err := f.Verification.ReplayMarkerCount(f.Ctx)
	require.NoError(t, err)
	return n
}

// freshEvents gives the context an empty event manager.
func (f *fixture) freshEvents() { f.Ctx = f.Ctx.WithEventManager(sdk.NewEventManager()) }

// chainState is everything a message may change: both modules' state
// (encoded, so equal state compares equal byte for byte) and all balances.
type chainState struct {
	verification []byte
	registry     []byte
	balances     map[string]string
}

func (f *fixture) state(t *testing.T) chainState {
	t.Helper()
	vgs, err := f.Verification.ExportGenesis(f.Ctx)
	require.NoError(t, err)
	rgs, err := f.Registry.ExportGenesis(f.Ctx)
	require.NoError(t, err)
	v, err := vgs.Marshal()
	require.NoError(t, err)
	r, err := rgs.Marshal()
	require.NoError(t, err)
	bal := map[string]string{}
	for addr, coins := range f.Bank.Snapshot() {
		bal[addr] = coins.String()
	}
	return chainState{verification: v, registry: r, balances: bal}
}

// requireState fails unless the chain is in state want.
func (f *fixture) requireState(t *testing.T, want chainState, msg string) {
	t.Helper()
	got := f.state(t)
	require.Equal(t, want.balances, got.balances, "%s: balances differ", msg)
	if string(want.registry) != string(got.registry) {
		t.Fatalf("%s: x/registry state differs", msg)
	}
	if string(want.verification) != string(got.verification) {
		t.Fatalf("%s: x/verification state differs", msg)
	}
}

// rejectedEvents returns the EventReceiptRejected events emitted since the
// last freshEvents.
func (f *fixture) rejectedEvents(t *testing.T) []*types.EventReceiptRejected {
	t.Helper()
	var out []*types.EventReceiptRejected
	for _, e := range f.Ctx.EventManager().ABCIEvents() {
		if e.Type != "chroom.verification.v1.EventReceiptRejected" {
			continue
		}
		msg, err := sdk.ParseTypedEvent(e)
		require.NoError(t, err)
		out = append(out, msg.(*types.EventReceiptRejected))
	}
	return out
}

// countEvents counts the events of type typ emitted since the last
// freshEvents.
func (f *fixture) countEvents(typ string) int {
	n := 0
	for _, e := range f.Ctx.EventManager().Events() {
		if e.Type == typ {
			n++
		}
	}
	return n
}

// flipBit returns a copy of sig with its first bit flipped.
func flipBit(sig []byte) []byte {
	out := append([]byte(nil), sig...)
	out[0] ^= 1
	return out
}

// resign signs r again with the fixture's (or given) keys after a change.
func resign(media, orch *format.NodeKey, r format.UsageReceipt) format.SignedReceipt {
	return sample.Sign(media, orch, testkeeper.ChainID, r)
}

// countersignWith returns a countersignature of r by key k over domain
// object for chainID, whatever r's orchestrator_id says.
func countersignWith(t *testing.T, k *format.NodeKey, object, chainID string, r *format.UsageReceipt) []byte {
	t.Helper()
	payload, err := r.Marshal()
	require.NoError(t, err)
	sig, err := k.Sign(object, chainID, payload)
	require.NoError(t, err)
	return sig
}

// dec parses a decimal for comparisons.
func dec(s string) sdkmath.LegacyDec { return sdkmath.LegacyMustNewDecFromStr(s) }

// shortEpochs sets the epoch length to d and moves the block time to 50
// minutes after the sample receipts' start (2025-12-31T23:00:00Z), so they
// stay inside the chain's receipt time window (two epochs and the grace
// before the block time).
func (f *fixture) shortEpochs(d time.Duration) {
	f.Epochs.Duration = d
	f.Ctx = f.Ctx.WithBlockTime(time.UnixMilli(1_767_222_000_000).Add(10 * time.Minute))
}
