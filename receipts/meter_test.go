package receipts_test

import (
	"bytes"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/chroom/chroom/format"
	"github.com/chroom/chroom/receipts"
)

func newMeter(n int) *receipts.Meter {
	return receipts.NewMeter(sessionID(n), "room-1", mediaKey.ID, orchKey.ID, t0)
}

func valid(t *testing.T, r format.UsageReceipt) {
	t.Helper()
	if err := r.ValidateBasic(); err != nil {
		t.Errorf("receipt of epoch %d fails ValidateBasic: %v", r.Epoch, err)
	}
}

func TestMeterCutDeltas(t *testing.T) {
	m := newMeter(1)
	m.Add(receipts.Stats{BytesIn: 100, BytesOut: 1000, PacketsSent: 10, PacketsLost: 1})
	m.Add(receipts.Stats{BytesIn: 50, BytesOut: 500, PacketsSent: 5, RTT: 40 * time.Millisecond, Jitter: 3 * time.Millisecond})
	m.ObserveRTT(60 * time.Millisecond)
	m.ObserveRTT(50 * time.Millisecond)
	m.SetClientReport(1400, 30)

	first := m.Cut(t0.Add(30*time.Second), 5)
	valid(t, first)
	want := format.UsageReceipt{
		SessionId: first.SessionId, RoomHash: format.RoomHash("room-1"),
		MediaNodeId: mediaKey.ID, OrchestratorId: orchKey.ID, Epoch: 5,
		StartUnixMs: t0.UnixMilli(), EndUnixMs: t0.UnixMilli() + 30_000,
		BytesIn: 150, BytesOut: 1500, PacketsSent: 15, PacketsLost: 1,
		RttMsP50: 50, JitterMsP50: 3,
		ClientReport: &format.ClientReport{BytesReceived: 1400, FramesDecoded: 30},
	}
	if !format.SameContents(&first, &want) {
		t.Errorf("first cut\n got %v\nwant %v", &first, &want)
	}
	if id := sessionID(1); !bytes.Equal(first.SessionId, id[:]) {
		t.Errorf("session_id %x, want %x", first.SessionId, id)
	}

	m.Add(receipts.Stats{BytesIn: 7, BytesOut: 70, PacketsSent: 3, PacketsLost: 2})
	m.ObserveRTT(90 * time.Millisecond)
	m.SetClientReport(2000, 70)
	second := m.Cut(t0.Add(45*time.Second), 5)
	valid(t, second)
	want = format.UsageReceipt{
		SessionId: first.SessionId, RoomHash: first.RoomHash,
		MediaNodeId: mediaKey.ID, OrchestratorId: orchKey.ID, Epoch: 5,
		StartUnixMs: t0.UnixMilli() + 30_000, EndUnixMs: t0.UnixMilli() + 45_000,
		BytesIn: 7, BytesOut: 70, PacketsSent: 3, PacketsLost: 2,
		RttMsP50: 90, JitterMsP50: 0,
		ClientReport: &format.ClientReport{BytesReceived: 600, FramesDecoded: 40},
	}
	if !format.SameContents(&second, &want) {
		t.Errorf("second cut\n got %v\nwant %v", &second, &want)
	}

	// Nothing happened: zero counters, no medians, no client report.
	third := m.Cut(t0.Add(50*time.Second), 6)
	valid(t, third)
	if third.BytesIn != 0 || third.BytesOut != 0 || third.PacketsSent != 0 || third.RttMsP50 != 0 || third.ClientReport != nil {
		t.Errorf("idle segment %v should have zero counters and no client report", &third)
	}
	if third.StartUnixMs != second.EndUnixMs {
		t.Errorf("segments not contiguous: %d then %d", second.EndUnixMs, third.StartUnixMs)
	}

	// Receipts do not alias the meter or each other.
	first.SessionId[0] ^= 0xff
	if bytes.Equal(first.SessionId, second.SessionId) {
		t.Error("receipts share their session_id slice")
	}
}

