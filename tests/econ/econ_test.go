//go:build econsim

// Package econ is Chroom's adversarial economic simulation (make econ-sim):
// agents with honest and dishonest strategies drive the real x/registry,
// x/verification and x/incentives keepers through their real messages
// (MsgRegisterNode, MsgSubmitReceipts; the x/epochs hook and end-blockers
// pay out) for a number of epochs, deterministically from a seed, and the
// test prints, per strategy: stake, fees paid, burned, rewards, slashed,
// ROI per epoch, and the honest operators' share of the rewards.
//
//	make econ-sim                       # 100 epochs, seed 1
//	go test -tags econsim -run TestEconSim -v ./tests/econ/ -epochs 200 -seed 7
//
// It prints the table first, then asserts: every attack earns no more than
// the fees it paid itself (ROI < 0) — including full self-dealing with
// fabricated client keys at perfect quality — a lone media node earns
// nothing, inflated capacity earns no more than the stake backs, inflated
// node quality earns less per second than honest service (the clients'
// figures cap it), stale, future, out-of-time and sub-second receipts are
// refused, the honest operators get their fee-weighted share (fees ×
// quality) within 1 %, and the reward pool's and the registry's
// invariants hold.
package econ

import (
	"flag"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"text/tabwriter"
	"time"

	sdkmath "cosmossdk.io/math"
	sdk "github.com/cosmos/cosmos-sdk/types"
	"github.com/stretchr/testify/require"

	"github.com/chroom/chroom/format"
	"github.com/chroom/chroom/noderpc"
	"github.com/chroom/chroom/orchestrator/selector"
	"github.com/chroom/chroom/orchestrator/session"
	testkeeper "github.com/chroom/chroom/testutil/keeper"
	"github.com/chroom/chroom/testutil/sample"
	incentivestypes "github.com/chroom/chroom/x/incentives/types"
	registrykeeper "github.com/chroom/chroom/x/registry/keeper"
	registrytypes "github.com/chroom/chroom/x/registry/types"
	verificationkeeper "github.com/chroom/chroom/x/verification/keeper"
	verificationtypes "github.com/chroom/chroom/x/verification/types"
)

var (
	epochs = flag.Int("epochs", 100, "epochs to simulate")
	seed   = flag.Int64("seed", 1, "random seed (the run is deterministic for a seed)")
)

const epochSeconds = 3600 // the test chain's epoch: one hour

// agent is one strategy: the operators it controls, its nodes and how it
// fills each epoch with receipts.
type agent struct {
	name      string
	operators []sdk.AccAddress
	stake     sdkmath.Int // uchr bonded over all its nodes
	// receipts returns the signed receipts the agent's orchestrator
	// operator submits in epoch (by submitter).
	receipts func(epoch int64) map[string][]format.SignedReceipt

	accepted, rejected int
	rejectReasons      map[string]int
	rewards            sdkmath.Int
	claimedSeconds     uint64 // verified seconds accepted on chain
	secondsByEpoch     map[int64]uint64
	media              []*format.NodeKey // its media nodes
	// fees are the usage fees its orchestrator operator paid; selfPaid
	// says they are the strategy's own cost (it is, or plays, the app),
	// not money its apps paid it for real calls.
	fees     sdkmath.Int
	selfPaid bool
	// app is the app whose escrow pays the agent's receipts ("": its
	// orchestrator operator pays).
	app string
}

type sim struct {
	t       *testing.T
	c       *testkeeper.Chroom
	rng     *rand.Rand
	reg     registrytypes.MsgServer
	ver     verificationtypes.MsgServer
	nextKey int
	nextOp  int
	session int
	// expectedHonest is the honest operators' fee-weighted share, uchr.
	expectedHonest sdkmath.LegacyDec
}

func (s *sim) newOperator() sdk.AccAddress {
	s.nextOp++
	op := sample.AccAddress(1000 + s.nextOp)
	s.c.Bank.Fund(op, sdk.NewCoins(sample.Uchr(1_000_000_000)))
	return op
}

