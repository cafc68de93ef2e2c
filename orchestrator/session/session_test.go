package session_test

import (
	"crypto/ed25519"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chroom/chroom/format"
	"github.com/chroom/chroom/grant"
	"github.com/chroom/chroom/noderpc"
	"github.com/chroom/chroom/orchestrator/selector"
	"github.com/chroom/chroom/orchestrator/session"
)

const (
	nodeA = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	nodeB = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
)

var t0 = time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)

// clock is a settable Clock.
type clock struct{ now time.Time }

func (c *clock) Now() time.Time          { return c.now }
func (c *clock) advance(d time.Duration) { c.now = c.now.Add(d) }

// nodes is a settable session.Nodes. With live set, every candidate
// reports load at the clock's current time.
type nodes struct {
	clk   *clock
	live  bool
	cands []selector.Candidate
}

func (n *nodes) Candidates() []selector.Candidate {
	if !n.live {
		return n.cands
	}
	out := make([]selector.Candidate, len(n.cands))
	for i, c := range n.cands {
		out[i] = node(c.ID, n.clk.now, c.Load.Draining)
	}
	return out
}

func node(id string, reported time.Time, draining bool) selector.Candidate {
	return selector.Candidate{ID: id, Region: "DE", Quality: 1, MaxSessions: 100, MaxEgressKbps: 100_000,
		Load: &selector.Load{ReportedAt: reported, Draining: draining}}
}

// memStore records what the Book persists; fail makes every write fail.
type memStore struct {
	sessions map[string]session.Record
	bans     []session.Ban
	fail     error
}

func (m *memStore) PutSession(r session.Record) error {
	if m.fail != nil {
		return m.fail
	}
	m.sessions[r.JTI] = r
	return nil
}

func (m *memStore) PutBan(b session.Ban) error {
	if m.fail != nil {
		return m.fail
	}
	m.bans = append(m.bans, b)
	return nil
}

type fixture struct {
	clk   *clock
	nodes *nodes
	store *memStore
	book  *session.Book
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{clk: &clock{now: t0}, store: &memStore{sessions: map[string]session.Record{}}}
	f.nodes = &nodes{clk: f.clk, live: true, cands: []selector.Candidate{node(nodeA, t0, false)}}
	f.book = session.New(session.Params{Store: f.store, Nodes: f.nodes, Clock: f.clk.Now, GrantTTL: time.Hour})
	return f
}

// admit places room and admits a.
func (f *fixture) admit(t *testing.T, a session.Admission) (session.Record, error) {
	t.Helper()
	id, _, err := f.book.Place(a.Room, "DE", nil)
	require.NoError(t, err)
	a.NodeID = id
	return f.book.Admit(a)
}

