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
// the fees it paid itself (ROI < 0), a lone media node earns nothing,
// inflated capacity earns no more than the stake backs, stale, future,
// out-of-time and sub-second receipts are refused, and the reward pool's
// and the registry's invariants hold. It does not assert the honest
// operators' share (the table reports it against their fee share).
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
	// fees are the usage fees its orchestrator operator paid; selfPaid
	// says they are the strategy's own cost (it is, or plays, the app),
	// not money its apps paid it for real calls.
	fees     sdkmath.Int
	selfPaid bool
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
	_, err := s.reg.RegisterNode(s.c.Ctx, msg)
	require.NoError(s.t, err)
	return sample.NodeKey(n)
}

// receipt is a signed receipt of a segment of seconds with the given loss
// (per 10,000 packets) and RTT.
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
	s.reg = registrykeeper.NewMsgServerImpl(s.c.Registry)
	s.ver = verificationkeeper.NewMsgServerImpl(s.c.Verification)
	backing, err := s.c.Registry.Params(s.c.Ctx)
	require.NoError(t, err)

	var agents []*agent
	add := func(a *agent) *agent {
		a.rewards, a.fees, a.rejectReasons = sdkmath.ZeroInt(), sdkmath.ZeroInt(), map[string]int{}
		a.selfPaid = len(agents) > 0 // every strategy but the honest one pays its own fees
		agents = append(agents, a)
		return a
	}

	// Honest: four media nodes of 5 CHR and one orchestrator of 5 CHR,
	// serving real load that varies by node and epoch.
	{
		orchOp := s.newOperator()
		orch := s.register(orchOp, registrytypes.NodeType_NODE_TYPE_ORCHESTRATOR, 5_000_000, 1, 1)
		a := &agent{name: "honest operators (4 media nodes, 1 orchestrator)", operators: []sdk.AccAddress{orchOp}, stake: sdkmath.NewInt(5_000_000)}
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
					rs = append(rs, s.receipt(m, orch, epoch, int64(120+s.rng.Intn(3000)), uint64(50+s.rng.Intn(250)), uint32(20+s.rng.Intn(100))))
				}
			}
			return map[string][]format.SignedReceipt{orchOp.String(): rs}
		}
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
		_, _, err := book.Place("room-1", "")
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
				if check.Check(r.Receipt) == nil {
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
	collude("node + orchestrator collusion / full self-dealing (5 CHR node)", 5_000_000, 1, 500, 500)
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
		require.True(t, a.rewards.LTE(a.fees), "%s earns %s for %s of fees it paid itself", a.name, a.rewards, a.fees)
	}
}

func (s *sim) submit(a *agent, submitter string, rs []format.SignedReceipt) {
	for len(rs) > 0 {
		n := min(len(rs), verificationtypes.DefaultMaxReceiptsPerMsg)
		addr := sdk.MustAccAddressFromBech32(submitter)
		before := s.c.Bank.GetBalance(s.c.Ctx, addr, "uchr").Amount
		res, err := s.ver.SubmitReceipts(s.c.Ctx, &verificationtypes.MsgSubmitReceipts{Submitter: submitter, Receipts: rs[:n]})
		require.NoError(s.t, err)
		a.fees = a.fees.Add(before.Sub(s.c.Bank.GetBalance(s.c.Ctx, addr, "uchr").Amount))
		a.accepted += len(res.Accepted)
		a.rejected += len(res.Rejected)
		for _, rej := range res.Rejected {
			a.rejectReasons[strings.ToLower(strings.TrimPrefix(rej.Reason.String(), "REJECT_REASON_"))]++
		}
		for _, i := range res.Accepted {
			a.claimedSeconds += rs[i].Receipt.DurationSeconds()
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
	b.WriteString("\nROI counts the fees a strategy paid itself (it is, or plays, the app); honest operators' fees are paid by their apps.\n")
	var attacks []string
	for _, a := range agents[1:] {
		if a.rewards.GT(a.fees) {
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