// register registers a node of typ for op with stake (uchr) and declared
// capacity, and returns its key.
func (s *sim) register(op sdk.AccAddress, typ registrytypes.NodeType, stake int64, sessions uint32, egressKbps uint64) *format.NodeKey {
	s.nextKey++
	n := 5000 + s.nextKey
	msg := sample.RegisterMediaNode(op, n, "DE")
	msg.NodeType, msg.Stake, msg.MaxSessions, msg.MaxEgressKbps = typ, sample.Uchr(stake), sessions, egressKbps
	_, err := s.reg.RegisterNode(s.c.Backdated(), msg) // registered before its first receipt
	require.NoError(s.t, err)
	return sample.NodeKey(n)
}

// attested attaches to a receipt of sim session n (s.receipt) the
// attestation of a web client that saw clientLossPer10k of 10,000 packets
// lost, signed with the client key sample.ClientKey(n): a real client, or
// one a self-dealer fabricated — the chain cannot tell them apart.
func (s *sim) attested(orch *format.NodeKey, sr format.SignedReceipt, clientLossPer10k uint64) format.SignedReceipt {
	st := sample.Statement(sr.Receipt, s.session)
	st.PacketsReceived, st.PacketsLost = 10_000-clientLossPer10k, clientLossPer10k
	return sample.Attest(orch, testkeeper.ChainID, sr, s.session, st)
}

// billed returns s.receipt billed to app (its escrow pays the fee).
func (s *sim) billed(media, orch *format.NodeKey, epoch int64, seconds int64, lossPer10k uint64, rttMs uint32, app string) format.SignedReceipt {
	sr := s.receipt(media, orch, epoch, seconds, lossPer10k, rttMs)
	sr.Receipt.AppId = app
	return sample.Sign(media, orch, testkeeper.ChainID, *sr.Receipt)
}

// app creates app id owned by a new operator, funded with amount uchr,
// billable by orch; it returns the owner.
func (s *sim) app(id string, amount int64, orch *format.NodeKey) sdk.AccAddress {
	owner := s.newOperator()
	s.c.Bank.Fund(owner, sdk.NewCoins(sample.Uchr(amount)))
	require.NoError(s.t, s.c.Incentives.CreateApp(s.c.Ctx, owner.String(), id, []string{orch.ID}))
	_, err := s.c.Incentives.FundApp(s.c.Ctx, owner.String(), id, sample.Uchr(amount))
	require.NoError(s.t, err)
	return owner
}

// escrowSpent is what app id's escrow has paid so far.
func (s *sim) escrowSpent(id string) sdkmath.Int {
	a, err := s.c.Incentives.App(s.c.Ctx, id)
	require.NoError(s.t, err)
	return a.Spent.Amount
}

// receipt is a signed receipt of sim session s.session+1: a segment of
// seconds ending at the block time with the given loss (per 10,000
// packets) and RTT, on a grant's first connection.
func (s *sim) receipt(media, orch *format.NodeKey, epoch int64, seconds int64, lossPer10k uint64, rttMs uint32) format.SignedReceipt {
	s.session++
	// Segments end at the block time, as a node reporting promptly would.
	end := s.c.Ctx.BlockTime()
	r := sample.ReceiptAt(media, orch, epoch, s.session, end.Add(-time.Duration(seconds)*time.Second))
	r.EndUnixMs = r.StartUnixMs + seconds*1000
	r.BytesOut = uint64(seconds) * 187_500 // 1.5 Mbit/s down
	r.BytesIn = uint64(seconds) * 62_500   // 0.5 Mbit/s up
	r.PacketsSent, r.PacketsLost, r.RttMsP50 = 10_000, lossPer10k, rttMs
	r.ClientReport = nil
	return sample.Sign(media, orch, testkeeper.ChainID, r)
}

