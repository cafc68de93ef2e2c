package receipts_test

import (
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/chroom/chroom/format"
	"github.com/chroom/chroom/receipts"
)

func TestStoreRoundTrip(t *testing.T) {
	path := storePath(t)
	s := open(t, path)

	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := info.Mode().Perm(); perm != 0o600 {
		t.Errorf("file mode %v, want 0600", perm)
	}

	before := time.Now()
	for n := 1; n <= 3; n++ {
		if id := put(t, s, n); id != uint64(n) {
			t.Fatalf("Put #%d returned id %d, want %d", n, id, n)
		}
	}
	after := time.Now()
	if got := length(t, s); got != 3 {
		t.Fatalf("Len = %d, want 3", got)
	}

	es := pending(t, s, 0)
	if got, want := ids(es), []uint64{1, 2, 3}; !slices.Equal(got, want) {
		t.Fatalf("Pending(0) ids %v, want %v", got, want)
	}
	for i, e := range es {
		if !sameReceipt(e.Receipt, signed(t, i+1)) {
			t.Errorf("entry %d: receipt differs from what was put", e.ID)
		}
		if e.CreatedAt.Before(before) || e.CreatedAt.After(after) {
			t.Errorf("entry %d: CreatedAt %v outside [%v, %v]", e.ID, e.CreatedAt, before, after)
		}
		if e.Attempts != 0 {
			t.Errorf("entry %d: Attempts %d, want 0", e.ID, e.Attempts)
		}
		if !e.Receipt.VerifyMediaNodeSignature(mediaKey.PublicKey, chainID) {
			t.Errorf("entry %d: media node signature does not verify", e.ID)
		}
	}
	if got := ids(pending(t, s, 2)); !slices.Equal(got, []uint64{1, 2}) {
		t.Errorf("Pending(2) ids %v, want [1 2]", got)
	}

	if err := s.MarkAttempt(1, 3); err != nil {
		t.Fatalf("MarkAttempt: %v", err)
	}
	if err := s.MarkAttempt(1, 99); err != nil {
		t.Fatalf("MarkAttempt with an unknown id: %v", err)
	}
	es = pending(t, s, 0)
	if got := []int{es[0].Attempts, es[1].Attempts, es[2].Attempts}; !slices.Equal(got, []int{2, 0, 1}) {
		t.Errorf("Attempts %v, want [2 0 1]", got)
	}
	if !sameReceipt(es[0].Receipt, signed(t, 1)) {
		t.Error("MarkAttempt changed the receipt")
	}

	for _, ack := range [][]uint64{{2}, {2}, {42}, nil} {
		if err := s.Ack(ack...); err != nil {
			t.Fatalf("Ack(%v): %v", ack, err)
		}
	}
	if got := ids(pending(t, s, 0)); !slices.Equal(got, []uint64{1, 3}) {
		t.Errorf("after Ack(2): ids %v, want [1 3]", got)
	}
	if got := length(t, s); got != 2 {
		t.Errorf("after Ack(2): Len = %d, want 2", got)
	}
	if id := put(t, s, 4); id != 4 {
		t.Errorf("next id %d, want 4", id)
	}
}

func TestStorePutRefusesUnsignedOrMalformed(t *testing.T) {
	s := open(t, storePath(t))
	noSig := signed(t, 1)
	noSig.MediaNodeSignature = nil
	bad := signed(t, 1)
	bad.Receipt.Epoch = 0
	for name, r := range map[string]*format.SignedReceipt{
		"nil":                  nil,
		"no receipt":           {MediaNodeSignature: make([]byte, 64)},
		"no media signature":   noSig,
		"receipt fails checks": bad,
	} {
		if id, err := s.Put(r); err == nil {
			t.Errorf("%s: Put returned id %d, want an error", name, id)
		}
	}
	if got := length(t, s); got != 0 {
		t.Errorf("Len = %d after refused puts, want 0", got)
	}
}