func TestAdmitRules(t *testing.T) {
	cases := []struct {
		name    string
		before  func(t *testing.T, f *fixture) // what happened in the room first
		a       session.Admission
		wantErr error
		role    grant.Role
	}{
		{name: "an app's first grant in a room hosts", a: session.Admission{Room: "r", Identity: "app:alice", App: "app"}, role: grant.RoleHost},
		{name: "an app's later grants are participants",
			before: func(t *testing.T, f *fixture) {
				f.mustAdmit(t, session.Admission{Room: "r", Identity: "app:alice", App: "app"})
			},
			a: session.Admission{Room: "r", Identity: "app:bob", App: "app"}, role: grant.RoleParticipant},
		{name: "an anonymous first join does not host", a: session.Admission{Room: "r", Identity: "guest-1", IP: "192.0.2.1"}, role: grant.RoleParticipant},
		{name: "anonymous may ask for viewer", a: session.Admission{Room: "r", Identity: "guest-1", Role: grant.RoleViewer}, role: grant.RoleViewer},
		{name: "anonymous may not ask for host", a: session.Admission{Room: "r", Identity: "guest-1", Role: grant.RoleHost}, wantErr: session.ErrRoleNotAllowed},
		{name: "anonymous may not ask for presenter", a: session.Admission{Room: "r", Identity: "guest-1", Role: grant.RolePresenter}, wantErr: session.ErrRoleNotAllowed},
		{name: "a banned identity is refused",
			before: func(t *testing.T, f *fixture) { f.mustBan(t, "r", "app:mallory") },
			a:      session.Admission{Room: "r", Identity: "app:mallory", App: "app"}, wantErr: session.ErrBanned},
		{name: "a ban is per room",
			before: func(t *testing.T, f *fixture) { f.mustBan(t, "other", "app:mallory") },
			a:      session.Admission{Room: "r", Identity: "app:mallory", App: "app"}, role: grant.RoleHost},
		{name: "a banned anonymous address is refused under a new identity",
			before: func(t *testing.T, f *fixture) {
				f.mustAdmit(t, session.Admission{Room: "r", Identity: "guest-1", IP: "192.0.2.9"})
				f.mustBan(t, "r", "guest-1")
			},
			a: session.Admission{Room: "r", Identity: "guest-2", IP: "192.0.2.9"}, wantErr: session.ErrBanned},
		{name: "an app identity is not refused for an anonymous ban of its address",
			before: func(t *testing.T, f *fixture) {
				f.mustAdmit(t, session.Admission{Room: "r", Identity: "guest-1", IP: "192.0.2.9"})
				f.mustBan(t, "r", "guest-1")
			},
			a: session.Admission{Room: "r", Identity: "app:carol", App: "app", IP: "192.0.2.9"}, role: grant.RoleParticipant},
		{name: "a ban ends",
			before: func(t *testing.T, f *fixture) {
				f.mustBan(t, "r", "app:mallory")
				f.clk.advance(time.Hour + time.Second)
			},
			a: session.Admission{Room: "r", Identity: "app:mallory", App: "app"}, role: grant.RoleHost},
		{name: "max sessions per app",
			before: func(t *testing.T, f *fixture) {
				f.mustAdmit(t, session.Admission{Room: "r", Identity: "app:a", App: "app"})
				f.mustAdmit(t, session.Admission{Room: "r2", Identity: "app:b", App: "app"})
			},
			a: session.Admission{Room: "r", Identity: "app:c", App: "app", Quota: session.Quota{MaxSessions: 2}}, wantErr: session.ErrQuota},
		{name: "max rooms per app",
			before: func(t *testing.T, f *fixture) {
				f.mustAdmit(t, session.Admission{Room: "r1", Identity: "app:a", App: "app"})
			},
			a: session.Admission{Room: "r2", Identity: "app:b", App: "app", Quota: session.Quota{MaxRooms: 1}}, wantErr: session.ErrQuota},
		{name: "max rooms counts a room the app is in once",
			before: func(t *testing.T, f *fixture) {
				f.mustAdmit(t, session.Admission{Room: "r", Identity: "app:a", App: "app"})
			},
			a: session.Admission{Room: "r", Identity: "app:b", App: "app", Quota: session.Quota{MaxRooms: 1}}, role: grant.RoleParticipant},
		{name: "expired grants do not count toward the quota",
			before: func(t *testing.T, f *fixture) {
				f.mustAdmit(t, session.Admission{Room: "r", Identity: "app:a", App: "app"})
				f.clk.advance(2 * time.Hour)
			},
			a: session.Admission{Room: "r", Identity: "app:b", App: "app", Quota: session.Quota{MaxSessions: 1}}, role: grant.RoleParticipant},
		{name: "other apps do not count toward the quota",
			before: func(t *testing.T, f *fixture) {
				f.mustAdmit(t, session.Admission{Room: "r", Identity: "other:a", App: "other"})
			},
			a: session.Admission{Room: "r", Identity: "app:b", App: "app", Quota: session.Quota{MaxSessions: 1}}, role: grant.RoleParticipant},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			if tc.before != nil {
				tc.before(t, f)
			}
			stored := len(f.store.sessions)
			rec, err := f.admit(t, tc.a)
			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr)
				require.Len(t, f.store.sessions, stored, "a refused join stores nothing")
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.role, rec.Role)
			require.Equal(t, tc.a.Identity, rec.Identity)
			require.Equal(t, f.clk.now, rec.IssuedAt)
			require.Equal(t, f.clk.now.Add(time.Hour), rec.ExpiresAt)
			require.Len(t, rec.JTI, 32)
			require.Equal(t, rec, f.store.sessions[rec.JTI], "persisted as returned")
			got, ok := f.book.Session(rec.JTI)
			require.True(t, ok)
			require.Equal(t, rec, got)
		})
	}
}

func (f *fixture) mustAdmit(t *testing.T, a session.Admission) session.Record {
	t.Helper()
	rec, err := f.admit(t, a)
	require.NoError(t, err)
	return rec
}

func (f *fixture) mustBan(t *testing.T, room, identity string) {
	t.Helper()
	_, err := f.book.Ban(room, identity)
	require.NoError(t, err)
}

