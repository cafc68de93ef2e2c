package selector_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chroom/chroom/orchestrator/selector"
)

var now = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

func node(id, region string, participants uint32, quality float64, age time.Duration) selector.Candidate {
	return selector.Candidate{ID: id, Region: region, Quality: quality, MaxSessions: 100, MaxEgressKbps: 1_000_000,
		Load: &selector.Load{Participants: participants, EgressKbps: uint64(participants) * 2000, CPUPermille: participants, ReportedAt: now.Add(-age)}}
}

func TestSelect(t *testing.T) {
	silent := node("silent", "DE", 0, 1, 0)
	silent.Load = nil
	draining := node("draining", "DE", 0, 1, 0)
	draining.Load.Draining = true
	tests := []struct {
		name   string
		nodes  []selector.Candidate
		region string
		rand   []int
		want   string
		err    error
	}{
		{name: "no nodes", err: selector.ErrNoNode},
		{name: "a node that never reported is not chosen", nodes: []selector.Candidate{silent}, err: selector.ErrNoNode},
		{name: "a node that stopped reporting is not chosen", nodes: []selector.Candidate{node("old", "DE", 0, 1, time.Minute)}, err: selector.ErrNoNode},
		{name: "a draining node is not chosen", nodes: []selector.Candidate{draining}, err: selector.ErrNoNode},
		{name: "a full node is not chosen", nodes: []selector.Candidate{node("full", "DE", 99, 1, 0)}, err: selector.ErrNoNode},
		{name: "region first", nodes: []selector.Candidate{node("fr", "FR", 0, 1, 0), node("de", "DE-BY", 50, 0.5, 0)}, region: "DE", want: "de"},
		{name: "sub-region matches its country", nodes: []selector.Candidate{node("us", "US-NY", 10, 1, 0), node("jp", "JP", 0, 1, 0)}, region: "US-CA", want: "us"},
		{name: "no node in the region: any region", nodes: []selector.Candidate{node("fr", "FR", 0, 1, 0)}, region: "JP", want: "fr"},
		{name: "two choices: the one with more headroom", nodes: []selector.Candidate{node("busy", "DE", 80, 1, 0), node("idle", "DE", 5, 1, 0)}, region: "DE", rand: []int{0, 0}, want: "idle"},
		{name: "quality breaks ties in headroom", nodes: []selector.Candidate{node("poor", "DE", 10, 0.1, 0), node("good", "DE", 10, 0.9, 0)}, region: "DE", rand: []int{1, 0}, want: "good"},
		{name: "a node below the quality floor is not chosen while a better one can be", nodes: []selector.Candidate{node("lossy", "DE", 0, 0.49, 0), node("good", "DE", 70, 0.6, 0)},
			region: "DE", rand: []int{0, 0}, want: "good"},
		{name: "only nodes below the floor: still placed", nodes: []selector.Candidate{node("lossy", "DE", 0, 0.2, 0)}, region: "DE", want: "lossy"},
		{name: "only the best four are drawn from", nodes: []selector.Candidate{
			node("a", "DE", 1, 1, 0), node("b", "DE", 2, 1, 0), node("c", "DE", 3, 1, 0), node("d", "DE", 4, 1, 0), node("worst", "DE", 90, 1, 0),
		}, region: "DE", rand: []int{3, 2}, want: "c"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			i := 0
			s := &selector.Selector{Now: func() time.Time { return now }, Rand: func(n int) int {
				if i >= len(tc.rand) {
					return 0
				}
				r := tc.rand[i] % n
				i++
				return r
			}}
			got, err := s.Select(tc.nodes, tc.region, nil)
			if tc.err != nil {
				require.ErrorIs(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got.ID)
		})
	}
}

// TestSelectSpreadsLoad: with equal nodes, random two-choice picks spread
// rooms over every node.
func TestSelectSpreadsLoad(t *testing.T) {
	var nodes []selector.Candidate
	for i := 0; i < 4; i++ {
		nodes = append(nodes, node(fmt.Sprint("n", i), "DE", 10, 1, 0))
	}
	s := &selector.Selector{Now: func() time.Time { return now }}
	counts := map[string]int{}
	for i := 0; i < 400; i++ {
		c, err := s.Select(nodes, "DE", nil)
		require.NoError(t, err)
		counts[c.ID]++
	}
	require.Len(t, counts, 4)
	for id, n := range counts {
		require.Greater(t, n, 40, "node %s got %d of 400 rooms", id, n)
	}
}

