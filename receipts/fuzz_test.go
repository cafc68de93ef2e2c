package receipts_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/chroom/chroom/format"
	"github.com/chroom/chroom/receipts"
)

func seedEntries(f *testing.F) {
	s := signed(f, 1)
	if err := format.Countersign(orchKey, chainID, s); err != nil {
		f.Fatal(err)
	}
	payload, err := s.Marshal()
	if err != nil {
		f.Fatal(err)
	}
	v := receipts.EncodeEntry(t0, 3, payload)
	f.Add(v)
	f.Add(v[:len(v)-1])
	f.Add(v[:17])
	f.Add(receipts.EncodeEntry(t0, 0, nil))
	f.Add(receipts.EncodeEntry(t0, 0, []byte{0x0a, 0x80, 0x80, 0x80, 0x80, 0x10}))
	f.Add(payload)
	f.Add([]byte{})
	f.Add([]byte{1})
}

// FuzzDecodeEntry feeds arbitrary bytes to the queue's value decoder: as
// a whole value, and as the receipt payload of a value with a valid header
// and checksum (which random bytes almost never have), so the gogoproto
// decoder behind the checksum is fuzzed too. It must never panic, and
// whatever it accepts must re-encode to a value that decodes to the same
// entry.
func FuzzDecodeEntry(f *testing.F) {
	seedEntries(f)
	key := receipts.IDKey(7)
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, value := range [][]byte{data, receipts.EncodeEntry(t0, 1, data)} {
			checkDecode(t, key, value)
		}
	})
}

func checkDecode(t *testing.T, key, value []byte) {
	e, err := receipts.DecodeEntry(key, value)
	if err != nil {
		if strings.Contains(err.Error(), "panicked") {
			t.Fatalf("decoder panicked: %v", err)
		}
		return
	}
	if e.ID != 7 || e.Receipt == nil || e.Receipt.Receipt == nil || e.Attempts < 0 {
		t.Fatalf("accepted an impossible entry %+v", e)
	}
	payload, err := e.Receipt.Marshal()
	if err != nil {
		t.Fatalf("decoded receipt does not encode: %v", err)
	}
	again, err := receipts.DecodeEntry(key, receipts.EncodeEntry(e.CreatedAt, uint32(e.Attempts), payload))
	if err != nil {
		t.Fatalf("re-encoded entry does not decode: %v", err)
	}
	if !again.CreatedAt.Equal(e.CreatedAt) || again.Attempts != e.Attempts || !sameReceipt(again.Receipt, e.Receipt) {
		t.Fatalf("round trip changed the entry: %+v → %+v", e, again)
	}
}

// FuzzReceiptJSON feeds arbitrary bytes to format.SignedReceipt's proto3
// JSON decoder: it must never panic, and whatever it accepts must
// re-encode to JSON that decodes to an equal value (and the same JSON).
func FuzzReceiptJSON(f *testing.F) {
	s := signed(f, 1)
	if err := format.Countersign(orchKey, chainID, s); err != nil {
		f.Fatal(err)
	}
	s.Receipt.ClientReport = &format.ClientReport{BytesReceived: 5_900_000, FramesDecoded: 1800}
	j, err := s.MarshalJSON()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(j)
	f.Add([]byte(`{}`))
	f.Add([]byte(`null`))
	f.Add([]byte(`{"receipt":{"epoch":1,"start_unix_ms":"17","bytes_in":1e3}}`))
	f.Add([]byte(`{"receipt":{"epoch":"-9223372036854775808","rtt_ms_p50":4294967295}}`))
	f.Add([]byte(`{"media_node_signature":"AAEC","receipt":{"session_id":"_-8="}}`))
	f.Add([]byte(`{"receipt":{"client_report":{}},"unknown":1}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var a format.SignedReceipt
		if err := a.UnmarshalJSON(data); err != nil {
			return
		}
		j1, err := a.MarshalJSON()
		if err != nil {
			t.Fatalf("decoded %q but cannot re-encode it: %v", data, err)
		}
		var b format.SignedReceipt
		if err := b.UnmarshalJSON(j1); err != nil {
			t.Fatalf("re-encoded JSON does not decode: %v\n%s", err, j1)
		}
		if !sameReceipt(&a, &b) {
			t.Fatalf("JSON round trip changed the value:\n%v\n%v", &a, &b)
		}
		j2, err := b.MarshalJSON()
		if err != nil || !bytes.Equal(j1, j2) {
			t.Fatalf("JSON encoding is not stable (%v):\n%s\n%s", err, j1, j2)
		}
	})
}