// A store that cannot write refuses the grant and leaves the Book as it
// was: the next admission in the room still hosts.
func TestAdmitStoreFailureLeavesNoTrace(t *testing.T) {
	f := newFixture(t)
	f.store.fail = errors.New("disk full")
	_, err := f.admit(t, session.Admission{Room: "r", Identity: "app:alice", App: "app"})
	require.ErrorContains(t, err, "disk full")
	f.store.fail = nil
	rec := f.mustAdmit(t, session.Admission{Room: "r", Identity: "app:bob", App: "app"})
	require.Equal(t, grant.RoleHost, rec.Role)
	require.Len(t, f.store.sessions, 1)
}

func TestBanLastsUntilTheLastGrantExpires(t *testing.T) {
	f := newFixture(t)
	f.mustAdmit(t, session.Admission{Room: "r", Identity: "guest-1", IP: "192.0.2.1"})
	f.clk.advance(30 * time.Minute)
	last := f.mustAdmit(t, session.Admission{Room: "r", Identity: "guest-1", IP: "192.0.2.2"})
	until, err := f.book.Ban("r", "guest-1")
	require.NoError(t, err)
	require.Equal(t, last.ExpiresAt, until)
	require.ElementsMatch(t, []session.Ban{
		{Room: "r", Key: "id:guest-1", Until: until},
		{Room: "r", Key: "ip:192.0.2.1", Until: until},
		{Room: "r", Key: "ip:192.0.2.2", Until: until},
	}, f.store.bans)

	// Restored after a restart, the ban holds.
	g := newFixture(t)
	g.clk.now = f.clk.now
	g.book.Restore(nil, f.store.bans)
	_, err = g.admit(t, session.Admission{Room: "r", Identity: "guest-9", IP: "192.0.2.2"})
	require.ErrorIs(t, err, session.ErrBanned)
}

func TestPlace(t *testing.T) {
	f := newFixture(t)
	f.nodes.live = false
	id, started, err := f.book.Place("r", "DE", nil)
	require.NoError(t, err)
	require.Equal(t, nodeA, id)
	require.True(t, started)

	// B joins the candidates: the room stays on A while A reports.
	f.nodes.cands = append(f.nodes.cands, node(nodeB, t0, false))
	f.clk.advance(10 * time.Second)
	id, started, err = f.book.Place("r", "DE", nil)
	require.NoError(t, err)
	require.Equal(t, nodeA, id)
	require.False(t, started)

	for _, tc := range []struct {
		name string
		a    func(now time.Time) selector.Candidate
	}{
		{"A draining", func(now time.Time) selector.Candidate { return node(nodeA, now, true) }},
		{"A silent", func(now time.Time) selector.Candidate {
			return node(nodeA, now.Add(-session.DefaultLoadFreshness-time.Second), false)
		}},
		{"A gone", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := newFixture(t)
			g.nodes.live = false
			_, _, err := g.book.Place("r", "DE", nil)
			require.NoError(t, err)
			g.clk.advance(time.Minute)
			g.nodes.cands = []selector.Candidate{node(nodeB, g.clk.now, false)}
			if tc.a != nil {
				g.nodes.cands = append(g.nodes.cands, tc.a(g.clk.now))
			}
			id, started, err := g.book.Place("r", "DE", nil)
			require.NoError(t, err)
			require.Equal(t, nodeB, id, "moved")
			require.False(t, started)
		})
	}
	f.nodes.cands = nil
	_, _, err = f.book.Place("new", "DE", nil)
	require.ErrorIs(t, err, selector.ErrNoNode)
	_, ok := f.book.Node("new")
	require.False(t, ok, "a room no node took is not kept")
}

func TestSuccessor(t *testing.T) {
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	cases := []struct {
		name string
		ps   []session.Present
		want string
	}{
		{name: "empty room", ps: nil},
		{name: "a host is present", ps: []session.Present{{Identity: "app:a", Role: grant.RoleParticipant, JoinedAt: at(1)}, {Identity: "app:h", Role: grant.RoleHost, JoinedAt: at(5)}}},
		{name: "longest present", ps: []session.Present{{Identity: "app:b", JoinedAt: at(2)}, {Identity: "app:a", JoinedAt: at(1)}}, want: "app:a"},
		{name: "tie: smallest identity", ps: []session.Present{{Identity: "app:b", JoinedAt: at(1)}, {Identity: "app:a", JoinedAt: at(1)}}, want: "app:a"},
		{name: "anonymous never hosts", ps: []session.Present{{Identity: "guest-1", JoinedAt: at(0)}, {Identity: "app:z", JoinedAt: at(9)}}, want: "app:z"},
		{name: "WHEP sessions never host", ps: []session.Present{{Identity: "app:a#whep-1", JoinedAt: at(0)}}},
		{name: "only anonymous: nobody", ps: []session.Present{{Identity: "guest-1", JoinedAt: at(0)}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := session.Successor(tc.ps)
			require.Equal(t, tc.want, got)
			require.Equal(t, tc.want != "", ok)
		})
	}
}