func TestStoreRestartKeepsUnackedAndNeverReusesIDs(t *testing.T) {
	path := storePath(t)
	s := open(t, path)
	for n := 1; n <= 10; n++ {
		put(t, s, n)
	}
	if err := s.MarkAttempt(5); err != nil {
		t.Fatal(err)
	}
	// Ack the newest too: its id must not come back after a restart.
	if err := s.Ack(1, 2, 3, 10); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	s = open(t, path)
	es := pending(t, s, 0)
	if got, want := ids(es), []uint64{4, 5, 6, 7, 8, 9}; !slices.Equal(got, want) {
		t.Fatalf("after restart: ids %v, want %v", got, want)
	}
	for _, e := range es {
		if !sameReceipt(e.Receipt, signed(t, int(e.ID))) {
			t.Errorf("entry %d: receipt changed across restart", e.ID)
		}
		if want := map[bool]int{true: 1}[e.ID == 5]; e.Attempts != want {
			t.Errorf("entry %d: Attempts %d, want %d", e.ID, e.Attempts, want)
		}
	}
	if got := length(t, s); got != 6 {
		t.Errorf("after restart: Len = %d, want 6", got)
	}
	if id := put(t, s, 11); id != 11 {
		t.Errorf("first id after restart %d, want 11", id)
	}

	// An empty queue still remembers the last id.
	if err := s.Ack(4, 5, 6, 7, 8, 9, 11); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = open(t, path)
	if got := length(t, s); got != 0 {
		t.Fatalf("emptied queue: Len = %d after restart", got)
	}
	if id := put(t, s, 12); id != 12 {
		t.Errorf("first id after emptying and restarting %d, want 12", id)
	}
}

func TestStoreThousandAckHalfReopen(t *testing.T) {
	path := storePath(t)
	s := open(t, path)
	var even []uint64
	for n := 1; n <= 1000; n++ {
		if id := put(t, s, n); id%2 == 0 {
			even = append(even, id)
		}
	}
	if err := s.Ack(even...); err != nil {
		t.Fatal(err)
	}
	s.Close()

	s = open(t, path)
	if got := length(t, s); got != 500 {
		t.Fatalf("Len = %d, want 500", got)
	}
	es := pending(t, s, 0)
	if len(es) != 500 {
		t.Fatalf("Pending(0) returned %d entries, want 500", len(es))
	}
	for i, e := range es {
		if want := uint64(2*i + 1); e.ID != want {
			t.Fatalf("entry %d has id %d, want %d", i, e.ID, want)
		}
		if e.Receipt.Receipt.BytesIn != e.ID {
			t.Fatalf("entry %d holds receipt %d", e.ID, e.Receipt.Receipt.BytesIn)
		}
	}
	if got := ids(pending(t, s, 3)); !slices.Equal(got, []uint64{1, 3, 5}) {
		t.Errorf("Pending(3) ids %v, want [1 3 5]", got)
	}
}

func TestStoreConcurrentPut(t *testing.T) {
	const workers, each = 8, 25
	s := open(t, storePath(t))
	var (
		wg  sync.WaitGroup
		mu  sync.Mutex
		got = map[uint64]int{} // id → receipt
	)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				n := w*each + i + 1
				id, err := s.Put(signed(t, n))
				if err != nil {
					t.Errorf("Put(%d): %v", n, err)
					return
				}
				mu.Lock()
				if prev, dup := got[id]; dup {
					t.Errorf("id %d handed out twice (receipts %d and %d)", id, prev, n)
				}
				got[id] = n
				mu.Unlock()
			}
		}()
	}
	wg.Wait()

	if n := length(t, s); n != workers*each {
		t.Fatalf("Len = %d, want %d", n, workers*each)
	}
	es := pending(t, s, 0)
	if len(es) != workers*each {
		t.Fatalf("Pending returned %d entries, want %d", len(es), workers*each)
	}
	for i, e := range es {
		if i > 0 && e.ID <= es[i-1].ID {
			t.Fatalf("ids not increasing: %d after %d", e.ID, es[i-1].ID)
		}
		if !sameReceipt(e.Receipt, signed(t, got[e.ID])) {
			t.Errorf("entry %d does not hold receipt %d", e.ID, got[e.ID])
		}
	}
}

func TestStoreSecondOpenFailsClearly(t *testing.T) {
	path := storePath(t)
	first := open(t, path)

	start := time.Now()
	second, err := receipts.Open(path)
	elapsed := time.Since(start)
	if err == nil {
		second.Close()
		t.Fatal("second Open of the same file succeeded")
	}
	if !errors.Is(err, receipts.ErrInUse) {
		t.Errorf("error %q does not wrap ErrInUse", err)
	}
	if msg := err.Error(); !strings.Contains(msg, path) || !strings.Contains(msg, "already in use") {
		t.Errorf("error %q should name the file and say it is already in use", msg)
	}
	if elapsed > receipts.LockTimeout+time.Second {
		t.Errorf("second Open took %v, want about %v", elapsed, receipts.LockTimeout)
	}
	t.Logf("second Open failed after %v: %v", elapsed.Round(time.Millisecond), err)

	first.Close()
	open(t, path) // the lock is released by Close
}

