package sfu

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var (
	// Bitrates as the web client publishes (call.js): camera simulcast
	// q/h/f at 150/500/1500 kbit/s, screen 2.5 Mbit/s, Opus ≈ 40 kbit/s
	// with headers.
	cam    = [3]int{150_000, 500_000, 1_500_000}
	screen = [3]int{0, 0, 2_500_000}
	opus   = [3]int{0, 0, 40_000}
)

func TestAllocate(t *testing.T) {
	for _, tc := range []struct {
		name    string
		budget  int
		demands []Demand
		want    []int
	}{
		{"plenty: each gets what its tile asks for", 10_000_000,
			[]Demand{{"a", PriorityVideo, LayerHigh, cam}, {"b", PriorityVideo, LayerMedium, cam}, {"m", PriorityAudio, 0, opus}},
			[]int{LayerHigh, LayerMedium, LayerHigh}},
		{"300 kbit/s, one camera: the low layer", 300_000,
			[]Demand{{"m", PriorityAudio, 0, opus}, {"a", PriorityVideo, LayerHigh, cam}},
			[]int{LayerHigh, LayerLow}},
		{"300 kbit/s, two cameras: audio both, one low layer, the other paused", 300_000,
			[]Demand{{"m1", PriorityAudio, 0, opus}, {"m2", PriorityAudio, 0, opus}, {"b", PriorityVideo, LayerHigh, cam}, {"a", PriorityVideo, LayerHigh, cam}},
			[]int{LayerHigh, LayerHigh, LayerOff, LayerLow}},
		{"the active speaker before the others", 200_000,
			[]Demand{{"a", PriorityVideo, LayerHigh, cam}, {"b", PrioritySpeaker, LayerHigh, cam}},
			[]int{LayerOff, LayerLow}},
		{"screen share before the speaker, but everyone low first", 2_000_000,
			[]Demand{{"s", PriorityScreen, LayerHigh, screen}, {"b", PrioritySpeaker, LayerHigh, cam}},
			[]int{LayerOff, LayerHigh}},
		{"screen share takes the budget before cameras are raised", 2_900_000,
			[]Demand{{"s", PriorityScreen, LayerHigh, screen}, {"b", PrioritySpeaker, LayerHigh, cam}},
			[]int{LayerHigh, LayerLow}},
		{"everyone low before anyone high", 900_000,
			[]Demand{{"a", PriorityVideo, LayerHigh, cam}, {"b", PriorityVideo, LayerHigh, cam}, {"c", PriorityVideo, LayerHigh, cam}},
			[]int{LayerMedium, LayerLow, LayerLow}},
		{"audio is never paused, even past the budget", 50_000,
			[]Demand{{"m1", PriorityAudio, 0, opus}, {"m2", PriorityAudio, 0, opus}, {"a", PriorityVideo, LayerLow, cam}},
			[]int{LayerHigh, LayerHigh, LayerOff}},
		{"an invisible tile gets nothing", 10_000_000,
			[]Demand{{"a", PriorityVideo, LayerOff, cam}},
			[]int{LayerOff}},
		{"a layer the publisher does not send: the nearest below", 10_000_000,
			[]Demand{{"a", PriorityVideo, LayerHigh, [3]int{150_000, 500_000, 0}}},
			[]int{LayerMedium}},
		{"asking below every published layer gets the lowest published", 10_000_000,
			[]Demand{{"a", PriorityVideo, LayerLow, [3]int{0, 0, 900_000}}},
			[]int{LayerHigh}},
		{"nothing published yet", 10_000_000,
			[]Demand{{"a", PriorityVideo, LayerHigh, [3]int{}}},
			[]int{LayerOff}},
		{"a raise skips a layer it cannot pay for to one it can", 10_000_000,
			[]Demand{{"a", PriorityVideo, LayerHigh, [3]int{100_000, 20_000_000, 900_000}}},
			[]int{LayerHigh}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, Allocate(tc.budget, tc.demands))
		})
	}
}

