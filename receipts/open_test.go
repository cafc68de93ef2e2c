package receipts_test

import (
	"testing"
	"time"

	"github.com/chroom/chroom/format"
	"github.com/chroom/chroom/receipts"
)

// TestOpenSegmentsSurviveACrash: a media node saves each session's open
// segment every few seconds; the process dies (the store is not closed
// cleanly and no session is cut); at the next start every saved segment
// becomes a signed receipt in the queue, once — a second recovery, or a
// recovery interrupted and run again, queues nothing more — and segments
// the caller's checks refuse are dropped.
func TestOpenSegmentsSurviveACrash(t *testing.T) {
	path := storePath(t)
	store, err := receipts.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	var meters []*receipts.Meter
	for n := 0; n < 3; n++ {
		m := receipts.NewMeter(sessionID(n), "room-1", mediaKey.ID, orchKey.ID, t0)
		m.Add(receipts.Stats{BytesOut: uint64(1000 * (n + 1)), PacketsSent: 10})
		meters = append(meters, m)
	}
	idle := receipts.NewMeter(sessionID(9), "room-1", mediaKey.ID, orchKey.ID, t0) // moved nothing
	save := func(at time.Time) {
		var open []format.UsageReceipt
		for _, m := range append(meters, idle) {
			open = append(open, m.Peek(at, 7))
		}
		if err := store.SaveOpen(open); err != nil {
			t.Fatal(err)
		}
	}
	save(t0.Add(5 * time.Second))
	meters[0].Add(receipts.Stats{BytesOut: 500, PacketsSent: 5})
	save(t0.Add(10 * time.Second)) // replaces the first checkpoint
	// Session 2 ends normally: its receipt is queued and its record dropped.
	final := meters[2].Cut(t0.Add(12*time.Second), 7)
	put := signedFrom(t, final)
	if _, err := store.Put(put); err != nil {
		t.Fatal(err)
	}
	if err := store.DropOpen(final.SessionId); err != nil {
		t.Fatal(err)
	}
	if n, _ := store.OpenCount(); n != 3 {
		t.Fatalf("%d open records, want 3 (sessions 0, 1 and the idle one)", n)
	}
	// The crash: the file is left as it is (bbolt commits are durable).
	store.Close()

	store = open(t, path)
	prepare := func(r format.UsageReceipt) (format.UsageReceipt, bool) { return r, r.BytesIn+r.BytesOut > 0 }
	queued, bad, err := store.RecoverOpen(mediaKey, chainID, prepare)
	if err != nil || queued != 2 || bad != 0 {
		t.Fatalf("RecoverOpen: queued %d, bad %d, %v; want 2 queued (the idle session dropped)", queued, bad, err)
	}
	pending, err := store.Pending(0)
	if err != nil {
		t.Fatal(err)
	}
	if len(pending) != 3 {
		t.Fatalf("%d receipts queued, want 3 (session 2's final one and the two recovered)", len(pending))
	}
	got := map[string]*format.UsageReceipt{}
	for _, e := range pending {
		r := e.Receipt.Receipt
		if !e.Receipt.VerifyMediaNodeSignature(mediaKey.PublicKey, chainID) {
			t.Fatalf("receipt of session %x not signed by the node", r.SessionId)
		}
		got[string(r.SessionId)] = r
	}
	s0 := sessionID(0)
	if r := got[string(s0[:])]; r == nil || r.BytesOut != 1500 || r.EndUnixMs != t0.Add(10*time.Second).UnixMilli() || r.StartUnixMs != t0.UnixMilli() {
		t.Fatalf("session 0's receipt is its last checkpoint: %+v", r)
	}
	if again, _, err := store.RecoverOpen(mediaKey, chainID, prepare); err != nil || again != 0 {
		t.Fatalf("a second recovery queued %d (%v): each segment must be queued once", again, err)
	}
	if n, _ := store.OpenCount(); n != 0 {
		t.Fatalf("%d open records left after recovery", n)
	}
}

func signedFrom(t *testing.T, r format.UsageReceipt) *format.SignedReceipt {
	t.Helper()
	s, err := format.SignReceipt(mediaKey, chainID, r)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