func TestStoreAfterClose(t *testing.T) {
	s := open(t, storePath(t))
	put(t, s, 1)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	_, putErr := s.Put(signed(t, 2))
	_, pendErr := s.Pending(0)
	_, lenErr := s.Len()
	for name, err := range map[string]error{
		"Put": putErr, "Pending": pendErr, "Len": lenErr,
		"Ack": s.Ack(1), "MarkAttempt": s.MarkAttempt(1),
	} {
		if !errors.Is(err, receipts.ErrClosed) {
			t.Errorf("%s after Close: %v, want ErrClosed", name, err)
		}
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestOpenRefusesOtherFiles(t *testing.T) {
	path := filepath.Join(t.TempDir(), "receipts.db")
	if err := os.WriteFile(path, []byte(strings.Repeat("not a bbolt file ", 1000)), 0o600); err != nil {
		t.Fatal(err)
	}
	if s, err := receipts.Open(path); err == nil {
		s.Close()
		t.Fatal("Open of a non-bbolt file succeeded")
	}
}

// rewrite replaces the stored value of id in the closed store at path.
func rewrite(t *testing.T, path string, id uint64, change func(v []byte) []byte) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.Update(func(tx *bolt.Tx) error {
		q := tx.Bucket(receipts.QueueBucket)
		v := append([]byte(nil), q.Get(receipts.IDKey(id))...)
		return q.Put(receipts.IDKey(id), change(v))
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestStoreSkipsAndReportsCorruptValues(t *testing.T) {
	damage := []struct {
		name   string
		change func(v []byte) []byte
	}{
		{"empty", func([]byte) []byte { return []byte{} }},
		{"truncated header", func(v []byte) []byte { return v[:10] }},
		{"truncated receipt", func(v []byte) []byte { return v[:len(v)-7] }},
		{"bit flip in receipt", func(v []byte) []byte { v[len(v)/2] ^= 0x10; return v }},
		{"bit flip in attempts", func(v []byte) []byte { v[15] ^= 1; return v }},
		{"unknown version", func(v []byte) []byte { v[0] = 9; return v }},
		{"garbage", func(v []byte) []byte { return []byte("\x01 this is not an entry at all") }},
		{"valid checksum, bad receipt", func([]byte) []byte {
			return receipts.EncodeEntry(time.Now(), 0, []byte{0xff, 0xff, 0xff})
		}},
		{"valid checksum, no receipt", func([]byte) []byte {
			return receipts.EncodeEntry(time.Now(), 0, nil)
		}},
	}
	for _, tc := range damage {
		t.Run(tc.name, func(t *testing.T) {
			path := storePath(t)
			s := open(t, path)
			for n := 1; n <= 3; n++ {
				put(t, s, n)
			}
			s.Close()
			rewrite(t, path, 2, tc.change)

			s = open(t, path)
			if got := ids(pending(t, s, 0)); !slices.Equal(got, []uint64{1, 3}) {
				t.Fatalf("Pending ids %v, want [1 3]", got)
			}
			count, last := s.Corrupted()
			if count != 1 || !errors.Is(last, receipts.ErrCorrupt) {
				t.Fatalf("Corrupted() = %d, %v; want 1 and an ErrCorrupt", count, last)
			}
			t.Logf("reported: %v", last)
			if got := length(t, s); got != 2 {
				t.Errorf("Len = %d, want 2 (the corrupt value leaves the queue)", got)
			}
			// Seen once, counted once.
			pending(t, s, 0)
			if count, _ := s.Corrupted(); count != 1 {
				t.Errorf("Corrupted count %d after a second Pending, want 1", count)
			}
			if id := put(t, s, 4); id != 4 {
				t.Errorf("next id %d, want 4", id)
			}
			s.Close()

			db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			db.View(func(tx *bolt.Tx) error {
				if tx.Bucket(receipts.CorruptBucket).Get(receipts.IDKey(2)) == nil {
					t.Error("the corrupt value was not kept in the quarantine bucket")
				}
				return nil
			})
		})
	}
}

func TestStoreMarkAttemptMovesCorruptValueAside(t *testing.T) {
	path := storePath(t)
	s := open(t, path)
	put(t, s, 1)
	put(t, s, 2)
	s.Close()
	rewrite(t, path, 1, func(v []byte) []byte {
		binary.BigEndian.PutUint32(v[13:17], 7) // attempts changed, checksum not
		return v
	})
	s = open(t, path)
	if err := s.MarkAttempt(1, 2); err != nil {
		t.Fatalf("MarkAttempt: %v", err)
	}
	if count, last := s.Corrupted(); count != 1 || !errors.Is(last, receipts.ErrCorrupt) {
		t.Errorf("Corrupted() = %d, %v; want 1 and an ErrCorrupt", count, last)
	}
	es := pending(t, s, 0)
	if len(es) != 1 || es[0].ID != 2 || es[0].Attempts != 1 {
		t.Errorf("Pending = %+v, want only id 2 with one attempt", es)
	}
}