// TestLayerPolicyHysteresis walks one subscriber through a congested
// link: down at once, no raise during the hold, a raise after it, a longer
// hold after the raise fails, and the hold reset once a raise holds.
func TestLayerPolicyHysteresis(t *testing.T) {
	lp := newLayerPolicy()
	t0 := time.Unix(1_000_000, 0)
	d := []Demand{{"m", PriorityAudio, 0, opus}, {"a", PriorityVideo, LayerHigh, cam}}
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	video := func(now time.Time, budget int) int { return lp.Decide(now, budget, true, d)[1] }

	require.Equal(t, LayerHigh, video(at(0), 2_000_000), "a new track starts at what the estimate pays for")
	require.Equal(t, LayerLow, video(at(1), 300_000), "congestion: down at once")
	require.Equal(t, LayerLow, video(at(5), 5_000_000), "no raise during the hold")
	require.Equal(t, LayerLow, video(at(30.5), 5_000_000), "still held")
	require.Equal(t, LayerHigh, video(at(31), 5_000_000), "raised after the hold")
	require.Equal(t, LayerLow, video(at(35), 300_000), "the raise failed")
	require.Equal(t, LayerLow, video(at(35+59), 5_000_000), "the next hold is twice as long")
	require.Equal(t, LayerHigh, video(at(35+60), 5_000_000), "raised after the doubled hold")
	require.Equal(t, LayerHigh, video(at(35+60+31), 5_000_000), "the raise held 30 s")
	require.Equal(t, LayerLow, video(at(35+60+32), 300_000), "congestion again")
	require.Equal(t, LayerLow, video(at(35+60+32+29), 5_000_000), "the hold is back to 30 s")
	require.Equal(t, LayerHigh, video(at(35+60+32+30), 5_000_000))

	// A raise needs 10 % headroom: exactly the cost of the next layer is
	// not enough; the budget still pays for the current layer.
	lp = newLayerPolicy()
	require.Equal(t, LayerMedium, video(at(0), 40_000+500_000))
	require.Equal(t, LayerMedium, video(at(100), 40_000+1_500_000), "no headroom, no raise")
	require.Equal(t, LayerHigh, video(at(101), (40_000+1_500_000)*12/10))

	// A smaller tile is not congestion: no hold after it.
	lp = newLayerPolicy()
	require.Equal(t, LayerHigh, video(at(0), 5_000_000))
	d[1].MaxLayer = LayerLow
	require.Equal(t, LayerLow, video(at(1), 5_000_000), "the tile shrank")
	d[1].MaxLayer = LayerHigh
	require.Equal(t, LayerHigh, video(at(2), 5_000_000), "it grew again: raised at once")

	// The publisher stops sending the current layer: the next best one.
	d[1].Bitrates = [3]int{150_000, 500_000, 0}
	require.Equal(t, LayerMedium, video(at(3), 5_000_000))
}

// TestLayerPolicyToleratesEstimateDips: a delay spike drops GCC's
// estimate to 0.85 × the rate received; the layers stay. A shortfall that
// lasts a second moves down; a track is paused only when even the lowest
// layer does not fit within the slack, and resumes at its lowest layer as
// soon as it fits, hold or not.
func TestLayerPolicyToleratesEstimateDips(t *testing.T) {
	lp := newLayerPolicy()
	t0 := time.Unix(1_000_000, 0)
	d := []Demand{{"m", PriorityAudio, 0, opus}, {"a", PriorityVideo, LayerHigh, cam}}
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	video := func(now time.Time, budget int) int { return lp.Decide(now, budget, true, d)[1] }
	used := 40_000 + 1_500_000

	require.Equal(t, LayerHigh, video(at(0), 5_000_000))
	require.Equal(t, LayerHigh, video(at(1), used*85/100), "a dip to 0.85 × the rate sent")
	require.Equal(t, LayerHigh, video(at(2), 5_000_000))
	require.Equal(t, LayerHigh, video(at(3), 1_000_000), "a shortfall, but not severe: wait")
	require.Equal(t, LayerHigh, video(at(3.5), 1_000_000))
	require.Equal(t, LayerMedium, video(at(4), 1_000_000), "a second later: down to what the estimate pays for")

	lp = newLayerPolicy()
	require.Equal(t, LayerLow, video(at(0), 200_000))
	require.Equal(t, LayerLow, video(at(1), 160_000), "the lowest layer still fits within the slack: not paused")
	require.Equal(t, LayerLow, video(at(5), 140_000))
	require.Equal(t, LayerOff, video(at(6), 140_000), "nothing fits for a second: paused")
	require.Equal(t, LayerLow, video(at(7), 220_000), "resumed at the lowest layer at once")
	require.Equal(t, LayerLow, video(at(8), 5_000_000), "raising above it waits for the hold")
}

// TestLayerPolicyWaitsForCongestion: an estimate that stays low after a
// burst while the path shows neither loss nor growing delay moves nothing
// unless it is severe; the same shortfall with congestion does.
func TestLayerPolicyWaitsForCongestion(t *testing.T) {
	lp := newLayerPolicy()
	t0 := time.Unix(1_000_000, 0)
	d := []Demand{{"m", PriorityAudio, 0, opus}, {"a", PriorityVideo, LayerHigh, cam}}
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	require.Equal(t, LayerLow, lp.Decide(at(0), 220_000, true, d)[1])
	require.Equal(t, LayerLow, lp.Decide(at(1), 120_000, false, d)[1], "a low estimate on a clear path")
	require.Equal(t, LayerLow, lp.Decide(at(5), 120_000, false, d)[1], "still clear: the low layer stays")
	require.Equal(t, LayerLow, lp.Decide(at(6), 120_000, true, d)[1], "congested: the clock starts")
	require.Equal(t, LayerOff, lp.Decide(at(7), 80_000, true, d)[1], "congested for a second: paused")
	require.Equal(t, LayerOff, lp.Decide(at(9), 100_000, false, d)[1], "paused at least 3 s")
	require.Equal(t, LayerOff, lp.Decide(at(10), 100_000, true, d)[1], "not while the path is congested")
	require.Equal(t, LayerLow, lp.Decide(at(10.5), 100_000, false, d)[1], "the lowest layer is tried again on a clear path, whatever the estimate")
	require.Equal(t, LayerOff, lp.Decide(at(11), 60_000, false, d)[1], "severe (under 40 % of the cost) goes at once, congestion or not")
	require.Equal(t, LayerOff, lp.Decide(at(16), 100_000, false, d)[1], "the failed try doubled the pause to 6 s")
	require.Equal(t, LayerLow, lp.Decide(at(17), 100_000, false, d)[1])
}

