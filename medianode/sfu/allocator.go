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

// Layer policy tuning. The estimate (GCC) of a subscriber the SFU sends
// less than it could (app-limited: the usual case) grows freely, and a
// single delay spike — a large keyframe sent in one burst — drops it to
// 0.85 × the rate just received, which is below what is being sent by
// definition. So the current layers stay while they fit within
// keepSlack of the estimate, and a shortfall must last downgradeAfter
// with the path congested (Decide), unless the estimate is under 40 % of
// the cost (go down at once). A paused track tries its lowest layer again
// after resumeAfter when the path is clear (doubling after a failed try).
// A raise needs raiseHeadroom of spare budget; after a downgrade forced
// by the estimate a track is not raised above its lowest layer for
// upgradeHold, doubling after each raise that fails within stableAfter,
// up to maxUpgradeHold: each failed raise costs the viewer a short
// freeze, so on a link that cannot carry the next layer they come at most
// once a minute after the first. Resuming a paused track at its lowest
// layer is never held.
//
// An estimate that does not pay for the layer the subscriber wants may
// only be app-limited: after a cut, GCC grows additively up to 1.5 × the
// rate it receives (pion/interceptor gcc rate_controller.go), so a
// subscriber receiving the low layer (≈ 190 kbit/s with audio) is held
// below the medium layer's cost forever though the link carries more (seen
// in CI: a viewer asking for the high layer kept the low one for 20 s at
// an estimate of 170–290 kbit/s). So a track kept below what it wants
// for probeAfter on a clear path is raised one layer anyway — a probe, if
// the estimate × 2.5 (the severe bound) pays for it; a probe that meets
// congestion reverts and doubles the hold like any failed raise, so on a
// link that really is capped probes come at most once a minute after the
// first. LiveKit probes with padding instead; this costs the viewer a
// short freeze when the probe fails.
const (
	keepSlack      = 125 // percent of the estimate the current layers may use
	raiseHeadroom  = 10  // percent of the estimate left spare after a raise
	resumeAfter    = 3 * time.Second
	maxResumeAfter = time.Minute
	downgradeAfter = time.Second
	upgradeHold    = 30 * time.Second
	maxUpgradeHold = 4 * time.Minute
	stableAfter    = 30 * time.Second
	probeAfter     = 5 * time.Second
)

// layerPolicy turns a subscriber's successive bandwidth estimates into
// layer decisions with hysteresis (see the tuning above). It is a pure
// type (time is passed in; no goroutines, no I/O), table-tested in
// allocator_test.go. Not safe for concurrent use.
type layerPolicy struct {
	tracks map[string]*trackPolicy
}

type trackPolicy struct {
	layer     int
	holdUntil time.Time
	hold      time.Duration
	// raisedAt is when a raise past a budget limit happened (zero once it
	// held stableAfter, or if the last raise was not budget-limited).
	raisedAt time.Time
	// limited: the last decision gave less than the subscriber wanted
	// because of the budget.
	limited bool
	// shortSince is when the current layer stopped fitting keepSlack.
	shortSince time.Time
	// pausedAt is when the track went to LayerOff for the budget;
	// resumedAt when it last came back; pauseFor how long the next pause
	// lasts at least (resumeAfter, doubling after a resume that failed).
	pausedAt, resumedAt time.Time
	pauseFor            time.Duration
	// before is the layer a budget-limited raise (raisedAt) left: the
	// layer the path carried.
	before int
	// changedAt is when the layer last changed.
	changedAt time.Time
}

func newLayerPolicy() *layerPolicy { return &layerPolicy{tracks: map[string]*trackPolicy{}} }

