package sfu

import (
	"testing"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"
)

// TestFanoutKeepsEverySubscribersOrder: 40 subscribers of one track (above
// FanoutParallelAbove) split across 3 goroutines; each receives every
// packet exactly once, in order, and the metrics count each once — also
// while subscribers join mid-stream (a new snapshot).
func TestFanoutKeepsEverySubscribersOrder(t *testing.T) {
	old := fanoutWorkers
	fanoutWorkers = 3
	t.Cleanup(func() { fanoutWorkers = old })
	m, err := newMetrics(prometheus.NewRegistry())
	require.NoError(t, err)
	tr := &publishedTrack{down: map[string]*downTrack{}}
	var caps []*capture
	add := func() {
		d := newDownTrack("t", "s", webrtc.RTPCodecTypeAudio, webrtc.RTPCodecCapability{MimeType: "audio/opus"}, LayerHigh, nil)
		w := &capture{}
		d.bound, d.writer = true, w
		d.ready.Store(true)
		caps = append(caps, w)
		tr.mu.Lock()
		tr.down[string(rune('A'+len(tr.down)))] = d
		tr.publishDownLocked()
		tr.mu.Unlock()
	}
	for range 40 {
		add()
	}
	f := startFanout(fanoutWorkers-1, LayerHigh, m, noBatcher{})
	for seq := range 200 {
		if seq == 100 {
			add() // joins mid-stream: gets packets 100…199
		}
		down := *tr.downList.Load()
		pkt := &rtp.Packet{Header: rtp.Header{SequenceNumber: uint16(seq)}, Payload: []byte{1}}
		f.dispatch(pkt, down)
		sent, bytes := writeShard(noBatcher{}, down, 0, LayerHigh, pkt)
		countForwarded(m, sent, bytes)
	}
	f.stop()
	shards := map[int]int{}
	for i, w := range caps {
		want := 200
		if i == 40 {
			want = 100
		}
		require.Len(t, w.pkts, want, "subscriber %d", i)
		for j := 1; j < len(w.pkts); j++ {
			require.Equal(t, w.pkts[j-1].SequenceNumber+1, w.pkts[j].SequenceNumber, "subscriber %d in order", i)
		}
	}
	tr.mu.Lock()
	for _, d := range tr.down {
		shards[d.shard]++
	}
	tr.mu.Unlock()
	require.Len(t, shards, 3, "every goroutine has subscribers: %v", shards)
	require.InDelta(t, 40*200+100, counterValue(t, m.forwardedPackets), 0)
}

func counterValue(t *testing.T, c prometheus.Counter) float64 {
	var out dto.Metric
	require.NoError(t, c.Write(&out))
	return out.GetCounter().GetValue()
}
