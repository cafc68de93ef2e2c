package e2e

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strconv"
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
// over TCP out, as many corporate, hotel and school networks do: nft drops
// all their UDP and refuses the media nodes' ICE-TCP and TURN-over-TCP
// ports, leaving signaling and TURN over TLS (turns:, the devnet's
// self-signed certificate, which this Chromium is told to accept). They join through the
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
	directRoute := eval[route](t, db, selectedRoute)
	directMs := rejoins(t, db, "direct-route", firstFrame(db), firstFrame)
	eval[any](t, da, `window.chroom.leave()`)
	eval[any](t, db, `window.chroom.leave()`)

	// Chromium's host candidates are this machine's own interface
	// addresses, never loopback, so dropping every UDP datagram not from
	// loopback cuts all of its UDP, while the relay's datagrams to the
	// SFU (127.0.0.1 to 127.0.0.1) still flow.
	nftTable(t, "chroom_e2e_tls_only", fmt.Sprintf(`  chain input {
    type filter hook input priority -10;
    meta nfproto ipv4 meta l4proto udp ip saddr != 127.0.0.0/8 drop
    meta nfproto ipv6 meta l4proto udp ip6 saddr != ::1 drop
    tcp dport { %s } reject with tcp reset
  }
`, mediaPorts(3, turnPorts...)))
	b := browser(t, chromedp.Flag("ignore-certificate-errors", true))
	alice, bob := tab(t, b), tab(t, b)
	require.NoError(t, chromedp.Run(alice, chromedp.Navigate(base+"/?room=tls-only&name=Alice&autojoin=1")))
	require.NoError(t, chromedp.Run(bob, chromedp.Navigate(base+"/?room=tls-only&name=Bob&autojoin=1")))
	for name, p := range map[string]context.Context{"alice": alice, "bob": bob} {
		waitFor(t, p, name+" joins", `window.chroom && window.chroom.state === "joined"`, 30*time.Second)
		waitFor(t, p, name+" decodes video over TURN/TLS", `window.chroom.framesDecoded().then(n => n > 10)`, 45*time.Second)
		r := eval[route](t, p, selectedRoute)
		require.Equal(t, "relay", r.CandidateType, "%s's route is the relay, not %+v", name, r)
		require.Equal(t, "tls", r.RelayProtocol, name+" reaches the relay over TLS")
	}
	tlsMs := rejoins(t, bob, "tls-only", firstFrame(bob), firstFrame)
	t.Logf("join → first frame, median of %d joins: %.0f ms over TURN/TLS (UDP dropped, ICE-TCP and TURN/TCP refused) %v; %.0f ms direct (%s/%s) %v",
		len(tlsMs), tlsMs[len(tlsMs)/2], tlsMs, directMs[len(directMs)/2], directRoute.CandidateType, directRoute.Protocol, directMs)
}

// rejoins has p (Bob) leave and join room again until there are
// CHROOM_E2E_TLS_JOINS (default 3) join → first frame figures, the first
// one given; the others in the room stay. It returns them sorted.
func rejoins(t *testing.T, p context.Context, room string, first float64, firstFrame func(context.Context) float64) []float64 {
	ms := []float64{first}
	for len(ms) < joinsWanted() {
		eval[any](t, p, `window.chroom.leave()`)
		waitFor(t, p, "bob left", `window.chroom.state === "left"`, 10*time.Second)
		eval[any](t, p, fmt.Sprintf(`window.chroom.join({room: %q, name: "Bob"})`, room))
		waitFor(t, p, "bob decodes video again", `window.chroom.framesDecoded().then(n => n > 0)`, 45*time.Second)
		ms = append(ms, firstFrame(p))
	}
	sort.Float64s(ms)
	return ms
}

func joinsWanted() int {
	if n, err := strconv.Atoi(os.Getenv("CHROOM_E2E_TLS_JOINS")); err == nil && n > 0 {
		return n
	}
	return 3
}
