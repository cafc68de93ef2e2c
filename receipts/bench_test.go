package receipts_test

import (
	"testing"
	"time"

	"github.com/chroom/chroom/receipts"
)

// BenchmarkMeterAdd is the per-packet cost the SFU pays: one Add per RTP
// packet forwarded to the participant.
func BenchmarkMeterAdd(b *testing.B) {
	m := newMeter(1)
	d := receipts.Stats{BytesOut: 1200, PacketsSent: 1}
	b.ReportAllocs()
	for b.Loop() {
		m.Add(d)
	}
}

// BenchmarkMeterAddParallel is Add from every core on one Meter (a
// participant subscribed to tracks forwarded by several goroutines), with
// an RTT sample in each call.
func BenchmarkMeterAddParallel(b *testing.B) {
	m := newMeter(1)
	d := receipts.Stats{BytesOut: 1200, PacketsSent: 1, RTT: 40 * time.Millisecond}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			m.Add(d)
		}
	})
}

// BenchmarkMeterCut is the cost of one receipt at a participant's leave or
// an epoch boundary.
func BenchmarkMeterCut(b *testing.B) {
	m := newMeter(1)
	end := t0
	b.ReportAllocs()
	for b.Loop() {
		m.Add(receipts.Stats{BytesOut: 1200, PacketsSent: 1, RTT: 40 * time.Millisecond})
		end = end.Add(time.Second)
		m.Cut(end, 1)
	}
}

// BenchmarkStorePut is one durable (fsynced) Put of a signed receipt.
func BenchmarkStorePut(b *testing.B) {
	s := open(b, storePath(b))
	r := signed(b, 1)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Put(r); err != nil {
			b.Fatal(err)
		}
	}
}