func TestEconSim(t *testing.T) {
	began := time.Now()
	s := &sim{t: t, c: testkeeper.NewChroom(t).WithFees(t), rng: rand.New(rand.NewSource(*seed))}
	// x/epochs start times bound receipt times (the epoch window).
	s.c.Epochs.Start = s.c.Ctx.BlockTime()
	s.reg = registrykeeper.NewMsgServerImpl(s.c.Registry)
	s.ver = verificationkeeper.NewMsgServerImpl(s.c.Verification)
	backing, err := s.c.Registry.Params(s.c.Ctx)
	require.NoError(t, err)

	var agents []*agent
	add := func(a *agent) *agent {
		a.rewards, a.fees, a.rejectReasons, a.secondsByEpoch = sdkmath.ZeroInt(), sdkmath.ZeroInt(), map[string]int{}, map[int64]uint64{}
		a.selfPaid = len(agents) > 0 && !strings.HasPrefix(a.name, "quality inflation") // its apps pay
		agents = append(agents, a)
		return a
	}

	// Honest: four media nodes of 5 CHR and one orchestrator of 5 CHR,
	// serving real load that varies by node and epoch.
	{
		orchOp := s.newOperator()
		orch := s.register(orchOp, registrytypes.NodeType_NODE_TYPE_ORCHESTRATOR, 5_000_000, 1, 1)
		a := &agent{name: "honest operators (4 media nodes, 1 orchestrator)", operators: []sdk.AccAddress{orchOp}, stake: sdkmath.NewInt(5_000_000)}
		s.app("honest-app", 1_000_000_000_000, orch) // its apps' users pay
		var media []*format.NodeKey
		load := []int{30, 60, 90, 120} // mean sessions per epoch, per node
		for range load {
			op := s.newOperator()
			media = append(media, s.register(op, registrytypes.NodeType_NODE_TYPE_MEDIA, 5_000_000, 500, 1_000_000))
			a.operators = append(a.operators, op)
			a.stake = a.stake.AddRaw(5_000_000)
		}
		a.receipts = func(epoch int64) map[string][]format.SignedReceipt {
			var rs []format.SignedReceipt
			for i, m := range media {
				n := load[i]/2 + s.rng.Intn(load[i])
				for j := 0; j < n; j++ {
					loss := uint64(50 + s.rng.Intn(250))
					sr := s.billed(m, orch, epoch, int64(120+s.rng.Intn(3000)), loss, uint32(20+s.rng.Intn(100)), "honest-app")
					rs = append(rs, s.attested(orch, sr, loss)) // its web clients saw the same loss
				}
			}
			return map[string][]format.SignedReceipt{orchOp.String(): rs}
		}
		a.media = media
		a.app = "honest-app"
		add(a)
	}

	// A lone lying media node (1 CHR) attached to an honest orchestrator:
	// its made-up sessions go through the orchestrator's real session check
	// (orchestrator/session), which countersigns only connections of grants
	// it issued whose joins it observed.
	{
		op := s.newOperator()
		liar := s.register(op, registrytypes.NodeType_NODE_TYPE_MEDIA, 1_000_000, 100, 200_000)
		honestOrch := sample.NodeKey(5001)
		now := time.Unix(1_767_225_600, 0)
		book := session.New(session.Params{Clock: func() time.Time { return now },
			Nodes: nodesFunc(func() []selector.Candidate {
				return []selector.Candidate{{ID: liar.ID, MaxSessions: 100, MaxEgressKbps: 200_000, Load: &selector.Load{ReportedAt: now}}}
			})})
		// One real viewer joined and left after a minute.
		_, _, err := book.Place("room-1", "", nil)
		require.NoError(t, err)
		rec, err := book.Admit(session.Admission{Room: "room-1", NodeID: liar.ID, Identity: "guest-1", IP: "192.0.2.1"})
		require.NoError(t, err)
		_, err = book.Apply(liar.ID, session.Event{Type: noderpc.SessionJoined, Room: "room-1", Identity: "guest-1", GrantID: rec.JTI, At: now})
		require.NoError(t, err)
		_, err = book.Apply(liar.ID, session.Event{Type: noderpc.SessionLeft, Room: "room-1", Identity: "guest-1", GrantID: rec.JTI, At: now.Add(time.Minute)})
		require.NoError(t, err)
		now = now.Add(time.Hour)
		check := session.Checker{Book: book, Tolerance: session.Tolerance{Clock: 30 * time.Second}}
		a := &agent{name: "lone lying media node (1 CHR)", operators: []sdk.AccAddress{op}, stake: sdkmath.NewInt(1_000_000)}
		a.receipts = func(epoch int64) map[string][]format.SignedReceipt {
			for j := 0; j < 100; j++ { // a full epoch of made-up sessions at its backed capacity
				r := s.receipt(liar, honestOrch, epoch, epochSeconds, 0, 10)
				if _, err := check.Check(r.Receipt); err == nil {
					t.Fatalf("the orchestrator countersigned a made-up session")
				}
				a.rejected++
				a.rejectReasons["orchestrator: unknown_session"]++
			}
			return nil // nothing countersigned, nothing to submit
		}
		add(a)
	}

	// Node + orchestrator collusion (one operator runs both; or full
	// self-dealing with an app and fabricated clients: the same on chain
	// today, as apps pay nothing yet): a 5 CHR media node claims its
	// whole backed capacity every epoch at perfect quality.
	collude := func(name string, mediaStake int64, nodes int, declared uint32, claim int) *agent {
		op := s.newOperator()
		orch := s.register(op, registrytypes.NodeType_NODE_TYPE_ORCHESTRATOR, 5_000_000, 1, 1)
		a := &agent{name: name, operators: []sdk.AccAddress{op}, stake: sdkmath.NewInt(5_000_000)}
		var media []*format.NodeKey
		for i := 0; i < nodes; i++ {
			media = append(media, s.register(op, registrytypes.NodeType_NODE_TYPE_MEDIA, mediaStake, declared, 10_000_000))
			a.stake = a.stake.AddRaw(mediaStake)
		}
		a.receipts = func(epoch int64) map[string][]format.SignedReceipt {
			var rs []format.SignedReceipt
			for _, m := range media {
				for j := 0; j < claim; j++ {
					rs = append(rs, s.receipt(m, orch, epoch, epochSeconds, 0, 5))
				}
			}
			return map[string][]format.SignedReceipt{op.String(): rs}
		}
		return add(a)
	}
	collude("node + orchestrator collusion, unattested (5 CHR node)", 5_000_000, 1, 500, 500)

	// Full self-dealing: one party is the app (it funds an escrow), the
	// orchestrator and the media node, and fabricates client keys that
	// attest perfect sessions: 500 sessions all epoch, every epoch.
	{
		op := s.newOperator()
		orch := s.register(op, registrytypes.NodeType_NODE_TYPE_ORCHESTRATOR, 5_000_000, 1, 1)
		m := s.register(op, registrytypes.NodeType_NODE_TYPE_MEDIA, 5_000_000, 500, 10_000_000)
		owner := s.app("self-dealer", 1_000_000_000_000, orch)
		a := &agent{name: "full self-dealing (app + orchestrator + 5 CHR node, fabricated client keys)", operators: []sdk.AccAddress{op, owner},
			stake: sdkmath.NewInt(10_000_000)}
		a.receipts = func(epoch int64) map[string][]format.SignedReceipt {
			var rs []format.SignedReceipt
			for j := 0; j < 500; j++ {
				rs = append(rs, s.attested(orch, s.billed(m, orch, epoch, epochSeconds, 0, 5, "self-dealer"), 0))
			}
			return map[string][]format.SignedReceipt{op.String(): rs}
		}
		a.app = "self-dealer"
		add(a)
	}

	// Quality inflation: an operator with real users (its app pays) whose
	// media node reports perfect figures (no loss, 5 ms) while its
	// clients saw 5% loss: the clients' figures cap the quality.
	var inflator *agent
	{
		op := s.newOperator()
		orch := s.register(op, registrytypes.NodeType_NODE_TYPE_ORCHESTRATOR, 5_000_000, 1, 1)
		m := s.register(op, registrytypes.NodeType_NODE_TYPE_MEDIA, 5_000_000, 500, 1_000_000)
		s.app("inflator-app", 1_000_000_000_000, orch)
		inflator = add(&agent{name: "quality inflation (node reports no loss; its clients saw 5%)", operators: []sdk.AccAddress{op}, stake: sdkmath.NewInt(10_000_000)})
		inflator.receipts = func(epoch int64) map[string][]format.SignedReceipt {
			var rs []format.SignedReceipt
			for j := 0; j < 60+s.rng.Intn(60); j++ {
				rs = append(rs, s.attested(orch, s.billed(m, orch, epoch, int64(120+s.rng.Intn(3000)), 0, 5, "inflator-app"), 500))
			}
			return map[string][]format.SignedReceipt{op.String(): rs}
		}
		inflator.app = "inflator-app"
	}
	collude("Sybil swarm (10 × 1 CHR nodes)", 1_000_000, 10, 100, 100)
	inflated := collude("capacity inflation (1 CHR node declaring 4,294,967,295 sessions)", 1_000_000, 1, 4_294_967_295, 1000)

	// Timing games: stale, future, sub-second and duplicate receipts.
	var timing *agent
	{
		op := s.newOperator()
		orch := s.register(op, registrytypes.NodeType_NODE_TYPE_ORCHESTRATOR, 5_000_000, 1, 1)
		m := s.register(op, registrytypes.NodeType_NODE_TYPE_MEDIA, 1_000_000, 100, 200_000)
		timing = add(&agent{name: "timing games (stale, future, sub-second, 1970 and future-dated receipts)", operators: []sdk.AccAddress{op}, stake: sdkmath.NewInt(6_000_000)})
		timing.receipts = func(epoch int64) map[string][]format.SignedReceipt {
			var rs []format.SignedReceipt
			if epoch > 2 {
				rs = append(rs, s.receipt(m, orch, epoch-2, 600, 0, 5)) // stale
			}
			rs = append(rs, s.receipt(m, orch, epoch+1, 600, 0, 5)) // future
			old := s.receipt(m, orch, epoch, 600, 0, 5)
			old.Receipt.StartUnixMs, old.Receipt.EndUnixMs = 1, 601_000 // 1970
			rs = append(rs, sample.Sign(m, orch, testkeeper.ChainID, *old.Receipt))
			ahead := s.receipt(m, orch, epoch, 600, 0, 5)
			ahead.Receipt.StartUnixMs += 3_600_000 // an hour in the future
			ahead.Receipt.EndUnixMs += 3_600_000
			rs = append(rs, sample.Sign(m, orch, testkeeper.ChainID, *ahead.Receipt))
			short := s.receipt(m, orch, epoch, 600, 0, 5)
			short.Receipt.EndUnixMs = short.Receipt.StartUnixMs + 999 // sub-second
			rs = append(rs, sample.Sign(m, orch, testkeeper.ChainID, *short.Receipt))
			return map[string][]format.SignedReceipt{op.String(): rs}
		}
	}

	// Run the epochs. Receipts of epoch e are submitted during e; e is
	// paid when e+1 ends (x/incentives), then claimable.
	for e := 0; e < *epochs; e++ {
		epoch := s.c.Epochs.Current
		s.c.NextBlock(epochSeconds * time.Second) // the epoch's end: its sessions end now
		for _, a := range agents {
			for submitter, rs := range a.receipts(epoch) {
				s.submit(a, submitter, rs)
			}
		}
		s.c.EndEpoch(t)
		for i := 0; i < 10; i++ { // pay out (bounded per block)
			require.NoError(t, s.c.EndBlock(s.c.Ctx))
			s.c.NextBlock(time.Second)
		}
	}
	s.c.EndEpoch(t) // pay the last epoch
	for i := 0; i < 10; i++ {
		require.NoError(t, s.c.EndBlock(s.c.Ctx))
		s.c.NextBlock(time.Second)
	}

	total := sdkmath.ZeroInt()
	for _, a := range agents {
		for _, op := range a.operators {
			c, err := s.c.Incentives.Claimable(s.c.Ctx, op)
			require.NoError(t, err)
			a.rewards = a.rewards.Add(c)
		}
		total = total.Add(a.rewards)
	}
	// The honest operators' fee-weighted share: per epoch, the media
	// budget × their nodes' Σ seconds × quality (fees × quality: the fee
	// is per second) over all nodes' Σ seconds (the fees), plus the orchestrator budget × their
	// orchestrator's seconds over all orchestrators'.
	honest := agents[0]
	expected := sdkmath.LegacyZeroDec()
	for e := int64(1); e <= int64(*epochs); e++ {
		sum, err := s.c.Incentives.Summary(s.c.Ctx, e)
		require.NoError(t, err)
		w := sdkmath.LegacyZeroDec()
		for _, m := range honest.media {
			tl, err := s.c.Verification.NodeTally(s.c.Ctx, e, m.ID)
			require.NoError(t, err)
			w = w.Add(tl.Weight)
		}
		if sum.OrchestratorSeconds > 0 { // Σ verified seconds: the fee-weighted denominator
			expected = expected.Add(sum.MediaBudget.Amount.ToLegacyDec().Mul(w).QuoInt64(int64(sum.OrchestratorSeconds)))
		}
		if sum.OrchestratorSeconds > 0 {
			expected = expected.Add(sum.OrchestratorBudget.Amount.ToLegacyDec().MulInt64(int64(honest.secondsByEpoch[e])).QuoInt64(int64(sum.OrchestratorSeconds)))
		}
	}
	s.expectedHonest = expected
	s.report(agents, total, time.Since(began)) // before the assertions, so a failing run shows its numbers

	require.NoError(t, s.c.Incentives.PoolInvariant(s.c.Ctx))
	require.NoError(t, s.c.Registry.StakeInvariant(s.c.Ctx))
	// What the rules in force guarantee.
	lone := agents[1]
	require.True(t, lone.rewards.IsZero(), "a lone lying media node earns nothing")
	require.Zero(t, timing.accepted, "every timing-game receipt is refused")
	require.True(t, timing.rewards.IsZero())
	backed := backing.BackedCapacity(registrytypes.Node{Capacity: registrytypes.Capacity{MaxSessions: 4_294_967_295, MaxEgressKbps: 10_000_000}, Stake: sample.Uchr(1_000_000)})
	require.LessOrEqual(t, inflated.claimedSeconds, uint64(*epochs)*uint64(backed.MaxSessions)*epochSeconds,
		"inflated capacity is credited no more than the stake backs")
	// The rule: no strategy earns more than it costs unless it
	// serves real people (usage fees it pays itself, half burned, emission
	// at most 0.4 × fees).
	for _, a := range agents[1:] {
		if a.selfPaid {
			require.True(t, a.rewards.LTE(a.fees), "%s earns %s for %s of fees it paid itself", a.name, a.rewards, a.fees)
		}
	}
	// Honest operators get their fee-weighted share within 1%.
	got := honest.rewards.ToLegacyDec()
	require.True(t, got.Sub(expected).Abs().LTE(expected.QuoInt64(100)),
		"honest operators earned %s, their fee-weighted share is %s", got, expected)
	// Inflated node figures earn nothing extra: per credited second, the
	// inflator earns less than the honest operators (its clients' 5% loss
	// caps its quality at 0.5).
	perSecond := func(a *agent) sdkmath.LegacyDec {
		return a.rewards.ToLegacyDec().QuoInt64(int64(a.claimedSeconds))
	}
	require.True(t, perSecond(inflator).LT(perSecond(honest)), "quality inflation: %s per second vs honest %s", perSecond(inflator), perSecond(honest))
}

