package sfu

import (
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/stretchr/testify/require"
)

// layerEvents records the publisher_layers messages a publisher gets. With
// hold set, the next message waits (up to 100 ms) until another one is
// recorded: a send that took a while (scheduling, the signal's lock).
type layerEvents struct {
	recordingSignal
	mu      sync.Mutex
	last    []bool
	hold    bool
	entered chan struct{} // closed when the held send starts waiting
	other   chan struct{} // closed when another message is recorded
}

func (l *layerEvents) SendEvent(ev Event) error {
	if ev.Type != EventPublisherLayers {
		return nil
	}
	l.mu.Lock()
	hold, entered, other := l.hold, l.entered, l.other
	l.hold = false
	l.mu.Unlock()
	if hold {
		close(entered)
		select {
		case <-other:
		case <-time.After(100 * time.Millisecond):
		}
	}
	l.mu.Lock()
	l.last = ev.Layers
	if !hold && other != nil {
		select {
		case <-other:
		default:
			close(other)
		}
	}
	l.mu.Unlock()
	return nil
}

// TestDynacastMessagesFollowTheDecisions: three subscribers (the relay
// legs of a cascade, attaching at once) raise a track's needed layer one
// after the other while the first raise's message is still on its way.
// The last message the publisher gets must say what the node decided
// last (every layer on). Sent in any order, the publisher could end with
// one layer while the node believed it had asked for three, and nothing
// would correct it (seen in the cascade e2e test).
func TestDynacastMessagesFollowTheDecisions(t *testing.T) {
	rec := &layerEvents{}
	pub := &Participant{kind: KindFull, signal: rec, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	tr := newPublishedTrack(pub, TrackInfo{ID: "cam", Kind: "video"}, webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8})
	for l := LayerLow; l <= LayerHigh; l++ {
		tr.layers[l] = nil // three layers published (their readers are not needed here)
	}
	downs := make([]*downTrack, 3)
	for i := range downs {
		downs[i] = newDownTrack("cam~"+string(rune('q'+i)), "pub", webrtc.RTPCodecTypeVideo, tr.codec, LayerOff, nil)
		downs[i].fixed = true
		require.True(t, tr.attach(string(rune('a'+i)), downs[i]))
	}
	raise := func(i int, wg *sync.WaitGroup) {
		defer wg.Done()
		downs[i].mu.Lock()
		downs[i].setTargetLocked(i)
		downs[i].mu.Unlock()
		tr.updateDynacast()
	}
	for round := range 10 {
		for _, d := range downs {
			d.mu.Lock()
			d.setTargetLocked(LayerOff)
			d.mu.Unlock()
		}
		tr.applyDynacast(true)
		require.Equal(t, []bool{false, false, false}, rec.last, "round %d: nobody needs the track", round)
		rec.mu.Lock()
		rec.hold, rec.entered, rec.other = true, make(chan struct{}), make(chan struct{})
		entered := rec.entered
		rec.mu.Unlock()
		var wg sync.WaitGroup
		wg.Add(3)
		go raise(0, &wg)
		<-entered // the low layer's message is on its way
		go raise(1, &wg)
		go raise(2, &wg)
		wg.Wait()
		require.Equal(t, []bool{true, true, true}, rec.last, "round %d: the last message is the last decision", round)
	}
}