func TestMeterMedian(t *testing.T) {
	ms := func(v ...float64) []time.Duration {
		out := make([]time.Duration, len(v))
		for i, x := range v {
			out[i] = time.Duration(x * float64(time.Millisecond))
		}
		return out
	}
	for _, tc := range []struct {
		name    string
		samples []time.Duration
		want    uint32
		tol     uint32 // allowed |got − want| in ms
	}{
		{"no samples", nil, 0, 0},
		{"one", ms(40), 40, 0},
		{"odd count, unordered", ms(50, 10, 40, 20, 30), 30, 0},
		{"even count: mean of the middle two", ms(40, 10, 30, 20), 25, 0},
		{"half rounds up", ms(10, 11), 11, 0},
		{"outliers do not move it", ms(20, 21, 22, 5000, 90000), 22, 0},
		{"rounded to the nearest ms", ms(0.4, 0.6, 1.4), 1, 0},
		{"zero is a sample", ms(0, 0, 9), 0, 0},
		{"negative samples are ignored", ms(-5, 7), 7, 0},
		{"exact up to 127 ms", ms(127, 127, 3), 127, 0},
		{"within 1.6% above 128 ms", ms(1000, 1000, 1000), 1000, 16},
		{"within 1.6% at 60 s", ms(60000, 1), 30000, 30000 / 64},
		{"capped at 131 s", ms(200000), 131071, 131071 / 64},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newMeter(1)
			for _, d := range tc.samples {
				m.ObserveRTT(d)
				m.ObserveJitter(d)
			}
			if got := m.Snapshot().RTT; absDiff(uint32(got/time.Millisecond), tc.want) > tc.tol {
				t.Errorf("Snapshot RTT %v, want %d ms ± %d", got, tc.want, tc.tol)
			}
			r := m.Cut(t0.Add(time.Minute), 1)
			if absDiff(r.RttMsP50, tc.want) > tc.tol || absDiff(r.JitterMsP50, tc.want) > tc.tol {
				t.Errorf("rtt_ms_p50 %d, jitter_ms_p50 %d; want %d ± %d", r.RttMsP50, r.JitterMsP50, tc.want, tc.tol)
			}
			if r := m.Cut(t0.Add(2*time.Minute), 1); r.RttMsP50 != 0 || r.JitterMsP50 != 0 {
				t.Errorf("the next segment inherited samples: %d, %d", r.RttMsP50, r.JitterMsP50)
			}
		})
	}
}

func TestMeterMedianManySamples(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	m := newMeter(1)
	var all []float64
	for range 100_001 {
		x := rng.ExpFloat64() * 300 // ms, a long tail
		all = append(all, float64(time.Duration(x*float64(time.Millisecond)).Round(time.Millisecond))/1e6)
		m.Add(receipts.Stats{RTT: time.Duration(x * float64(time.Millisecond))})
	}
	slices.Sort(all)
	exact := all[len(all)/2]
	got := float64(m.Cut(t0.Add(time.Hour), 1).RttMsP50)
	if d := got - exact; d > exact/64+1 || d < -exact/64-1 {
		t.Errorf("p50 of 100,001 samples: %v ms, exact %v ms (off by more than 1.6%%)", got, exact)
	}
}

func absDiff(a, b uint32) uint32 {
	if a > b {
		return a - b
	}
	return b - a
}

func TestMeterEpochSplitSumsToTotals(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	m := newMeter(9)
	var total receipts.Stats
	var got []format.UsageReceipt
	end := t0
	for epoch := int64(41); epoch <= 44; epoch++ {
		for range 1000 {
			d := receipts.Stats{BytesIn: rng.Uint64N(1500), BytesOut: rng.Uint64N(1500), PacketsSent: 2}
			if rng.IntN(10) == 0 {
				d.PacketsLost = 1
			}
			m.Add(d)
			total.BytesIn += d.BytesIn
			total.BytesOut += d.BytesOut
			total.PacketsSent += d.PacketsSent
			total.PacketsLost += d.PacketsLost
		}
		end = end.Add(time.Hour)
		got = append(got, m.Cut(end, epoch))
	}

	var sum receipts.Stats
	for i, r := range got {
		valid(t, r)
		if !bytes.Equal(r.SessionId, got[0].SessionId) {
			t.Errorf("segment %d has session_id %x, want %x", i, r.SessionId, got[0].SessionId)
		}
		if r.Epoch != int64(41+i) {
			t.Errorf("segment %d has epoch %d, want %d", i, r.Epoch, 41+i)
		}
		if i > 0 && r.StartUnixMs != got[i-1].EndUnixMs {
			t.Errorf("segment %d starts at %d, the previous ended at %d", i, r.StartUnixMs, got[i-1].EndUnixMs)
		}
		if r.DurationSeconds() != 3600 {
			t.Errorf("segment %d lasts %d s, want 3600", i, r.DurationSeconds())
		}
		sum.BytesIn += r.BytesIn
		sum.BytesOut += r.BytesOut
		sum.PacketsSent += r.PacketsSent
		sum.PacketsLost += r.PacketsLost
	}
	if sum != total {
		t.Errorf("segments sum to %+v, want %+v", sum, total)
	}
}