func (s *sim) submit(a *agent, submitter string, rs []format.SignedReceipt) {
	for len(rs) > 0 {
		n := min(len(rs), verificationtypes.DefaultMaxReceiptsPerMsg)
		addr := sdk.MustAccAddressFromBech32(submitter)
		before := s.c.Bank.GetBalance(s.c.Ctx, addr, "uchr").Amount
		var spentBefore sdkmath.Int
		if a.app != "" {
			spentBefore = s.escrowSpent(a.app)
		}
		res, err := s.ver.SubmitReceipts(s.c.Ctx, &verificationtypes.MsgSubmitReceipts{Submitter: submitter, Receipts: rs[:n]})
		require.NoError(s.t, err)
		a.fees = a.fees.Add(before.Sub(s.c.Bank.GetBalance(s.c.Ctx, addr, "uchr").Amount))
		if a.app != "" {
			a.fees = a.fees.Add(s.escrowSpent(a.app).Sub(spentBefore))
		}
		a.accepted += len(res.Accepted)
		a.rejected += len(res.Rejected)
		for _, rej := range res.Rejected {
			a.rejectReasons[strings.ToLower(strings.TrimPrefix(rej.Reason.String(), "REJECT_REASON_"))]++
		}
		for _, i := range res.Accepted {
			a.claimedSeconds += rs[i].Receipt.DurationSeconds()
			a.secondsByEpoch[rs[i].Receipt.Epoch] += rs[i].Receipt.DurationSeconds()
		}
		rs = rs[n:]
	}
}