func TestOwner(t *testing.T) {
	ids := []string{"orch-a", "orch-b", "orch-c"}
	owners := map[string]int{}
	moved := 0
	for i := 0; i < 300; i++ {
		room := fmt.Sprint("room-", i)
		o := selector.Owner(room, ids)
		require.Equal(t, o, selector.Owner(room, []string{ids[2], ids[0], ids[1]}), "order does not matter")
		owners[o]++
		// Removing one orchestrator moves only its rooms.
		after := selector.Owner(room, []string{"orch-a", "orch-c"})
		if o != "orch-b" {
			require.Equal(t, o, after, "room %s moved although its owner stayed", room)
		} else {
			moved++
		}
	}
	require.Len(t, owners, 3)
	require.Equal(t, owners["orch-b"], moved)
	require.Equal(t, "", selector.Owner("room", nil))
}

// TestSelectByMeasuredRTT: a client's measurements beat the region rule;
// only usable nodes count; near-equal times go to the better-scored node.
func TestSelectByMeasuredRTT(t *testing.T) {
	full := node("full", "DE", 99, 1, 0)
	tests := []struct {
		name   string
		nodes  []selector.Candidate
		region string
		rtts   selector.RTTs
		want   string
	}{
		{name: "the nearest node, whatever the region", nodes: []selector.Candidate{node("de", "DE", 0, 1, 0), node("fr", "FR", 0, 1, 0)},
			region: "DE", rtts: selector.RTTs{"de": 48, "fr": 11}, want: "fr"},
		{name: "a full node is not chosen however near", nodes: []selector.Candidate{full, node("far", "DE", 0, 1, 0)},
			rtts: selector.RTTs{"full": 1, "far": 90}, want: "far"},
		{name: "unmeasured nodes lose to measured ones", nodes: []selector.Candidate{node("idle", "DE", 0, 1, 0), node("busy", "DE", 50, 1, 0)},
			rtts: selector.RTTs{"busy": 30}, want: "busy"},
		{name: "within 10 %: the better score wins", nodes: []selector.Candidate{node("busy", "DE", 60, 1, 0), node("idle", "DE", 5, 1, 0)},
			rtts: selector.RTTs{"busy": 100, "idle": 108}, want: "idle"},
		{name: "within 3 ms: the better score wins", nodes: []selector.Candidate{node("busy", "DE", 60, 1, 0), node("idle", "DE", 5, 1, 0)},
			rtts: selector.RTTs{"busy": 1, "idle": 3.5}, want: "idle"},
		{name: "beyond both: the nearer wins", nodes: []selector.Candidate{node("busy", "DE", 60, 1, 0), node("idle", "DE", 5, 1, 0)},
			rtts: selector.RTTs{"busy": 20, "idle": 40}, want: "busy"},
		{name: "a node below the quality floor loses however near", nodes: []selector.Candidate{node("lossy", "DE", 0, 0.3, 0), node("good", "DE", 50, 0.9, 0)},
			rtts: selector.RTTs{"lossy": 5, "good": 80}, want: "good"},
		{name: "measurements of unknown nodes only: the region rule", nodes: []selector.Candidate{node("fr", "FR", 0, 1, 0), node("de", "DE", 50, 0.5, 0)},
			region: "DE", rtts: selector.RTTs{"elsewhere": 1}, want: "de"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := &selector.Selector{Now: func() time.Time { return now }, Rand: func(int) int { return 0 }}
			got, err := s.Select(tc.nodes, tc.region, tc.rtts)
			require.NoError(t, err)
			require.Equal(t, tc.want, got.ID)
		})
	}
}

// TestShortlist: the nodes a client is asked to measure are usable ones,
// its region's first, at most MaxShortlist.
func TestShortlist(t *testing.T) {
	old := node("old", "DE", 0, 1, time.Minute)
	nodes := []selector.Candidate{old, node("fr1", "FR", 0, 1, 0), node("de-busy", "DE", 50, 1, 0), node("de", "DE-BY", 1, 1, 0),
		node("us", "US", 0, 1, 0), node("jp", "JP", 2, 1, 0), node("fr2", "FR", 3, 1, 0)}
	s := &selector.Selector{Now: func() time.Time { return now }}
	got, err := s.Shortlist(nodes, "DE")
	require.NoError(t, err)
	var ids []string
	for _, c := range got {
		ids = append(ids, c.ID)
	}
	require.Equal(t, []string{"de", "de-busy", "fr1", "us"}, ids, "region first (by score), then the best others; the stale node never")
	_, err = s.Shortlist([]selector.Candidate{old}, "DE")
	require.ErrorIs(t, err, selector.ErrNoNode)
}
