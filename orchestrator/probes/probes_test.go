package probes_test

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chroom/chroom/format"
	"github.com/chroom/chroom/orchestrator/api"
	"github.com/chroom/chroom/orchestrator/probes"
)

type fakeChain struct {
	mu        sync.Mutex
	epoch     int64
	list      map[int64][]probes.Assignment
	submitted []format.SignedProbeResult
	fail      bool
}

func (c *fakeChain) CurrentEpoch(context.Context) (int64, error) { return c.epoch, nil }
func (c *fakeChain) ProbeAssignments(_ context.Context, e int64) ([]probes.Assignment, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]probes.Assignment(nil), c.list[e]...), nil
}
func (c *fakeChain) SubmitProbe(_ context.Context, sp format.SignedProbeResult) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fail {
		return context.DeadlineExceeded
	}
	c.submitted = append(c.submitted, sp)
	return nil
}

func key(t *testing.T) *format.NodeKey {
	k, err := format.GenerateNodeKey(nil)
	require.NoError(t, err)
	return k
}

// TestRunnerProbesItsAssignments: the runner probes the nodes assigned to
// it (not to others) in the current and previous epoch, signs the
// prober's measurement as this orchestrator, submits each once, and
// submits nothing when the prober program fails.
func TestRunnerProbesItsAssignments(t *testing.T) {
	me, other, m1, m2, m3 := key(t), key(t), key(t), key(t), key(t)
	c := &fakeChain{epoch: 7, list: map[int64][]probes.Assignment{
		6: {{Epoch: 6, MediaNodeID: m1.ID, ProberID: me.ID}, {Epoch: 6, MediaNodeID: m2.ID, ProberID: me.ID, Submitted: true}},
		7: {{Epoch: 7, MediaNodeID: m2.ID, ProberID: me.ID}, {Epoch: 7, MediaNodeID: m3.ID, ProberID: other.ID}},
	}}
	var granted []string
	var outcomes []string
	r := &probes.Runner{Key: me, ChainID: "chroom-test-1", Chain: c, Duration: time.Second, TargetKbps: 500,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Observe: func(o string) { outcomes = append(outcomes, o) },
		Grants: func(id string) (api.ProbeGrants, error) {
			granted = append(granted, id)
			return api.ProbeGrants{WHIP: "http://n/whip", WHEP: "http://n/whep", PublishToken: "p", ViewToken: "v"}, nil
		},
		// A prober that checks its request and measures 3 % loss.
		Command: []string{"sh", "-c", `grep -q '"publish_token":"p"' && echo '{"connected":true,"setup_ms":900,"rtt_ms":12,"jitter_ms":2,"loss_permille":30,"bitrate_kbps":480,"target_kbps":500}'`},
	}
	r.Once(context.Background())
	require.Equal(t, []string{m1.ID, m2.ID}, granted, "its own unsubmitted assignments, previous epoch first")
	require.Len(t, c.submitted, 2)
	for i, want := range []struct {
		epoch int64
		node  string
	}{{6, m1.ID}, {7, m2.ID}} {
		sp := c.submitted[i]
		require.True(t, sp.Verify(me.PublicKey, "chroom-test-1"), "signed by this orchestrator's key")
		require.Equal(t, want.epoch, sp.Result.Epoch)
		require.Equal(t, want.node, sp.Result.MediaNodeId)
		require.Equal(t, me.ID, sp.Result.ProberId)
		require.True(t, sp.Result.Connected)
		require.EqualValues(t, 30, sp.Result.LossPermille)
		require.EqualValues(t, 480, sp.Result.BitrateKbps)
	}
	require.Equal(t, []string{"connected", "connected"}, outcomes)

	// Submitted ones are not probed again, even before the chain shows them.
	r.Once(context.Background())
	require.Len(t, c.submitted, 2)

	// A node that cannot be reached: submitted as not connected, with the reason.
	c.list[7] = append(c.list[7], probes.Assignment{Epoch: 7, MediaNodeID: m3.ID, ProberID: me.ID})
	r.Command = []string{"sh", "-c", `cat >/dev/null; echo '{"connected":false,"error":"WHIP: connection refused","target_kbps":500}'`}
	r.Once(context.Background())
	require.Len(t, c.submitted, 3)
	require.False(t, c.submitted[2].Result.Connected)
	require.Equal(t, "WHIP: connection refused", c.submitted[2].Result.Error)

	// The prober program itself fails: nothing is submitted, and the
	// next check tries again.
	c.list[7] = append(c.list[7], probes.Assignment{Epoch: 7, MediaNodeID: other.ID, ProberID: me.ID})
	r.Command = []string{"sh", "-c", "cat >/dev/null; echo boom >&2; exit 3"}
	r.Once(context.Background())
	require.Len(t, c.submitted, 3)
	require.Equal(t, "error", outcomes[len(outcomes)-1])

	// Two epochs on, the probes of epochs 6 and 7 are closed: the runner
	// forgets them instead of keeping every probe it ever submitted.
	require.Equal(t, 3, r.Submitted())
	c.epoch = 9
	r.Once(context.Background())
	require.Zero(t, r.Submitted())
}