// Decide returns the layer for each demand at time now, given the
// subscriber's bandwidth estimate budget (bits per second) and whether
// the path shows congestion now (congested: loss, or queueing delay
// growing). A shortfall that is not severe moves a track down only while
// the path is congested: after a burst (a keyframe into a thin link) GCC
// cuts its estimate to 0.85 × the rate just received and then climbs
// 8 %/s, so the estimate stays low for seconds after the path recovered;
// trusting it then pauses video that the link carries. Tracks not in
// demands are forgotten.
func (lp *layerPolicy) Decide(now time.Time, budget int, congested bool, demands []Demand) []int {
	fit := Allocate(budget, demands)
	keep := Allocate(budget/100*keepSlack, demands)
	severe := Allocate(budget/2*5, demands)
	roomy := Allocate(budget/100*(100-raiseHeadroom), demands)
	out := make([]int, len(demands))
	seen := make(map[string]bool, len(demands))
	for i, d := range demands {
		seen[d.TrackID] = true
		want := d.wanted()
		tp, ok := lp.tracks[d.TrackID]
		if !ok {
			tp = &trackPolicy{layer: fit[i], hold: upgradeHold, limited: fit[i] < want, pauseFor: resumeAfter, changedAt: now}
			lp.tracks[d.TrackID] = tp
			out[i] = fit[i]
			continue
		}
		if !tp.raisedAt.IsZero() && now.Sub(tp.raisedAt) >= stableAfter {
			tp.hold, tp.raisedAt = upgradeHold, time.Time{}
		}
		cur := tp.layer
		if cur != LayerOff && !d.published(cur) && d.Priority != PriorityAudio {
			cur = LayerOff // the publisher stopped sending it
		}
		if cur > want {
			cur = want // the subscriber asks for less (a smaller tile): not congestion
		}
		if keep[i] >= cur || !congested {
			tp.shortSince = time.Time{}
		} else if tp.shortSince.IsZero() {
			tp.shortSince = now
		}
		switch {
		case severe[i] < cur || (keep[i] < cur && congested && now.Sub(tp.shortSince) >= downgradeAfter):
			// The estimate no longer pays for the current layer: down to
			// what it pays for, but not off while keepSlack still pays
			// for the lowest layer. Hold raises, longer after a failed one.
			next := fit[i]
			if next == LayerOff && keep[i] != LayerOff {
				next = min(keep[i], d.lowest())
			}
			if !tp.raisedAt.IsZero() {
				// A raise failed: back to the layer the path carried
				// before it (the estimate, cut after the burst, says
				// less), unless even that is severe.
				if tp.before > next && severe[i] >= tp.before && d.published(tp.before) {
					next = tp.before
				}
				tp.hold = min(2*tp.hold, maxUpgradeHold)
			}
			tp.holdUntil, tp.raisedAt, tp.shortSince = now.Add(tp.hold), time.Time{}, time.Time{}
			cur = next
			if cur == LayerOff {
				if !tp.resumedAt.IsZero() && now.Sub(tp.resumedAt) < stableAfter {
					tp.pauseFor = min(2*tp.pauseFor, maxResumeAfter) // the resume failed
				}
				tp.pausedAt, tp.resumedAt = now, time.Time{}
			}
		case min(roomy[i], fit[i]) > cur && (!now.Before(tp.holdUntil) || (cur == LayerOff && d.lowest() == min(roomy[i], fit[i]))):
			if tp.limited {
				tp.raisedAt, tp.before = now, cur
			}
			cur = min(roomy[i], fit[i])
		case cur == LayerOff && !tp.pausedAt.IsZero() && want != LayerOff && !congested && now.Sub(tp.pausedAt) >= tp.pauseFor:
			// Paused for the budget: try the lowest layer again after
			// pauseFor if the path is clear, whatever the estimate says —
			// with only audio flowing GCC's estimate hardly moves (it
			// grows additively near the rate of its last cut), so waiting
			// for it kept video off for a minute on a link that carries
			// it. A resume that fails doubles the next pause (≤ 1 min).
			cur, tp.resumedAt = d.lowest(), now
		case cur != LayerOff && cur < want && severe[i] > cur && !congested && !now.Before(tp.holdUntil) && now.Sub(tp.changedAt) >= probeAfter:
			// Below what the subscriber wants for probeAfter on a clear
			// path, and the estimate may be app-limited: probe one layer
			// up (see probeAfter); a failure reverts to cur.
			tp.raisedAt, tp.before = now, cur
			for l := cur + 1; l <= want; l++ {
				if d.published(l) {
					cur = l
					break
				}
			}
		}
		if cur != LayerOff {
			tp.pausedAt = time.Time{}
		}
		if !tp.resumedAt.IsZero() && now.Sub(tp.resumedAt) >= stableAfter {
			tp.pauseFor, tp.resumedAt = resumeAfter, time.Time{}
		}
		tp.limited = cur < want
		if cur != tp.layer {
			tp.changedAt = now
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
