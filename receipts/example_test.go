package receipts_test

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/chroom/chroom/receipts"
)

// A participant stays one minute; the receipt of its session is signed,
// queued, sent and acknowledged.
func Example() {
	dir, _ := os.MkdirTemp("", "receipts-example")
	defer os.RemoveAll(dir)
	store, err := receipts.Open(filepath.Join(dir, "receipts.db"))
	if err != nil {
		panic(err)
	}
	defer store.Close()
	signer := &receipts.Signer{Key: mediaKey, ChainID: chainID, Store: store}

	joined := time.UnixMilli(1_767_225_600_000)
	m := receipts.NewMeter(sessionID(1), "room-1", mediaKey.ID, orchKey.ID, joined)
	m.Add(receipts.Stats{BytesOut: 6_000_000, BytesIn: 1_000_000, PacketsSent: 10_000, PacketsLost: 100})
	m.ObserveRTT(40 * time.Millisecond)

	// The participant leaves during epoch 42.
	if _, err := signer.Emit(m.Cut(joined.Add(time.Minute), 42)); err != nil {
		panic(err)
	}

	// The sender: read, send to the orchestrator, ack what it acknowledged.
	pending, _ := store.Pending(100)
	for _, e := range pending {
		r := e.Receipt.Receipt
		fmt.Printf("id %d: epoch %d, %d s, %d bytes out, loss %d/%d, rtt %d ms\n",
			e.ID, r.Epoch, r.DurationSeconds(), r.BytesOut, r.PacketsLost, r.PacketsSent, r.RttMsP50)
		_ = store.MarkAttempt(e.ID)
		_ = store.Ack(e.ID)
	}
	n, _ := store.Len()
	fmt.Println("queued:", n)
	// Output:
	// id 1: epoch 42, 60 s, 6000000 bytes out, loss 100/10000, rtt 40 ms
	// queued: 0
}
