package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

type inboundVideo struct {
	TrackID         string  `json:"trackId"`
	FrameWidth      float64 `json:"frameWidth"`
	FramesPerSecond float64 `json:"framesPerSecond"`
}

// widest is the widest inbound video frame the tab decodes now.
func widest(t *testing.T, p context.Context) float64 {
	w := 0.0
	for _, v := range eval[[]inboundVideo](t, p, `window.chroom.inboundVideo()`) {
		w = max(w, v.FrameWidth)
	}
	return w
}

// TestSimulcastLayersPerSubscriber: Ann's camera goes out as three
// simulcast layers, and each subscriber gets the layer it asks for from
// the same publisher at the same time: Cid, who asks for the lowest
// (pinLayer(0), as a small tile or a data saver would), ≤ 320 px; Ben,
// who asks for the highest (a large tile), ≥ 640 px. Without a pin a tile
// asks for the layer its rendered width needs (three tiles of a 1280 px
// window: the medium one).
func TestSimulcastLayersPerSubscriber(t *testing.T) {
	b := browser(t)
	base := fmt.Sprintf("http://127.0.0.1:%d", orchHTTP)
	ann, ben, cid := tab(t, b), tab(t, b), tab(t, b)
	require.NoError(t, chromedp.Run(ann, chromedp.Navigate(base+"/?room=simulcast&name=Ann&autojoin=1")))
	require.NoError(t, chromedp.Run(ben, chromedp.Navigate(base+"/?room=simulcast&name=Ben&autojoin=1")))
	require.NoError(t, chromedp.Run(cid, chromedp.Navigate(base+"/?room=simulcast&name=Cid&autojoin=1")))
	for name, p := range map[string]context.Context{"ann": ann, "ben": ben, "cid": cid} {
		waitFor(t, p, name+" joins", `window.chroom && window.chroom.state === "joined"`, 30*time.Second)
	}
	waitFor(t, ben, "ben decodes ann's video at the layer his tile size asks for", `window.chroom.inboundVideo().then(v => v.some(x => x.frameWidth > 0))`, 30*time.Second)
	auto := widest(t, ben)
	eval[any](t, cid, `window.chroom.pinLayer(0)`)
	eval[any](t, ben, `window.chroom.pinLayer(2)`)
	deadline := time.Now().Add(30 * time.Second)
	var bw, cw float64
	for time.Now().Before(deadline) {
		bw, cw = widest(t, ben), widest(t, cid)
		if bw >= 640 && cw > 0 && cw <= 320 {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Logf("widest decoded video: Ben %.0f px by tile size, %.0f px pinned high; Cid %.0f px pinned low", auto, bw, cw)
	require.GreaterOrEqual(t, bw, 640.0, "an unconstrained subscriber gets ≥ 640 px")
	require.Greater(t, cw, 0.0, "the pinned subscriber decodes video")
	require.LessOrEqual(t, cw, 320.0, "the pinned subscriber gets the low layer")
}

type outboundVideo struct {
	RID       string  `json:"rid"`
	Active    bool    `json:"active"`
	BytesSent float64 `json:"bytesSent"`
}

// activeRIDs is the publisher's simulcast encodings that are on, e.g. "qh".
func activeRIDs(t *testing.T, p context.Context) string {
	on := ""
	for _, v := range eval[[]outboundVideo](t, p, `window.chroom.outboundVideo()`) {
		if v.Active {
			on += v.RID
		}
	}
	return on
}

// waitRIDs waits until the publisher sends exactly the encodings want.
func waitRIDs(t *testing.T, p context.Context, want, why string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	got := ""
	for time.Now().Before(deadline) {
		if got = activeRIDs(t, p); sortedRIDs(got) == sortedRIDs(want) {
			return
		}
		time.Sleep(250 * time.Millisecond)
	}
	var log []string
	for _, l := range strings.Split(eval[string](t, p, `window.chroom.debugLog()`), "\n") {
		if strings.Contains(l, "publisher layers") || strings.Contains(l, "setParameters") {
			log = append(log, l)
		}
	}
	t.Fatalf("%s: the publisher sends %q, want %q (its log: %v; stats %v)", why, got, want, log, eval[any](t, p, `window.chroom.outboundVideo()`))
}

func sortedRIDs(s string) string {
	out := ""
	for _, r := range "qhf" {
		if strings.ContainsRune(s, r) {
			out += string(r)
		}
	}
	return out
}

// TestDynacastPausesUnwatchedLayers: Ann publishes her camera in three
// layers, Ben watches. When Ben's tile needs only the low layer, the node
// tells Ann's client to stop encoding the two above it; when Ben wants the
// high one again it comes back (and Ben decodes ≥ 640 px); when nobody
// watches (Ben's tile is off screen: layer -1) Ann sends no video at all,
// and the video comes back when Ben looks again.
func TestDynacastPausesUnwatchedLayers(t *testing.T) {
	b := browser(t)
	base := fmt.Sprintf("http://127.0.0.1:%d", orchHTTP)
	ann, ben := tab(t, b), tab(t, b)
	require.NoError(t, chromedp.Run(ann, chromedp.Navigate(base+"/?room=dynacast&name=Ann&autojoin=1")))
	require.NoError(t, chromedp.Run(ben, chromedp.Navigate(base+"/?room=dynacast&name=Ben&role=viewer&autojoin=1")))
	for name, p := range map[string]context.Context{"ann": ann, "ben": ben} {
		waitFor(t, p, name+" joins", `window.chroom && window.chroom.state === "joined"`, 30*time.Second)
	}
	waitFor(t, ben, "ben decodes ann", `window.chroom.framesDecoded().then(n => n > 10)`, 30*time.Second)

	eval[any](t, ben, `window.chroom.pinLayer(0)`)
	waitRIDs(t, ann, "q", "only the low layer is watched")
	eval[any](t, ben, `window.chroom.pinLayer(2)`)
	waitRIDs(t, ann, "qhf", "the high layer is watched again")
	waitFor(t, ben, "ben gets the high layer back", `window.chroom.inboundVideo().then(v => v.some(x => x.frameWidth >= 640))`, 20*time.Second)

	eval[any](t, ben, `window.chroom.pinLayer(-1)`)
	waitRIDs(t, ann, "", "nobody watches")
	f := frames(t, ben)
	eval[any](t, ben, `window.chroom.pinLayer(null)`)
	waitFor(t, ben, "ben sees ann again", fmt.Sprintf(`window.chroom.framesDecoded().then(n => n > %v + 10)`, f), 15*time.Second)
	require.NotEmpty(t, activeRIDs(t, ann), "ann sends video again")
}