func (s *sim) report(agents []*agent, total sdkmath.Int, took time.Duration) {
	var b strings.Builder
	fmt.Fprintf(&b, "econ-sim: %d epochs of %d s, seed %d; usage fee %s per participant-minute, %s of fees burned, emission min(%s, %s × fees) per epoch; %s\n\n",
		*epochs, epochSeconds, *seed, verificationtypes.DefaultPricePerParticipantMinute, incentivestypes.DefaultFeeBurnFraction,
		incentivestypes.DefaultEmissionPerEpoch, incentivestypes.DefaultEmissionPerFee, took.Round(time.Second))
	w := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "strategy\tstake CHR\tfees paid CHR\tburned CHR\trewards CHR\tslashed\tROI/epoch\treward share\tfee share\taccepted\trefused\t")
	allFees := sdkmath.ZeroInt()
	for _, a := range agents {
		allFees = allFees.Add(a.fees)
	}
	burn := incentivestypes.DefaultFeeBurnFraction
	for _, a := range agents {
		stake := chr(a.stake)
		net := chr(a.rewards)
		paid := "by its apps"
		if a.selfPaid {
			net -= chr(a.fees)
			paid = fmt.Sprintf("%.2f", chr(a.fees))
		}
		roi := 0.0
		if stake > 0 {
			roi = net / stake / float64(*epochs) * 100
		}
		share, feeShare := 0.0, 0.0
		if total.IsPositive() {
			share = chr(a.rewards) / chr(total) * 100
		}
		if allFees.IsPositive() {
			feeShare = chr(a.fees) / chr(allFees) * 100
		}
		fmt.Fprintf(w, "%s\t%.0f\t%s\t%.2f\t%.2f\t0\t%+.3f %%\t%.1f %%\t%.1f %%\t%d\t%d\t\n", a.name, stake, paid,
			chr(burn.MulInt(a.fees).TruncateInt()), chr(a.rewards), roi, share, feeShare, a.accepted, a.rejected)
	}
	_ = w.Flush()
	b.WriteString("\nrefusals by reason:\n")
	for _, a := range agents {
		if len(a.rejectReasons) == 0 {
			continue
		}
		var keys []string
		for k := range a.rejectReasons {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var parts []string
		for _, k := range keys {
			parts = append(parts, fmt.Sprintf("%s %d", k, a.rejectReasons[k]))
		}
		fmt.Fprintf(&b, "  %s: %s\n", a.name, strings.Join(parts, ", "))
	}
	if h := agents[0]; s.expectedHonest.IsPositive() {
		dev := (chr(h.rewards) - chr(s.expectedHonest.TruncateInt())) / chr(s.expectedHonest.TruncateInt()) * 100
		fmt.Fprintf(&b, "\nhonest operators: %.2f CHR earned, fee-weighted share %.2f CHR (%+.3f %%; target within 1 %%)\n",
			chr(h.rewards), chr(s.expectedHonest.TruncateInt()), dev)
	}
	b.WriteString("\nROI counts the fees a strategy paid itself (it is, or plays, the app); honest operators' fees are paid by their apps.\n")
	var attacks []string
	for _, a := range agents[1:] {
		if a.selfPaid && a.rewards.GT(a.fees) {
			attacks = append(attacks, a.name)
		}
	}
	if len(attacks) > 0 {
		fmt.Fprintf(&b, "TARGET NOT MET (issue: every attack's ROI < 0): positive ROI for %s.\n", strings.Join(attacks, "; "))
	} else {
		b.WriteString("Every attack's ROI is negative.\n")
	}
	out := b.String()
	s.t.Log("\n" + out)
	if dir := os.Getenv("CHROOM_ECON_OUT"); dir != "" {
		_ = os.MkdirAll(dir, 0o755)
		_ = os.WriteFile(filepath.Join(dir, "econ-sim.txt"), []byte(out), 0o644)
	}
}

func chr(i sdkmath.Int) float64 {
	f, _ := sdkmath.LegacyNewDecFromInt(i).QuoInt64(1_000_000).Float64()
	return f
}

type nodesFunc func() []selector.Candidate

func (f nodesFunc) Candidates() []selector.Candidate { return f() }
