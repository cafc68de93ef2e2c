package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

// TestAudioOnlyListenerBandwidth: in a three-person video call, a fourth
// participant who joins "audio only" (no camera, no video received)
// decodes no video and downloads only the three others' audio (≈ 40
// kbit/s each with Chromium's default Opus and RTP/SRTP overhead): under
// 180 kbit/s, and less than a video participant downloads.
// Measured from each tab's
// transport bytesReceived over 10 s, after the call settles; the figures
// are logged (docs/benchmarks.md).
func TestAudioOnlyListenerBandwidth(t *testing.T) {
	b := browser(t)
	base := fmt.Sprintf("http://127.0.0.1:%d", orchHTTP)
	var video []context.Context
	for _, name := range []string{"Ann", "Ben", "Cid"} {
		p := tab(t, b)
		require.NoError(t, chromedp.Run(p, chromedp.Navigate(base+"/?room=audio-only&name="+name+"&autojoin=1")))
		video = append(video, p)
	}
	listener := tab(t, b)
	require.NoError(t, chromedp.Run(listener, chromedp.Navigate(base+"/?room=audio-only&name=Lis&audio_only=1&autojoin=1")))
	for i, p := range append(append([]context.Context{}, video...), listener) {
		waitFor(t, p, fmt.Sprintf("tab %d joins", i), `window.chroom && window.chroom.state === "joined"`, 30*time.Second)
	}
	waitFor(t, video[0], "a video participant decodes video", `window.chroom.framesDecoded().then(n => n > 30)`, 30*time.Second)
	waitFor(t, listener, "the listener hears audio", `window.chroom.audioSamplesReceived().then(n => n > 0)`, 30*time.Second)
	require.Zero(t, eval[float64](t, listener, `window.chroom.framesDecoded()`), "the listener decodes no video")
	time.Sleep(3 * time.Second) // let bandwidth estimation settle

	const window = 10 * time.Second
	v0, l0 := eval[float64](t, video[0], `window.chroom.inboundBytes()`), eval[float64](t, listener, `window.chroom.inboundBytes()`)
	time.Sleep(window)
	v1, l1 := eval[float64](t, video[0], `window.chroom.inboundBytes()`), eval[float64](t, listener, `window.chroom.inboundBytes()`)
	videoKbps := (v1 - v0) * 8 / window.Seconds() / 1000
	listenerKbps := (l1 - l0) * 8 / window.Seconds() / 1000
	t.Logf("inbound over %s: video participant %.0f kbit/s, audio-only listener %.0f kbit/s (%.1f %%)",
		window, videoKbps, listenerKbps, listenerKbps/videoKbps*100)
	// The video participant's download depends on the layers its tiles
	// ask for (adaptive stream), on dynacast and on the machine's load:
	// 437–1059 kbit/s measured, but 182 kbit/s once, as the first test
	// after a cold devnet start (low layers only while the publishers'
	// encoders ramp up). So the comparison only says the listener gets
	// less (the same audio, no video); the absolute bound below is the
	// real check.
	require.Less(t, listenerKbps, videoKbps, "the audio-only listener receives less than a video participant")
	require.Less(t, listenerKbps, 3*60.0, "at most the three others' audio (< 60 kbit/s each)")
}