// TestLayerPolicyRevertsAFailedRaise: a raise that meets congestion goes
// back to the layer the path carried before it, not to what the estimate
// (cut after the burst) pays for, and not off.
func TestLayerPolicyRevertsAFailedRaise(t *testing.T) {
	lp := newLayerPolicy()
	t0 := time.Unix(1_000_000, 0)
	d := []Demand{{"m", PriorityAudio, 0, opus}, {"a", PriorityVideo, LayerHigh, cam}}
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	require.Equal(t, LayerLow, lp.Decide(at(0), 250_000, true, d)[1])
	require.Equal(t, LayerMedium, lp.Decide(at(31), 700_000, false, d)[1], "the hold is over: raised")
	require.Equal(t, LayerLow, lp.Decide(at(32), 110_000, true, d)[1], "the estimate collapsed: back at once to the layer before the raise, not off")
	require.Equal(t, LayerLow, lp.Decide(at(33), 110_000, true, d)[1], "and it stays")
	require.Equal(t, LayerLow, lp.Decide(at(32+59), 5_000_000, false, d)[1], "the next raise waits twice as long")
	require.Equal(t, LayerHigh, lp.Decide(at(32+60), 5_000_000, false, d)[1])
}

// TestLayerPolicyProbesAnAppLimitedEstimate: after a cut, GCC's estimate
// of a subscriber receiving only the low layer stays near 1.5 × that rate
// (what CI saw: a viewer asking for the high layer kept the low one at
// 170–290 kbit/s). On a clear path the policy probes one layer up after
// probeAfter, step by step; a probe that meets congestion reverts to the
// layer before it and doubles the hold; none while congested.
func TestLayerPolicyProbesAnAppLimitedEstimate(t *testing.T) {
	lp := newLayerPolicy()
	t0 := time.Unix(1_000_000, 0)
	d := []Demand{{"m", PriorityAudio, 0, opus}, {"a", PriorityVideo, LayerHigh, cam}}
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	require.Equal(t, LayerHigh, lp.Decide(at(0), 2_000_000, false, d)[1])
	d[1].MaxLayer = LayerLow
	require.Equal(t, LayerLow, lp.Decide(at(1), 2_000_000, false, d)[1], "the viewer asks for the low layer")
	d[1].MaxLayer = LayerHigh
	require.Equal(t, LayerLow, lp.Decide(at(2), 285_000, false, d)[1], "it asks for the high one; the estimate (cut meanwhile) pays for the low one")
	require.Equal(t, LayerLow, lp.Decide(at(5.9), 285_000, false, d)[1], "not yet")
	require.Equal(t, LayerLow, lp.Decide(at(6), 285_000, true, d)[1], "not while congested")
	require.Equal(t, LayerMedium, lp.Decide(at(6.5), 285_000, false, d)[1], "a clear path for probeAfter: one layer up")
	require.Equal(t, LayerMedium, lp.Decide(at(8), 400_000, false, d)[1], "the estimate lags the probe; the path is clear: it stays")
	require.Equal(t, LayerMedium, lp.Decide(at(11.4), 700_000, false, d)[1])
	require.Equal(t, LayerHigh, lp.Decide(at(11.5), 700_000, false, d)[1], "the next layer, probeAfter later")
	require.Equal(t, LayerMedium, lp.Decide(at(12), 300_000, true, d)[1], "the probe met congestion: back to the layer before it")
	require.Equal(t, LayerMedium, lp.Decide(at(12+59), 700_000, false, d)[1], "the next probe waits the doubled hold")
	require.Equal(t, LayerHigh, lp.Decide(at(12+60), 700_000, false, d)[1])

	// No probe the estimate cannot half pay for (the severe bound): a
	// probe to a layer over 2.5 × the estimate would be undone at once.
	lp = newLayerPolicy()
	require.Equal(t, LayerLow, lp.Decide(at(0), 200_000, false, d)[1])
	require.Equal(t, LayerLow, lp.Decide(at(30), 200_000, false, d)[1], "2.5 × 200 kbit/s does not pay for the medium layer")
}
