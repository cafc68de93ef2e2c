package receipts_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/chroom/chroom/receipts"
)

// smallDisk mounts a 1 MiB tmpfs in a temporary folder (root only) and
// returns its path; the mount goes with the test.
func smallDisk(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("a full disk needs a small tmpfs: run as root")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("mount a tmpfs: %v: %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("umount", "-l", dir).Run() })
	return dir
}

// fill writes a file that takes all of dir's free space.
func fill(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "filler")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	block := make([]byte, 4096)
	for {
		if _, err := f.Write(block); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("fill the disk: %v", err)
			}
			return path
		}
	}
}

// TestSpoolHoldsReceiptsWhileTheDiskIsFull: a media node's disk fills up
// during calls. Its receipts are not lost: the store refuses the write with
// the file system's error ("no space left on device"), the spool holds
// them in memory, and once space is freed they are all written, each once,
// and are still there after the store is reopened.
func TestSpoolHoldsReceiptsWhileTheDiskIsFull(t *testing.T) {
	disk := smallDisk(t)
	path := filepath.Join(disk, "receipts.db")
	store, err := receipts.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	spool := &receipts.Spool{Signer: &receipts.Signer{Key: mediaKey, ChainID: chainID, Store: store}}
	for n := 0; n < 5; n++ {
		if held, err := spool.Emit(receipt(n)); held || err != nil {
			t.Fatalf("receipt %d before the disk filled: held %v, %v", n, held, err)
		}
	}

	filler := fill(t, disk)
	heldCount := 0
	var lastErr error
	for n := 5; n < 400; n++ {
		held, err := spool.Emit(receipt(n))
		if held {
			heldCount++
			lastErr = err
		} else if err != nil {
			t.Fatalf("receipt %d: not held, but %v", n, err)
		}
	}
	if heldCount == 0 {
		t.Fatal("the full disk refused no write: the test's disk is too large")
	}
	if !errors.Is(lastErr, syscall.ENOSPC) && !strings.Contains(lastErr.Error(), "no space left") {
		t.Fatalf("the error says why: %v", lastErr)
	}
	t.Logf("disk full: %d of 395 receipts held in memory; the store said: %v", heldCount, lastErr)
	if n, _ := spool.Held(); n != heldCount {
		t.Fatalf("Held() = %d, want %d", n, heldCount)
	}
	if written, left, err := spool.Retry(); written != 0 || left != heldCount || err == nil {
		t.Fatalf("Retry on a full disk: wrote %d, left %d, %v", written, left, err)
	}

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	written, left, err := spool.Retry()
	if err != nil || left != 0 || written != heldCount {
		t.Fatalf("Retry after space was freed: wrote %d of %d, left %d, %v", written, heldCount, left, err)
	}
	if err := store.Close(); err != nil {
		t.Fatal(err)
	}

	// Every receipt once, none lost.
	store = open(t, path)
	pending, err := store.Pending(1000)
	if err != nil {
		t.Fatal(err)
	}
	if len(pending) != 400 {
		t.Fatalf("%d receipts in the store after reopening, want 400", len(pending))
	}
	seen := map[uint64]bool{}
	for _, e := range pending {
		n := e.Receipt.Receipt.BytesIn
		if seen[n] {
			t.Fatalf("receipt %d stored twice", n)
		}
		seen[n] = true
	}
}

// TestSpoolRefusesMalformedReceipts: a receipt that cannot be signed is an
// error at once and is never held (holding it would retry it forever).
func TestSpoolRefusesMalformedReceipts(t *testing.T) {
	store := open(t, storePath(t))
	spool := &receipts.Spool{Signer: &receipts.Signer{Key: mediaKey, ChainID: chainID, Store: store}}
	bad := receipt(1)
	bad.EndUnixMs = bad.StartUnixMs - 1
	if held, err := spool.Emit(bad); held || err == nil {
		t.Fatalf("malformed receipt: held %v, err %v", held, err)
	}
	other := receipt(2)
	other.MediaNodeId = orchKey.ID
	if held, err := spool.Emit(other); held || err == nil {
		t.Fatalf("another node's receipt: held %v, err %v", held, err)
	}
	if n, _ := spool.Held(); n != 0 {
		t.Fatalf("Held() = %d", n)
	}
}

// TestStoreOnAFullDiskAtStart: a media node restarting on a full disk
// either opens its store (the queue intact) or refuses to start with an
// error that says why; either way no receipt is lost, and after space is
// freed every receipt is there.
func TestStoreOnAFullDiskAtStart(t *testing.T) {
	disk := smallDisk(t)
	path := filepath.Join(disk, "receipts.db")
	store, err := receipts.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	for n := 0; n < 20; n++ {
		put(t, store, n)
	}
	if err := store.Close(); err != nil {
		t.Fatal(err)
	}
	filler := fill(t, disk)
	if s, err := receipts.Open(path); err != nil {
		if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "no space left") {
			t.Fatalf("the error at start names the file and the cause: %v", err)
		}
		t.Logf("refused at start: %v", err)
	} else {
		if n, err := s.Len(); err != nil || n != 20 {
			t.Fatalf("opened on a full disk: %d receipts, %v", n, err)
		}
		s.Close()
		t.Log("opened on a full disk with its 20 receipts")
	}
	// A new store on a full disk cannot be created: a clear error.
	if s, err := receipts.Open(filepath.Join(disk, "other", "receipts.db")); err == nil {
		s.Close()
		t.Log("a new store fit in the space left")
	} else if !strings.Contains(err.Error(), "no space left") {
		t.Fatalf("creating a store on a full disk: %v", err)
	} else {
		t.Logf("a new store on a full disk: %v", err)
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	store = open(t, path)
	if n, err := store.Len(); err != nil || n != 20 {
		t.Fatalf("after space was freed: %d receipts, %v", n, err)
	}
}