func TestApplyEvents(t *testing.T) {
	f := newFixture(t)
	rec := f.mustAdmit(t, session.Admission{Room: "r", Identity: "app:alice", App: "app"})
	ev := func(typ string, at time.Time) session.Event {
		return session.Event{Type: typ, Room: "r", Identity: "app:alice", GrantID: rec.JTI, At: at}
	}
	foreign := []struct {
		name string
		from string
		e    session.Event
	}{
		{"another media node", nodeB, ev(noderpc.SessionJoined, t0)},
		{"another identity", nodeA, func() session.Event { e := ev(noderpc.SessionJoined, t0); e.Identity = "app:mallory"; return e }()},
		{"another room", nodeA, func() session.Event { e := ev(noderpc.SessionJoined, t0); e.Room = "x"; return e }()},
		{"an unknown grant", nodeA, func() session.Event { e := ev(noderpc.SessionJoined, t0); e.GrantID = "nope"; return e }()},
	}
	for _, tc := range foreign {
		_, err := f.book.Apply(tc.from, tc.e)
		require.ErrorIs(t, err, session.ErrForeignEvent, tc.name)
	}
	got, _ := f.book.Session(rec.JTI)
	require.True(t, got.ConnectedAt.IsZero(), "foreign events change nothing")

	_, err := f.book.Apply(nodeA, ev(noderpc.SessionJoined, t0.Add(time.Second)))
	require.NoError(t, err)
	_, err = f.book.Apply(nodeA, ev(noderpc.SessionJoined, t0.Add(time.Minute)))
	require.NoError(t, err)
	_, err = f.book.Apply(nodeA, ev(noderpc.SessionConnectionAborted, t0.Add(2*time.Minute)))
	require.NoError(t, err)
	out, err := f.book.Apply(nodeA, ev(noderpc.SessionLeft, t0.Add(time.Minute))) // an older leave, delivered late
	require.NoError(t, err)
	require.Equal(t, t0.Add(time.Second), out.ConnectedAt, "the first join counts")
	require.Equal(t, t0.Add(2*time.Minute), out.DisconnectedAt, "the latest disconnect counts")
	require.Equal(t, out, f.store.sessions[rec.JTI])

	f.store.fail = errors.New("disk full")
	_, err = f.book.Apply(nodeA, ev(noderpc.SessionLeft, t0.Add(time.Hour)))
	require.ErrorContains(t, err, "disk full", "not stored: the node sends it again")
	got, _ = f.book.Session(rec.JTI)
	require.Equal(t, t0.Add(2*time.Minute), got.DisconnectedAt, "unchanged in memory too")
}

const orchID = "cccccccccccccccccccccccccccccccccccccccc"

