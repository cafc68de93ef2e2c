package sfu

import (
	"math"
	"time"

	"github.com/pion/interceptor/pkg/cc"
)

// AllocateEvery is how often a full participant's downlink is
// re-allocated across its subscriptions even when nothing changed (the
// publishers' measured layer bitrates drift); an estimate change, a new
// subscription or a layer request re-allocates at once.
const AllocateEvery = 500 * time.Millisecond

// nominalBitrate is a layer's cost before it has been measured (a layer
// that just started, or one paused at the publisher): the web client's
// encodings (call.js) — camera q/h/f 150/500/1500 kbit/s, screen share
// 2.5 Mbit/s — and Opus with RTP headers ≈ 40 kbit/s.
func nominalBitrate(kind string, source TrackSource, layer int, simulcast bool) int {
	switch {
	case kind == "audio":
		return 40_000
	case source == SourceScreen:
		return 2_500_000
	case !simulcast && layer == LayerHigh:
		return 1_500_000 // one layer without a RID
	}
	return [3]int{150_000, 500_000, 1_500_000}[layer]
}

// demand describes a subscription to the allocator: its priority (audio,
// screen, active speaker's video, other video), the layer the client
// asked for, and each published layer's measured bitrate.
// requested is the layer the client asked for (read under the
// participant's lock by the caller).
func (s *subscription) demand(speakers []string, requested int) Demand {
	t := s.track
	d := Demand{TrackID: t.info.ID, MaxLayer: requested, Priority: PriorityVideo}
	switch {
	case t.info.Kind == "audio":
		d.Priority = PriorityAudio
	case t.info.Source == SourceScreen:
		d.Priority = PriorityScreen
	default:
		for _, id := range speakers {
			if id == t.info.Publisher {
				d.Priority = PrioritySpeaker
			}
		}
	}
	measured := t.layerBitrates()
	t.mu.RLock()
	simulcast := len(t.layers) > 1
	flowing := false
	for l := range t.layers {
		if l >= LayerLow && l <= LayerHigh && measured[l] > 0 {
			flowing = true
		}
	}
	for l := range t.layers {
		if l < LayerLow || l > LayerHigh {
			continue
		}
		d.Bitrates[l] = int(measured[l])
		if d.Bitrates[l] <= 0 && !flowing {
			// Nothing measured yet (the track just started): nominal
			// rates. Once some layer flows, a silent one is not offered:
			// the publisher stopped it (its own bandwidth or CPU limit, or
			// dynacast, or a relay leg's on-demand pause) and a subscriber
			// switched to it would wait for packets that do not come. The
			// subscriber's tile still asks for it (asked, dynacast), so a
			// layer paused for want of viewers resumes and is then offered.
			d.Bitrates[l] = nominalBitrate(t.info.Kind, t.info.Source, l, simulcast)
		}
	}
	t.mu.RUnlock()
	return d
}

// kick asks the allocation loop to run now (non-blocking).
func (p *Participant) kick() {
	select {
	case p.realloc <- struct{}{}:
	default:
	}
}

// budget is the subscriber's estimated downlink in bits per second
// (unlimited without an estimator).
func (p *Participant) budget() int {
	if p.bwe == nil {
		return math.MaxInt32
	}
	return p.bwe.GetTargetBitrate()
}

// congested reports whether the path to the subscriber shows congestion
// now, by the estimator's own signals: loss above 2 % (its smoothed
// average over TWCC feedback) or a growing queueing delay ("overuse").
// Without an estimator: true (the budget is unlimited then anyway).
func (p *Participant) congested() bool {
	if p.bwe == nil {
		return true
	}
	st := p.bwe.GetStats()
	loss, _ := st["averageLoss"].(float64)
	usage, _ := st["usage"].(string)
	return loss > 0.02 || usage == "overuse"
}

// allocationLoop re-allocates the subscriber's downlink (allocate) every
// AllocateEvery and on every kick, until the participant closes.
func (p *Participant) allocationLoop(bwe cc.BandwidthEstimator) {
	defer p.wg.Done()
	if bwe != nil {
		bwe.OnTargetBitrateChange(func(int) { p.kick() })
	}
	tick := time.NewTicker(AllocateEvery)
	defer tick.Stop()
	policy := newLayerPolicy()
	last := map[string]int{}
	var logged time.Time
	for {
		select {
		case <-p.stop:
			return
		case <-tick.C:
		case <-p.realloc:
		}
		p.allocate(policy, last)
		if bwe != nil && time.Since(logged) >= 2*time.Second {
			logged = time.Now()
			p.log.Debug("bandwidth estimate", "estimate_bps", bwe.GetTargetBitrate(), "gcc", bwe.GetStats())
		}
	}
}

// allocate gives each video subscription the layer the layer policy picks
// for the current bandwidth estimate (allocator.go): a switch waits for
// the new layer's keyframe (requested here), LayerOff pauses the
// downTrack. last holds the layers applied, to log changes.
func (p *Participant) allocate(policy *layerPolicy, last map[string]int) {
	p.mu.Lock()
	subs := make([]*subscription, 0, len(p.subscriptions))
	requested := make([]int, 0, len(p.subscriptions))
	for _, s := range p.subscriptions {
		subs = append(subs, s)
		requested = append(requested, s.requested)
	}
	p.mu.Unlock()
	speakers := p.room.activeSpeakers()
	demands := make([]Demand, len(subs))
	for i, s := range subs {
		demands[i] = s.demand(speakers, requested[i])
	}
	budget := p.budget()
	layers := policy.Decide(time.Now(), budget, p.congested(), demands)
	for i, s := range subs {
		if s.track.info.Kind != "video" {
			continue
		}
		l := layers[i]
		prev, seen := last[s.track.info.ID]
		last[s.track.info.ID] = l
		s.down.SetWant(l)
		s.down.asked.Store(int32(demands[i].MaxLayer))
		if s.down.SetTargetLayer(l) {
			s.track.requestKeyframe("layer change for " + p.identity)
		}
		s.track.updateDynacast()
		if !seen || prev != l {
			p.log.Debug("layer allocated", "track", s.track.info.ID, "layer", l, "asked", demands[i].MaxLayer,
				"estimate_bps", budget, "bitrates", demands[i].Bitrates)
		}
	}
	for id := range last {
		if _, ok := p.subscriptionByID(id); !ok {
			delete(last, id)
		}
	}
}

func (p *Participant) subscriptionByID(id string) (*subscription, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	s, ok := p.subscriptions[id]
	return s, ok
}

// activeSpeakers returns a copy of the room's active speakers.
func (r *Room) activeSpeakers() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.speakers...)
}
