package sfu

import "time"

// PauseLayersAfter is how long no subscriber may need a simulcast layer
// before its publisher is asked to stop sending it. Raising is at once.
const PauseLayersAfter = 2 * time.Second

// dynacastState is what a publishedTrack last told its publisher: every
// layer up to sent is on, the ones above it are off (LayerOff: all off).
// A publisher starts with every layer on.
type dynacastState struct {
	sent  int
	timer *time.Timer
}

// neededLayer is the highest layer the downTrack receives, is switching
// to, or its subscriber asked for; LayerOff if none.
func (d *downTrack) neededLayer() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.fixed {
		return d.target // a relay leg's layer, LayerOff while the other node needs none
	}
	return max(d.target, d.current, int(d.asked.Load()))
}

// updateDynacast tells the publisher of a simulcast video track to send
// only the layers up to the highest one any subscriber receives or asks
// for with its tile size (LiveKit's dynacast: a layer the bandwidth
// estimate holds a subscriber below stays on, so the raise finds it): nobody watching a large tile means no 960-pixel encoding at
// the publisher, which saves its uplink and CPU. Lower layers stay on (a
// subscriber whose bandwidth drops can switch down at once); with no
// subscriber at all every layer is off. Raising a layer is sent at once,
// pausing after PauseLayersAfter without need.
func (t *publishedTrack) updateDynacast() { t.applyDynacast(false) }

func (t *publishedTrack) applyDynacast(lowerNow bool) {
	// One decision and its message at a time: decided under t.mu but sent
	// after it, two concurrent raises (three relay legs attaching at once)
	// could reach the publisher out of order, leaving it sending fewer
	// layers than t.dyn.sent says, with nothing to correct it.
	t.dynMu.Lock()
	defer t.dynMu.Unlock()
	t.mu.Lock()
	if t.closed || t.info.Kind != "video" || len(t.layers) < 2 {
		t.mu.Unlock()
		return
	}
	need := LayerOff
	for _, d := range t.down {
		need = max(need, d.neededLayer())
	}
	send := false
	switch {
	case need > t.dyn.sent || (need < t.dyn.sent && lowerNow):
		t.dyn.sent, send = need, true
		if t.dyn.timer != nil {
			t.dyn.timer.Stop()
			t.dyn.timer = nil
		}
	case need < t.dyn.sent:
		if t.dyn.timer == nil {
			t.dyn.timer = time.AfterFunc(PauseLayersAfter, func() {
				t.mu.Lock()
				t.dyn.timer = nil
				t.mu.Unlock()
				t.applyDynacast(true)
			})
		}
	default:
		if t.dyn.timer != nil {
			t.dyn.timer.Stop()
			t.dyn.timer = nil
		}
	}
	sent := t.dyn.sent
	t.mu.Unlock()
	if !send {
		return
	}
	on := []bool{sent >= LayerLow, sent >= LayerMedium, sent >= LayerHigh}
	t.publisher.log.Debug("publisher layers", "track", t.info.ID, "highest", sent)
	t.publisher.sendEvent(Event{Type: EventPublisherLayers, TrackID: t.info.ID, Layers: on})
}