// TestCheckReceipt: a receipt is countersigned only for a connection of a
// grant whose join its media node reported, and for no more time than the
// node reported connected (issue: "a media node alone is paid for
// sessions that never happened").
func TestCheckReceipt(t *testing.T) {
	sec := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	type step struct {
		event string // a session event at `at`, or "" for a receipt
		at    time.Time
		// receipt fields
		conn       uint32
		randomID   bool
		room, node string
		start, end time.Time
		client     uint64
		want       error
	}
	joined := func(at time.Time) step { return step{event: noderpc.SessionJoined, at: at} }
	left := func(at time.Time) step { return step{event: noderpc.SessionLeft, at: at} }
	receipt := func(start, end time.Time, want error) step { return step{start: start, end: end, want: want} }
	cases := []struct {
		name  string
		now   time.Time
		steps []step
	}{
		{"a served session", sec(200), []step{joined(sec(10)), left(sec(130)), receipt(sec(9), sec(130), nil)}},
		{"a made-up session ID", sec(200), []step{joined(sec(10)), left(sec(130)), {randomID: true, start: sec(10), end: sec(130), want: session.ErrUnknownSession}}},
		{"another room", sec(200), []step{joined(sec(10)), {room: "x", start: sec(10), end: sec(20), want: session.ErrUnknownSession}}},
		{"another media node", sec(200), []step{joined(sec(10)), {node: nodeB, start: sec(10), end: sec(20), want: session.ErrUnknownSession}}},
		{"no join reported yet: retried later", sec(200), []step{receipt(sec(10), sec(20), session.ErrNotObserved)}},
		{"zero-length", sec(200), []step{joined(sec(10)), receipt(sec(20), sec(20), session.ErrOutOfTolerance)}},
		{"starts long before the join", sec(200), []step{joined(sec(100)), left(sec(190)), receipt(sec(50), sec(120), session.ErrOutOfTolerance)}},
		{"ends long after the leave", sec(500), []step{joined(sec(10)), left(sec(60)), receipt(sec(10), sec(120), session.ErrOutOfTolerance)}},
		{"ends in the future", sec(100), []step{joined(sec(10)), receipt(sec(10), sec(200), session.ErrOutOfTolerance)}},
		{"a live session up to now", sec(100), []step{joined(sec(10)), receipt(sec(10), sec(100), nil)}},
		{"overlapping receipts of one grant: the second exceeds what was observed", sec(200), []step{
			joined(sec(10)), left(sec(70)), receipt(sec(10), sec(70), nil),
			{conn: 1, start: sec(10), end: sec(70), want: session.ErrOutOfTolerance}}},
		{"a reconnect: its own connection index, time summed", sec(300), []step{
			joined(sec(10)), left(sec(70)), joined(sec(100)), left(sec(160)),
			receipt(sec(10), sec(70), nil), {conn: 1, start: sec(100), end: sec(160), want: nil}}},
		{"client bytes within the factor", sec(200), []step{joined(sec(10)), left(sec(70)), {start: sec(10), end: sec(70), client: 15 << 20}}},
		{"client bytes beyond the factor", sec(200), []step{joined(sec(10)), left(sec(70)), {start: sec(10), end: sec(70), client: 17 << 20, want: session.ErrOutOfTolerance}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			rec := f.mustAdmit(t, session.Admission{Room: "r", Identity: "app:alice", App: "app"})
			require.NoError(t, f.book.Stats(rec.JTI, 10<<20, 100))
			f.clk.now = tc.now
			check := session.Checker{Book: f.book, Tolerance: session.Tolerance{Clock: 5 * time.Second}}
			for i, st := range tc.steps {
				if st.event != "" {
					_, err := f.book.Apply(nodeA, session.Event{Type: st.event, Room: "r", Identity: "app:alice", GrantID: rec.JTI, At: st.at})
					require.NoError(t, err)
					continue
				}
				r := &format.UsageReceipt{SessionId: format.GrantSessionID(orchID, rec.JTI, st.conn), RoomHash: format.RoomHash("r"),
					MediaNodeId: nodeA, OrchestratorId: orchID, StartUnixMs: st.start.UnixMilli(), EndUnixMs: st.end.UnixMilli()}
				if st.randomID {
					r.SessionId = make([]byte, 32)
				}
				if st.room != "" {
					r.RoomHash = format.RoomHash(st.room)
				}
				if st.node != "" {
					r.MediaNodeId = st.node
				}
				if st.client > 0 {
					r.ClientReport = &format.ClientReport{BytesReceived: st.client}
				}
				before, _ := f.book.Session(rec.JTI)
				_, err := check.Check(r)
				after, _ := f.book.Session(rec.JTI)
				if st.want == nil {
					require.NoError(t, err, "step %d", i)
					require.Equal(t, before.CreditedMs+st.end.Sub(st.start).Milliseconds(), after.CreditedMs, "credited")
					require.Equal(t, after, f.store.sessions[rec.JTI], "credit persisted")
				} else {
					require.ErrorIs(t, err, st.want, "step %d", i)
					require.Equal(t, before.CreditedMs, after.CreditedMs, "a refusal credits nothing")
				}
			}
		})
	}
}

func TestPruneAndRestore(t *testing.T) {
	f := newFixture(t)
	old := f.mustAdmit(t, session.Admission{Room: "old", Identity: "app:a", App: "app"})
	f.clk.advance(90 * time.Minute)
	live := f.mustAdmit(t, session.Admission{Room: "live", Identity: "app:b", App: "app"})
	f.clk.advance(time.Hour) // old expired 1.5 h ago (> Keep), live expires in 0 h
	f.book.Prune()
	_, ok := f.book.Session(old.JTI)
	require.False(t, ok)
	_, ok = f.book.Node("old")
	require.False(t, ok, "a room without records is forgotten")
	_, ok = f.book.Session(live.JTI)
	require.True(t, ok)

	// Restore skips what Prune would drop and puts rooms back on the node
	// of their latest grant.
	g := newFixture(t)
	g.clk.now = f.clk.now
	moved := live
	moved.JTI, moved.NodeID, moved.IssuedAt = "later", nodeB, live.IssuedAt.Add(time.Minute)
	g.book.Restore([]session.Record{moved, old, live}, nil)
	_, ok = g.book.Session(old.JTI)
	require.False(t, ok)
	n, ok := g.book.Node("live")
	require.True(t, ok)
	require.Equal(t, nodeB, n)
}

