package receipts_test

import (
	"testing"
	"time"

	"github.com/chroom/chroom/format"
	"github.com/chroom/chroom/receipts"
)

func TestSignerEmit(t *testing.T) {
	store := open(t, storePath(t))
	signer := &receipts.Signer{Key: mediaKey, ChainID: chainID, Store: store}

	m := newMeter(1)
	m.Add(receipts.Stats{BytesIn: 1000, BytesOut: 9000, PacketsSent: 12, RTT: 35 * time.Millisecond})
	r := m.Cut(t0.Add(time.Minute), 3)
	id, err := signer.Emit(r)
	if err != nil {
		t.Fatalf("Emit: %v", err)
	}
	es := pending(t, store, 0)
	if len(es) != 1 || es[0].ID != id {
		t.Fatalf("Pending = %v, want the emitted receipt %d", ids(es), id)
	}
	got := es[0].Receipt
	if !format.SameContents(got.Receipt, &r) {
		t.Errorf("stored receipt %v, want %v", got.Receipt, &r)
	}
	if !got.VerifyMediaNodeSignature(mediaKey.PublicKey, chainID) {
		t.Error("media node signature does not verify")
	}
	if got.VerifyMediaNodeSignature(mediaKey.PublicKey, "other-chain") {
		t.Error("signature verifies for another chain")
	}
	if len(got.OrchestratorSignature) != 0 {
		t.Error("a fresh receipt carries an orchestrator signature")
	}
}

func TestSignerEmitStoresNothingOnError(t *testing.T) {
	store := open(t, storePath(t))
	bad := receipt(1)
	bad.Epoch = 0
	for name, tc := range map[string]struct {
		signer *receipts.Signer
		r      format.UsageReceipt
	}{
		"not this node's receipt": {&receipts.Signer{Key: orchKey, ChainID: chainID, Store: store}, receipt(1)},
		"malformed receipt":       {&receipts.Signer{Key: mediaKey, ChainID: chainID, Store: store}, bad},
		"no chain ID":             {&receipts.Signer{Key: mediaKey, Store: store}, receipt(1)},
		"no key":                  {&receipts.Signer{ChainID: chainID, Store: store}, receipt(1)},
		"no store":                {&receipts.Signer{Key: mediaKey, ChainID: chainID}, receipt(1)},
	} {
		if id, err := tc.signer.Emit(tc.r); err == nil {
			t.Errorf("%s: Emit returned id %d, want an error", name, id)
		} else {
			t.Logf("%s: %v", name, err)
		}
	}
	if n := length(t, store); n != 0 {
		t.Errorf("Len = %d after failed emits, want 0", n)
	}
}
