package sfu

import (
	"sort"
	"time"
)

// LayerOff is the layer of a video track a subscriber receives nothing
// of: an invisible tile (the client asked for it), or a track the
// subscriber's bandwidth cannot carry even at the lowest layer (paused).
const LayerOff = -1

// Priority orders a subscriber's tracks when its downlink bandwidth is
// short: lower values are served first.
type Priority int

// Allocation priorities, highest first: audio (never paused), screen
// share, the room's active speakers' video, every other video.
const (
	PriorityAudio Priority = iota
	PriorityScreen
	PrioritySpeaker
	PriorityVideo
)

// Demand is one subscribed track as the allocator sees it.
type Demand struct {
	TrackID  string
	Priority Priority
	// MaxLayer is the highest layer the subscriber asked for (the
	// client's tile size, LayerLow … LayerHigh), or LayerOff for none.
	// Audio ignores it.
	MaxLayer int
	// Bitrates is each layer's cost in bits per second (measured from
	// the publisher, or nominal before there is a measurement); 0 means
	// the publisher does not send that layer. A track without simulcast
	// (audio, a screen share) has only Bitrates[LayerHigh].
	Bitrates [3]int
}

// published reports whether layer l is sent by the publisher.
func (d Demand) published(l int) bool { return l >= LayerLow && l <= LayerHigh && d.Bitrates[l] > 0 }

// cost is the bits per second of layer l (0 for LayerOff).
func (d Demand) cost(l int) int {
	if l < LayerLow || l > LayerHigh {
		return 0
	}
	return d.Bitrates[l]
}

// wanted is the layer the subscriber would get with unlimited bandwidth:
// the highest published layer ≤ MaxLayer, else the lowest published one
// (a subscriber asking for a layer the publisher does not send gets the
// nearest), or LayerOff.
func (d Demand) wanted() int {
	if d.Priority == PriorityAudio {
		return d.highest()
	}
	if d.MaxLayer == LayerOff {
		return LayerOff
	}
	for l := min(d.MaxLayer, LayerHigh); l >= LayerLow; l-- {
		if d.published(l) {
			return l
		}
	}
	return d.lowest()
}

func (d Demand) lowest() int {
	for l := LayerLow; l <= LayerHigh; l++ {
		if d.published(l) {
			return l
		}
	}
	return LayerOff
}

func (d Demand) highest() int {
	for l := LayerHigh; l >= LayerLow; l-- {
		if d.published(l) {
			return l
		}
	}
	return LayerOff
}

// Allocate splits budget (bits per second, the subscriber's estimated
// downlink) across its tracks and returns the layer of each demand, in
// the order given. Audio always gets its layer (its cost is deducted
// first, even past the budget: a call without sound is lost, a call
// without video is not). Then, in priority order (ties by TrackID, so the
// result is deterministic), every video track gets its lowest layer if it
// fits (else LayerOff: paused); then, in the same order, each is raised to
// the highest layer ≤ its wanted layer that the remaining budget pays for.
// Everyone sees something before anyone sees it sharp, as in LiveKit's
// stream allocator.
func Allocate(budget int, demands []Demand) []int {
	out := make([]int, len(demands))
	order := make([]int, len(demands))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool {
		da, db := demands[order[a]], demands[order[b]]
		if da.Priority != db.Priority {
			return da.Priority < db.Priority
		}
		return da.TrackID < db.TrackID
	})
	left := budget
	for _, i := range order {
		d := demands[i]
		out[i] = LayerOff
		if d.Priority == PriorityAudio {
			out[i] = d.wanted()
			left -= d.cost(out[i])
			continue
		}
		w := d.wanted()
		if w == LayerOff {
			continue
		}
		low := d.lowest()
		if low > w {
			low = w
		}
		if c := d.cost(low); c <= left {
			out[i] = low
			left -= c
		}
	}
	for _, i := range order {
		d := demands[i]
		if d.Priority == PriorityAudio || out[i] == LayerOff {
			continue
		}
		for l := d.wanted(); l > out[i]; l-- {
			if !d.published(l) {
				continue
			}
			if extra := d.cost(l) - d.cost(out[i]); extra <= left {
				left -= extra
				out[i] = l
				break
			}
		}
	}
	return out
}

// Layer policy timing: after a downgrade forced by the bandwidth
// estimate, a track is not raised again for upgradeHold (doubling on each
// forced downgrade that follows an upgrade, up to maxUpgradeHold); an
// upgrade that lasts stableAfter resets the hold. An upgrade also needs
// upgradeHeadroom of spare budget. Each failed upgrade costs the viewer a
// short freeze, so they are spaced out: at most one a minute on a link
// that cannot carry the next layer.
const (
	upgradeHold     = 30 * time.Second
	maxUpgradeHold  = 4 * time.Minute
	stableAfter     = 30 * time.Second
	upgradeHeadroom = 10 // percent
)

// layerPolicy turns a subscriber's successive bandwidth estimates into
// layer decisions with hysteresis: downgrades at once, upgrades only with
// headroom and not during a hold. It is a pure type (time is passed in;
// no goroutines, no I/O), table-tested in allocator_test.go. Not safe
// for concurrent use.
type layerPolicy struct {
	tracks map[string]*trackPolicy
}

type trackPolicy struct {
	layer      int
	holdUntil  time.Time
	hold       time.Duration
	upgradedAt time.Time
}

func newLayerPolicy() *layerPolicy { return &layerPolicy{tracks: map[string]*trackPolicy{}} }

// Decide returns the layer for each demand at time now, given the
// subscriber's bandwidth estimate budget (bits per second). Tracks not in
// demands are forgotten.
func (lp *layerPolicy) Decide(now time.Time, budget int, demands []Demand) []int {
	fit := Allocate(budget, demands)
	roomy := Allocate(budget-budget*upgradeHeadroom/100, demands)
	out := make([]int, len(demands))
	seen := make(map[string]bool, len(demands))
	for i, d := range demands {
		seen[d.TrackID] = true
		tp, ok := lp.tracks[d.TrackID]
		if !ok {
			tp = &trackPolicy{layer: fit[i], hold: upgradeHold}
			lp.tracks[d.TrackID] = tp
			out[i] = fit[i]
			continue
		}
		if !tp.upgradedAt.IsZero() && now.Sub(tp.upgradedAt) >= stableAfter {
			tp.hold, tp.upgradedAt = upgradeHold, time.Time{}
		}
		cur := tp.layer
		if cur != LayerOff && !d.published(cur) && d.Priority != PriorityAudio {
			cur = LayerOff // the publisher stopped sending it
		}
		switch {
		case fit[i] < cur:
			// The budget or the subscriber's demand no longer pays for
			// the current layer: go down now. When the budget forced it,
			// hold upgrades, longer after each failed upgrade.
			if fit[i] < d.wanted() {
				if !tp.upgradedAt.IsZero() {
					tp.hold = min(2*tp.hold, maxUpgradeHold)
				}
				tp.holdUntil, tp.upgradedAt = now.Add(tp.hold), time.Time{}
			}
			cur = fit[i]
		case min(roomy[i], fit[i]) > cur && !now.Before(tp.holdUntil):
			cur, tp.upgradedAt = min(roomy[i], fit[i]), now
		}
		tp.layer = cur
		out[i] = cur
	}
	for id := range lp.tracks {
		if !seen[id] {
			delete(lp.tracks, id)
		}
	}
	return out
}