// TestAttestedSession: a grant that binds a client key takes only usage
// statements signed with it, in order and no faster than the clock, and
// its receipts are credited no more time than the client attested.
func TestAttestedSession(t *testing.T) {
	const chain = "chroom-test-1"
	f := newFixture(t)
	f.book = session.New(session.Params{Store: f.store, Nodes: f.nodes, Clock: f.clk.Now, GrantTTL: time.Hour, ChainID: chain})
	pub, priv, err := ed25519.GenerateKey(nil)
	require.NoError(t, err)
	rec := f.mustAdmit(t, session.Admission{Room: "r", Identity: "app:alice", App: "app", ClientKey: pub})
	sign := func(st *format.UsageStatement, key ed25519.PrivateKey) []byte {
		msg, err := st.SignBytes(chain)
		require.NoError(t, err)
		return ed25519.Sign(key, msg)
	}
	stmt := func(seq, elapsed uint64) *format.UsageStatement {
		return &format.UsageStatement{GrantId: rec.JTI, Seq: seq, ElapsedMs: elapsed, BytesReceived: 1000 * elapsed}
	}
	_, other, err := ed25519.GenerateKey(nil)
	require.NoError(t, err)

	f.clk.advance(30 * time.Second)
	cases := []struct {
		name string
		st   *format.UsageStatement
		sig  []byte
		want error
	}{
		{"signed by another key", stmt(1, 10_000), sign(stmt(1, 10_000), other), session.ErrBadStatement},
		{"signed for another grant", stmt(1, 10_000), sign(&format.UsageStatement{GrantId: "x", Seq: 1, ElapsedMs: 10_000, BytesReceived: 10_000_000}, priv), session.ErrBadStatement},
		{"ahead of the clock", stmt(1, 41_000), sign(stmt(1, 41_000), priv), session.ErrBadStatement},
		{"valid", stmt(1, 20_000), sign(stmt(1, 20_000), priv), nil},
		{"replayed", stmt(1, 20_000), sign(stmt(1, 20_000), priv), session.ErrBadStatement},
		{"time going back", stmt(2, 19_000), sign(stmt(2, 19_000), priv), session.ErrBadStatement},
		{"next valid", stmt(2, 30_000), sign(stmt(2, 30_000), priv), nil},
	}
	for _, tc := range cases {
		err := f.book.Statement(tc.st, tc.sig)
		if tc.want == nil {
			require.NoError(t, err, tc.name)
		} else {
			require.ErrorIs(t, err, tc.want, tc.name)
		}
	}
	got, _ := f.book.Session(rec.JTI)
	require.Equal(t, uint64(2), got.StatementSeq)
	require.Equal(t, int64(30_000), got.ClientElapsedMs)

	// The node reports 25 minutes connected, the client attested 30 s:
	// a receipt is credited no more than the client attested (+ tol).
	_, err = f.book.Apply(nodeA, session.Event{Type: noderpc.SessionJoined, Room: "r", Identity: "app:alice", GrantID: rec.JTI, At: t0})
	require.NoError(t, err)
	f.clk.advance(25 * time.Minute)
	check := session.Checker{Book: f.book, Tolerance: session.Tolerance{Clock: 5 * time.Second}}
	r := func(startS, endS int) *format.UsageReceipt {
		return &format.UsageReceipt{SessionId: format.GrantSessionID(orchID, rec.JTI, 0), RoomHash: format.RoomHash("r"), MediaNodeId: nodeA,
			OrchestratorId: orchID, StartUnixMs: t0.Add(time.Duration(startS) * time.Second).UnixMilli(), EndUnixMs: t0.Add(time.Duration(endS) * time.Second).UnixMilli()}
	}
	_, err = check.Check(r(0, 600))
	require.ErrorIs(t, err, session.ErrOutOfTolerance, "10 minutes claimed, 30 s attested")
	att, err := check.Check(r(0, 15))
	require.NoError(t, err)
	require.Nil(t, att, "a checker without the orchestrator's key attaches no attestation")

	// With the orchestrator's key, the receipt carries the grant binding
	// and the client's last statement, and the chain's checks pass.
	key, err := format.NodeKeyFromSeed(make([]byte, 32))
	require.NoError(t, err)
	check.Key = key
	rk := r(15, 30)
	rk.OrchestratorId, rk.SessionId = key.ID, format.GrantSessionID(key.ID, rec.JTI, 0)
	att, err = check.Check(rk)
	require.NoError(t, err)
	require.NotNil(t, att)
	require.NoError(t, format.CheckAttestation(rk, att, 0))
	gmsg, smsg, err := format.AttestationSignBytes(chain, att)
	require.NoError(t, err)
	require.True(t, ed25519.Verify(key.PublicKey, gmsg, att.GrantSignature), "grant binding signed by the orchestrator")
	require.True(t, ed25519.Verify(pub, smsg, att.StatementSignature), "statement signed by the client")
	require.Equal(t, uint64(2), att.Statement.Seq, "the last statement")
	rk.AppId = "other"
	_, err = check.Check(rk)
	require.ErrorIs(t, err, session.ErrOutOfTolerance, "a receipt billing another app than the grant's")

	// A grant without a client key takes no statements.
	plain := f.mustAdmit(t, session.Admission{Room: "r", Identity: "app:bob", App: "app"})
	require.ErrorIs(t, f.book.Statement(&format.UsageStatement{GrantId: plain.JTI, Seq: 1}, make([]byte, 64)), session.ErrNotAttested)
}

