package receipts_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"path/filepath"
	"testing"
	"time"

	"github.com/chroom/chroom/format"
	"github.com/chroom/chroom/receipts"
)

const chainID = "chroom-test-1"

var (
	mediaKey = mustKey(1)
	orchKey  = mustKey(2)
	// t0 is 2026-01-01T00:00:00Z.
	t0 = time.UnixMilli(1_767_225_600_000)
)

func mustKey(n byte) *format.NodeKey {
	k, err := format.NodeKeyFromSeed(bytes.Repeat([]byte{n}, 32))
	if err != nil {
		panic(err)
	}
	return k
}

// sessionID is a deterministic session ID for n.
func sessionID(n int) [32]byte {
	return sha256.Sum256(binary.BigEndian.AppendUint64([]byte("session"), uint64(n)))
}

// receipt is a valid one-minute receipt whose counters encode n.
func receipt(n int) format.UsageReceipt {
	id := sessionID(n)
	start := t0.UnixMilli() + int64(n)*1000
	return format.UsageReceipt{
		SessionId: id[:], RoomHash: format.RoomHash("room-1"),
		MediaNodeId: mediaKey.ID, OrchestratorId: orchKey.ID, Epoch: 7,
		StartUnixMs: start, EndUnixMs: start + 60_000,
		BytesIn: uint64(n), BytesOut: 6_000_000, PacketsSent: 10_000, PacketsLost: 100,
		RttMsP50: 40, JitterMsP50: 5,
	}
}

func signed(t testing.TB, n int) *format.SignedReceipt {
	t.Helper()
	s, err := format.SignReceipt(mediaKey, chainID, receipt(n))
	if err != nil {
		t.Fatalf("sign receipt %d: %v", n, err)
	}
	return s
}

func storePath(t testing.TB) string {
	return filepath.Join(t.TempDir(), "node", "receipts.db")
}

func open(t testing.TB, path string) *receipts.Store {
	t.Helper()
	s, err := receipts.Open(path)
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func put(t testing.TB, s *receipts.Store, n int) uint64 {
	t.Helper()
	id, err := s.Put(signed(t, n))
	if err != nil {
		t.Fatalf("Put(receipt %d): %v", n, err)
	}
	return id
}

func pending(t testing.TB, s *receipts.Store, limit int) []receipts.Entry {
	t.Helper()
	es, err := s.Pending(limit)
	if err != nil {
		t.Fatalf("Pending(%d): %v", limit, err)
	}
	return es
}

func ids(es []receipts.Entry) []uint64 {
	out := make([]uint64, len(es))
	for i, e := range es {
		out[i] = e.ID
	}
	return out
}

func length(t testing.TB, s *receipts.Store) int {
	t.Helper()
	n, err := s.Len()
	if err != nil {
		t.Fatalf("Len: %v", err)
	}
	return n
}

func sameReceipt(a, b *format.SignedReceipt) bool {
	ea, errA := a.Marshal()
	eb, errB := b.Marshal()
	return errA == nil && errB == nil && bytes.Equal(ea, eb)
}