func TestMeterCarriesExcessLoss(t *testing.T) {
	m := newMeter(1)
	// A receiver report announces losses of packets sent before this
	// segment's few packets.
	m.Add(receipts.Stats{PacketsSent: 10, PacketsLost: 15})
	first := m.Cut(t0.Add(time.Second), 1)
	valid(t, first)
	if first.PacketsLost != 10 {
		t.Errorf("first segment: packets_lost %d, want 10 (capped at packets_sent)", first.PacketsLost)
	}
	if s := m.Snapshot(); s.PacketsLost != 5 {
		t.Errorf("Snapshot after the cut: PacketsLost %d, want the 5 carried", s.PacketsLost)
	}
	m.Add(receipts.Stats{PacketsSent: 20})
	second := m.Cut(t0.Add(2*time.Second), 1)
	valid(t, second)
	if second.PacketsLost != 5 {
		t.Errorf("second segment: packets_lost %d, want 5 (carried)", second.PacketsLost)
	}
}

func TestMeterClockStepsBack(t *testing.T) {
	m := newMeter(1)
	r := m.Cut(t0.Add(-time.Minute), 1)
	valid(t, r)
	if r.StartUnixMs != t0.UnixMilli() || r.EndUnixMs != r.StartUnixMs {
		t.Errorf("segment [%d, %d], want an empty one at %d", r.StartUnixMs, r.EndUnixMs, t0.UnixMilli())
	}
}

func TestMeterClientReportRestart(t *testing.T) {
	m := newMeter(1)
	m.SetClientReport(1000, 100)
	m.Cut(t0.Add(time.Second), 1)
	m.SetClientReport(300, 20) // the client's counters restarted
	r := m.Cut(t0.Add(2*time.Second), 1)
	if c := r.ClientReport; c == nil || c.BytesReceived != 300 || c.FramesDecoded != 20 {
		t.Errorf("client_report %v after a restart, want 300 bytes, 20 frames", c)
	}
}

func TestMeterConcurrentAddIsExact(t *testing.T) {
	const workers, each = 8, 20_000
	m := newMeter(1)
	var (
		wg      sync.WaitGroup
		sum     receipts.Stats
		cuts    int
		stop    = make(chan struct{})
		stopped = make(chan struct{})
	)
	take := func(r format.UsageReceipt) {
		sum.BytesIn += r.BytesIn
		sum.BytesOut += r.BytesOut
		sum.PacketsSent += r.PacketsSent
		sum.PacketsLost += r.PacketsLost
		cuts++
	}
	// Cut while the Adds run: nothing may be lost or counted twice.
	go func() {
		defer close(stopped)
		end := t0
		for {
			select {
			case <-stop:
				return
			default:
			}
			end = end.Add(time.Second)
			take(m.Cut(end, 1))
			runtime.Gosched()
		}
	}()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				m.Add(receipts.Stats{BytesIn: 3, BytesOut: 1200, PacketsSent: 1, PacketsLost: uint64(i % 2), RTT: time.Millisecond})
			}
		}()
	}
	wg.Wait()
	close(stop)
	<-stopped
	take(m.Cut(t0.Add(time.Hour), 1))
	// A loss whose packet was counted in an earlier segment may still be
	// carried, waiting for the next segment.
	sum.PacketsLost += m.Snapshot().PacketsLost

	want := receipts.Stats{BytesIn: workers * each * 3, BytesOut: workers * each * 1200, PacketsSent: workers * each, PacketsLost: workers * each / 2}
	if sum != want {
		t.Errorf("%d cuts sum to %+v, want %+v", cuts, sum, want)
	}
	t.Logf("%d cuts raced %d Adds", cuts, workers*each)
}

func TestMeterAddDoesNotAllocate(t *testing.T) {
	m := newMeter(1)
	d := receipts.Stats{BytesIn: 1, BytesOut: 1200, PacketsSent: 1, PacketsLost: 1, RTT: 30 * time.Millisecond, Jitter: 2 * time.Millisecond}
	if n := testing.AllocsPerRun(1000, func() { m.Add(d); m.ObserveRTT(time.Millisecond) }); n != 0 {
		t.Errorf("Add + ObserveRTT allocate %v times per call", n)
	}
}