// TestMarkDownMovesTheRoomUntilTheNodeReportsAgain: a node the
// orchestrator found unreachable loses its rooms at their next join and
// gets no new ones, until it reports load after the mark.
func TestMarkDownMovesTheRoomUntilTheNodeReportsAgain(t *testing.T) {
	f := newFixture(t)
	f.nodes.live = false
	id, _, err := f.book.Place("r", "DE", nil)
	require.NoError(t, err)
	require.Equal(t, nodeA, id)
	f.nodes.cands = []selector.Candidate{node(nodeA, f.clk.now, false), node(nodeB, f.clk.now, false)}

	f.clk.advance(time.Second)
	f.book.MarkDown(nodeA)
	id, started, err := f.book.Place("r", "DE", nil)
	require.NoError(t, err)
	require.Equal(t, nodeB, id, "the room moves off the unreachable node at once, though its last report is fresh")
	require.False(t, started)
	id, _, err = f.book.Place("new", "DE", selector.RTTs{nodeA: 1, nodeB: 90})
	require.NoError(t, err)
	require.Equal(t, nodeB, id, "no new room on it, however near")

	f.clk.advance(time.Second)
	f.nodes.cands = []selector.Candidate{node(nodeA, f.clk.now, false), node(nodeB, f.clk.now, false)}
	id, _, err = f.book.Place("other", "DE", selector.RTTs{nodeA: 1, nodeB: 90})
	require.NoError(t, err)
	require.Equal(t, nodeA, id, "back once it reported load after the mark")
}

