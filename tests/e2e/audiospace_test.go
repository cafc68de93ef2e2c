package e2e

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

// rawAPI calls the orchestrator's API with the devnet's API key and
// returns the status and the raw JSON answer.
func rawAPI(t *testing.T, method, path, key, body string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, fmt.Sprintf("http://127.0.0.1:%d%s", orchHTTP, path), strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, raw
}

// TestAudioSpaceStage: an app creates an audio space (POST /v1/rooms,
// mode audio_space). Its host and a speaker open the web client with the
// grants its backend got (#grant=…); two listeners join anonymously. The
// listeners hear both speakers and are sent no video; one raises a hand
// with the button and the host sees it in the participant list; the host
// presses "Invite to stage" and the listener's microphone comes on: the
// host hears them. A listener's download is logged (docs/benchmarks.md).
func TestAudioSpaceStage(t *testing.T) {
	key := devnetAPIKey(t)
	room := fmt.Sprintf("space-%d", time.Now().UnixNano())
	status, raw := rawAPI(t, "POST", "/v1/rooms", key, fmt.Sprintf(`{"name":%q,"mode":"audio_space","realtime_text":true}`, room))
	require.Equal(t, http.StatusCreated, status, string(raw))
	base := fmt.Sprintf("http://127.0.0.1:%d", orchHTTP)
	b := browser(t)
	withGrant := func(identity, name, role string) context.Context {
		body := fmt.Sprintf(`{"identity":%q,"name":%q}`, identity, name)
		if role != "" {
			body = fmt.Sprintf(`{"identity":%q,"name":%q,"role":%q}`, identity, name, role)
		}
		status, raw := rawAPI(t, "POST", "/v1/rooms/"+room+"/join", key, body)
		require.Equal(t, http.StatusOK, status, string(raw))
		p := tab(t, b)
		u := fmt.Sprintf("%s/?room=%s&name=%s&autojoin=1#grant=%s", base, room, name, base64.RawURLEncoding.EncodeToString(raw))
		require.NoError(t, chromedp.Run(p, chromedp.Navigate(u)))
		return p
	}
	host := withGrant("host", "Hana", "")
	speaker := withGrant("speaker", "Sam", "participant")
	lee, liv := tab(t, b), tab(t, b)
	require.NoError(t, chromedp.Run(lee, chromedp.Navigate(base+"/?room="+room+"&name=Lee&autojoin=1")))
	require.NoError(t, chromedp.Run(liv, chromedp.Navigate(base+"/?room="+room+"&name=Liv&autojoin=1")))
	tabs := map[string]context.Context{"host": host, "speaker": speaker, "lee": lee, "liv": liv}
	for name, p := range tabs {
		waitFor(t, p, name+" joins", `window.chroom && window.chroom.state === "joined"`, 30*time.Second)
		require.Equal(t, "audio_space", eval[string](t, p, `window.chroom.roomMode`), name)
	}
	require.Equal(t, "host", eval[string](t, host, `window.chroom.role`))
	require.Equal(t, "participant", eval[string](t, speaker, `window.chroom.role`))
	require.Equal(t, "viewer", eval[string](t, lee, `window.chroom.role`), "an anonymous join listens")
	hostID := eval[string](t, host, `window.chroom.identity`)
	speakerID := eval[string](t, speaker, `window.chroom.identity`)
	leeID := eval[string](t, lee, `window.chroom.identity`)

	for _, name := range []string{"lee", "liv"} {
		p := tabs[name]
		waitFor(t, p, name+" hears both speakers", fmt.Sprintf(
			`(() => { const k = window.chroom.remoteKinds(); return [%q, %q].every(id => k.some(m => m.publisher === id && m.kind === "audio")); })()`, hostID, speakerID), 30*time.Second)
		waitFor(t, p, name+" decodes audio", `window.chroom.audioSamplesReceived().then(n => n > 48000)`, 30*time.Second)
		require.Empty(t, eval[[]any](t, p, `window.chroom.remoteKinds().filter(m => m.kind !== "audio")`), "%s is sent no video", name)
		require.Zero(t, eval[float64](t, p, `window.chroom.framesDecoded()`), "%s decodes no video", name)
		require.True(t, eval[bool](t, p, `document.getElementById("camera-button").hidden`), "%s has no camera button", name)
	}
	// What a listener downloads: two speakers' audio.
	const window = 10 * time.Second
	l0 := eval[float64](t, liv, `window.chroom.inboundBytes()`)
	time.Sleep(window)
	l1 := eval[float64](t, liv, `window.chroom.inboundBytes()`)
	kbps := (l1 - l0) * 8 / window.Seconds() / 1000
	t.Logf("audio space listener with 2 speakers: %.0f kbit/s inbound over %s", kbps, window)
	require.Less(t, kbps, 180.0, "a listener downloads two voices, not video")

	// Lee raises a hand; the host sees it.
	require.NoError(t, chromedp.Run(lee, chromedp.Click("#hand-button", chromedp.ByID)))
	waitFor(t, host, "the host sees lee's hand", fmt.Sprintf(`window.chroom.raisedHands().includes(%q)`, leeID), 10*time.Second)
	waitFor(t, host, "lee's row shows the hand", fmt.Sprintf(`window.chroom.participants().some(p => p.identity === %q && p.handRaised)`, leeID), 5*time.Second)
	require.Equal(t, "Lower hand", eval[string](t, lee, `document.getElementById("hand-button").textContent`))

	// The host invites lee to the stage; lee's microphone comes on.
	sel := fmt.Sprintf(`li[data-identity=%q] .stage-button`, leeID)
	waitFor(t, host, "the invite button is there", fmt.Sprintf(`!!document.querySelector(%q)`, sel), 10*time.Second)
	require.NoError(t, chromedp.Run(host, chromedp.Click(sel, chromedp.ByQuery)))
	waitFor(t, lee, "lee is on the stage", `window.chroom.role === "participant"`, 10*time.Second)
	waitFor(t, host, "the host hears lee", fmt.Sprintf(`window.chroom.remoteKinds().some(m => m.publisher === %q && m.kind === "audio")`, leeID), 20*time.Second)
	waitFor(t, host, "lee's hand is down", fmt.Sprintf(`!window.chroom.raisedHands().includes(%q)`, leeID), 10*time.Second)
	require.True(t, eval[bool](t, lee, `document.getElementById("hand-button").hidden`), "a speaker has no hand to raise")
	require.Equal(t, "viewer", eval[string](t, liv, `window.chroom.role`), "liv still listens")
}
