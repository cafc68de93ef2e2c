package attest_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chroom/chroom/format"
	"github.com/chroom/chroom/noderpc"
	"github.com/chroom/chroom/orchestrator/attest"
	"github.com/chroom/chroom/orchestrator/selector"
	"github.com/chroom/chroom/orchestrator/session"
)

type oneNode struct{ now func() time.Time }

func (n oneNode) Candidates() []selector.Candidate {
	return []selector.Candidate{{ID: mediaKey.ID, Region: "DE", Quality: 1, MaxSessions: 100, MaxEgressKbps: 100_000,
		Load: &selector.Load{ReportedAt: n.now()}}}
}

// TestLoneMediaNodeCannotInventSessions is the attack measured on the demo
// (issue "proof of resource"): after one real join in a room, the media
// node pushed receipts with made-up session IDs and the orchestrator
// countersigned them. With the real session check, only the receipt of
// the grant's own connection, for the time the node reported it
// connected, is countersigned.
func TestLoneMediaNodeCannotInventSessions(t *testing.T) {
	e := newEnv(t)
	t0 := time.UnixMilli(1_767_225_600_000)
	now := t0
	clock := func() time.Time { return now }
	book := session.New(session.Params{Nodes: oneNode{clock}, Clock: clock})
	_, _, err := book.Place("demo", "DE", nil)
	require.NoError(t, err)
	rec, err := book.Admit(session.Admission{Room: "demo", NodeID: mediaKey.ID, Identity: "guest-1", IP: "192.0.2.1", Role: "viewer"})
	require.NoError(t, err)
	_, err = book.Apply(mediaKey.ID, session.Event{Type: noderpc.SessionJoined, Room: "demo", Identity: "guest-1", GrantID: rec.JTI, At: t0.Add(time.Second)})
	require.NoError(t, err)
	_, err = book.Apply(mediaKey.ID, session.Event{Type: noderpc.SessionLeft, Room: "demo", Identity: "guest-1", GrantID: rec.JTI, At: t0.Add(61 * time.Second)})
	require.NoError(t, err)
	now = t0.Add(10 * time.Minute)
	e.p.Sessions = session.Checker{Book: book, Tolerance: session.Tolerance{Clock: 5 * time.Second}}

	mk := func(sessionID []byte, startS, endS int64) *format.SignedReceipt {
		r := format.UsageReceipt{SessionId: sessionID, RoomHash: format.RoomHash("demo"), MediaNodeId: mediaKey.ID, OrchestratorId: orchKey.ID,
			Epoch: 7, StartUnixMs: t0.Add(time.Duration(startS) * time.Second).UnixMilli(), EndUnixMs: t0.Add(time.Duration(endS) * time.Second).UnixMilli(),
			BytesOut: 1 << 20, PacketsSent: 1000}
		s, err := format.SignReceipt(mediaKey, chainID, r)
		require.NoError(t, err)
		return s
	}
	random := func(b byte) []byte { id := make([]byte, 32); id[0] = b; return id }
	rs := []*format.SignedReceipt{
		mk(random(1), 1, 6), // three made-up sessions, as on the demo
		mk(random(2), 1, 6),
		mk(random(3), 1, 6),
		mk(format.GrantSessionID(orchKey.ID, rec.JTI, 0), 0, 61), // the real one
		mk(format.GrantSessionID(orchKey.ID, rec.JTI, 1), 0, 61), // the real one again, as a "reconnect"
	}
	acc, ref, err := e.p.Intake(mediaKey.ID, rs)
	require.NoError(t, err)
	require.Equal(t, []int{3}, acc, "only the real session is countersigned")
	for i := 0; i < 3; i++ {
		require.Contains(t, ref[i], attest.ResultUnknownSession)
	}
	require.Contains(t, ref[4], attest.ResultOutOfTolerance, "no more time than the node reported connected")
	require.Equal(t, 1, e.queueLen())
}

// TestProbeReceiptsAreAcknowledgedNotSubmitted: the receipt of a QoS
// probe's session is acknowledged to the media node like any other (the
// node cannot tell a probe from a user) but never countersigned or queued
// for the chain: a probe is neither paid work nor client evidence.
func TestProbeReceiptsAreAcknowledgedNotSubmitted(t *testing.T) {
	e := newEnv(t)
	t0 := time.UnixMilli(1_767_225_600_000)
	now := t0
	clock := func() time.Time { return now }
	book := session.New(session.Params{Nodes: oneNode{clock}, Clock: clock})
	_, _, err := book.Place("probe-room", "DE", nil)
	require.NoError(t, err)
	rec, err := book.Admit(session.Admission{Room: "probe-room", NodeID: mediaKey.ID, Identity: "guest-p", Role: "participant", Probe: true})
	require.NoError(t, err)
	_, err = book.Apply(mediaKey.ID, session.Event{Type: noderpc.SessionJoined, Room: "probe-room", Identity: "guest-p", GrantID: rec.JTI, At: t0.Add(time.Second)})
	require.NoError(t, err)
	now = t0.Add(time.Minute)
	e.p.Sessions = session.Checker{Book: book, Tolerance: session.Tolerance{Clock: 5 * time.Second}}
	r := format.UsageReceipt{SessionId: format.GrantSessionID(orchKey.ID, rec.JTI, 0), RoomHash: format.RoomHash("probe-room"), MediaNodeId: mediaKey.ID,
		OrchestratorId: orchKey.ID, Epoch: 7, StartUnixMs: t0.Add(time.Second).UnixMilli(), EndUnixMs: t0.Add(11 * time.Second).UnixMilli(), BytesIn: 600_000, PacketsSent: 10}
	s, err := format.SignReceipt(mediaKey, chainID, r)
	require.NoError(t, err)
	acc, ref, err := e.p.Intake(mediaKey.ID, []*format.SignedReceipt{s})
	require.NoError(t, err)
	require.Equal(t, []int{0}, acc, "acknowledged: the node drops it")
	require.Empty(t, ref)
	require.Zero(t, e.queueLen(), "nothing queued for the chain")
}