// TestPlaceSpillsAndSpreads: a live room keeps its participants on its
// node until the node is full (it spills onto another node) or a client
// measured another node much nearer (it spreads); either way the room is
// then on both nodes and Admit accepts grants for both.
func TestPlaceSpillsAndSpreads(t *testing.T) {
	f := newFixture(t)
	f.nodes.live = false
	id, _, err := f.book.Place("r", "DE", nil)
	require.NoError(t, err)
	require.Equal(t, nodeA, id)
	b := node(nodeB, t0, false)
	f.nodes.cands = append(f.nodes.cands, b)

	id, _, err = f.book.PlaceFor("r", session.Want{Region: "DE", RTTs: selector.RTTs{nodeA: 40, nodeB: 20}})
	require.NoError(t, err)
	require.Equal(t, nodeA, id, "20 ms nearer is not worth a relay hop")
	require.Equal(t, []string{nodeA}, f.book.Nodes("r"))

	// A nearly full: the room spills onto B.
	f.nodes.cands[0].Load = &selector.Load{ReportedAt: t0, Participants: 95}
	id, _, err = f.book.PlaceFor("r", session.Want{Region: "DE"})
	require.NoError(t, err)
	require.Equal(t, nodeB, id, "spilled")
	require.Equal(t, []string{nodeA, nodeB}, f.book.Nodes("r"))
	_, err = f.book.Admit(session.Admission{Room: "r", NodeID: nodeB, Identity: "app:x", App: "app"})
	require.NoError(t, err, "a grant for the room's second node")

	// Both nodes full: the room stays where it is; the node refuses when full.
	f.nodes.cands[1].Load = &selector.Load{ReportedAt: t0, Participants: 99}
	id, _, err = f.book.PlaceFor("r", session.Want{Region: "DE"})
	require.NoError(t, err)
	require.Equal(t, nodeA, id)

	// A relay grant is only for nodes of the room, between two of them.
	_, err = f.book.AdmitRelay("r", nodeA, nodeA, "")
	require.Error(t, err)
	_, err = f.book.AdmitRelay("r", nodeA, "cccccccccccccccccccccccccccccccccccccccc", "")
	require.Error(t, err)
	rec, err := f.book.AdmitRelay("r", nodeA, nodeB, "app")
	require.NoError(t, err)
	require.Equal(t, "relay:"+nodeB, rec.Identity)
	require.Equal(t, grant.RoleRelay, rec.Role)
	require.True(t, f.book.RelayLive("r", nodeA, nodeB), "pending")
	require.False(t, f.book.RelayLive("r", nodeB, nodeA), "the other direction is its own leg")
	f.clk.advance(session.RelayPendingFor)
	require.False(t, f.book.RelayLive("r", nodeA, nodeB), "never connected: asked again")
	_, err = f.book.Admit(session.Admission{Room: "r", NodeID: nodeA, Identity: "app:y", App: "app", Role: grant.RoleRelay})
	require.ErrorIs(t, err, session.ErrRoleNotAllowed, "joins never get the relay role")
}

// TestRelayLegReceiptIsChecked: a relay leg's receipt (the serving node's)
// is checked and credited like any session's, against the leg's own
// session events, and only for the serving node.
func TestRelayLegReceiptIsChecked(t *testing.T) {
	f := newFixture(t)
	f.nodes.live = false
	first, _, err := f.book.Place("r", "DE", nil)
	require.NoError(t, err)
	require.Equal(t, nodeA, first)
	f.nodes.cands = append(f.nodes.cands, node(nodeB, t0, false))
	f.nodes.cands[0].Load = &selector.Load{ReportedAt: t0, Participants: 99}
	id, _, err := f.book.PlaceFor("r", session.Want{Region: "DE"})
	require.NoError(t, err)
	require.Equal(t, nodeB, id, "spilled: the room is on both nodes")
	rec, err := f.book.AdmitRelay("r", nodeA, nodeB, "app")
	require.NoError(t, err)
	sec := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	check := session.Checker{Book: f.book, Tolerance: session.Tolerance{Clock: 5 * time.Second}}
	receipt := func(node string) *format.UsageReceipt {
		return &format.UsageReceipt{SessionId: format.GrantSessionID(orchID, rec.JTI, 0), RoomHash: format.RoomHash("r"),
			MediaNodeId: node, OrchestratorId: orchID, AppId: "app", StartUnixMs: sec(10).UnixMilli(), EndUnixMs: sec(70).UnixMilli()}
	}
	f.clk.now = sec(100)
	_, err = check.Check(receipt(nodeA))
	require.ErrorIs(t, err, session.ErrNotObserved, "no connection reported yet")
	_, err = f.book.Apply(nodeB, session.Event{Type: noderpc.SessionJoined, Room: "r", Identity: rec.Identity, GrantID: rec.JTI, At: sec(10)})
	require.ErrorIs(t, err, session.ErrForeignEvent, "the pulling node cannot report the serving node's leg")
	for _, e := range []session.Event{
		{Type: noderpc.SessionJoined, Room: "r", Identity: rec.Identity, GrantID: rec.JTI, At: sec(10)},
		{Type: noderpc.SessionLeft, Room: "r", Identity: rec.Identity, GrantID: rec.JTI, At: sec(70)},
	} {
		_, err = f.book.Apply(nodeA, e)
		require.NoError(t, err)
	}
	_, err = check.Check(receipt(nodeB))
	require.ErrorIs(t, err, session.ErrUnknownSession, "the leg is the serving node's session, not the puller's")
	_, err = check.Check(receipt(nodeA))
	require.NoError(t, err)
	after, _ := f.book.Session(rec.JTI)
	require.Equal(t, int64(60_000), after.CreditedMs)
	require.Equal(t, []string{nodeA, nodeB}, f.book.Nodes("r"))
	require.Empty(t, f.book.LiveNodes("r"), "a relay leg makes no node live for linking")
}
