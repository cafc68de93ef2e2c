package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

type route struct {
	CandidateType string `json:"candidateType"`
	Protocol      string `json:"protocol"`
	RelayProtocol string `json:"relayProtocol"`
}

// selectedRoute is the call's selected ICE route, as the stats panel
// shows it.
const selectedRoute = `window.chroom.route()`

// TestCallOverTURNTLS: Alice and Bob are on a network that lets only TLS
// over TCP out, as many corporate, hotel and school networks do. Their
// Chromium sends no UDP at all (--force-webrtc-ip-handling-policy=
// disable_non_proxied_udp: TCP only), and nft refuses the media nodes'
// ICE-TCP and TURN-over-TCP ports, leaving signaling and TURN over TLS
// (turns:, the devnet's self-signed certificate). They join through the
// web client as anyone would; the call connects through the node's relay
// over TLS and both decode video. Join → first frame is logged against a
// plain join on the same devnet (docs/benchmarks.md).
func TestCallOverTURNTLS(t *testing.T) {
	base := fmt.Sprintf("http://127.0.0.1:%d", orchHTTP)
	firstFrame := func(p context.Context) float64 {
		waitFor(t, p, "first frame timed", `window.chroom.timing() && window.chroom.timing().firstFrame !== null`, 30*time.Second)
		return eval[float64](t, p, `window.chroom.timing().firstFrame`)
	}

	direct := browser(t)
	da, db := tab(t, direct), tab(t, direct)
	require.NoError(t, chromedp.Run(da, chromedp.Navigate(base+"/?room=direct-route&name=Alice&autojoin=1")))
	require.NoError(t, chromedp.Run(db, chromedp.Navigate(base+"/?room=direct-route&name=Bob&autojoin=1")))
	waitFor(t, db, "bob decodes video (direct)", `window.chroom.framesDecoded().then(n => n > 10)`, 30*time.Second)
	directMs := firstFrame(db)
	directRoute := eval[route](t, db, selectedRoute)
	eval[any](t, da, `window.chroom.leave()`)
	eval[any](t, db, `window.chroom.leave()`)

	nftTable(t, "chroom_e2e_tls_only", fmt.Sprintf(`  chain input {
    type filter hook input priority -10;
    tcp dport { %d, %d, 21478, 21479 } reject with tcp reset
  }
`, media1Base+3, media2Base+3))
	b := browser(t, chromedp.Flag("force-webrtc-ip-handling-policy", "disable_non_proxied_udp"), chromedp.Flag("ignore-certificate-errors", true))
	alice, bob := tab(t, b), tab(t, b)
	require.NoError(t, chromedp.Run(alice, chromedp.Navigate(base+"/?room=tls-only&name=Alice&autojoin=1")))
	require.NoError(t, chromedp.Run(bob, chromedp.Navigate(base+"/?room=tls-only&name=Bob&autojoin=1")))
	for name, p := range map[string]context.Context{"alice": alice, "bob": bob} {
		waitFor(t, p, name+" joins", `window.chroom && window.chroom.state === "joined"`, 30*time.Second)
		waitFor(t, p, name+" decodes video over TURN/TLS", `window.chroom.framesDecoded().then(n => n > 10)`, 45*time.Second)
		r := eval[route](t, p, selectedRoute)
		require.Equal(t, "relay", r.CandidateType, name+"'s route is the relay")
		require.Equal(t, "tls", r.RelayProtocol, name+" reaches the relay over TLS")
	}
	t.Logf("join → first frame: %.0f ms over TURN/TLS (TCP only, ICE-TCP and TURN/TCP refused) vs %.0f ms direct (%s/%s)",
		firstFrame(bob), directMs, directRoute.CandidateType, directRoute.Protocol)
}
