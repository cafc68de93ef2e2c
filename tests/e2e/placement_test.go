package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

type placementNode struct {
	ID      string `json:"id"`
	PingURL string `json:"ping_url"`
}

// placementOf asks the orchestrator which nodes a client joining room
// should measure.
func placementOf(t *testing.T, room string) []placementNode {
	t.Helper()
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/v1/rooms/%s/placement", orchHTTP, room))
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var p struct {
		Placed bool            `json:"placed"`
		Nodes  []placementNode `json:"nodes"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&p))
	require.False(t, p.Placed, "a new room")
	return p.Nodes
}

// TestRoomGoesToTheNodeTheClientMeasured: before joining a new room the
// web client pings the media nodes the orchestrator proposes (GET
// /v1/rooms/{room}/placement, then each node's GET /ping) and sends its
// round-trip times with the join; the room goes to the nearest node.
// On loopback both nodes are about equally near (the selector then
// prefers the better-scored one, the same for every room), so each node
// in turn is made unreachable for the client's pings (nft drops its HTTP
// answers): the room must go to the other one, which the region rule
// alone would not do for both rooms.
func TestRoomGoesToTheNodeTheClientMeasured(t *testing.T) {
	b := browser(t)
	base := fmt.Sprintf("http://127.0.0.1:%d", orchHTTP)

	// Both reachable: both measured.
	p := tab(t, b)
	room := fmt.Sprintf("near-%d", time.Now().UnixNano())
	nodes := placementOf(t, room)
	require.Len(t, nodes, len(mediaBases), "the devnet's media nodes are proposed")
	require.NoError(t, chromedp.Run(p, chromedp.Navigate(base+"/?room="+room+"&name=Ann&autojoin=1")))
	waitFor(t, p, "Ann joins", `window.chroom && window.chroom.state === "joined"`, 30*time.Second)
	both := eval[map[string]any](t, p, `window.chroom.placement`)
	rtts := both["rtts"].(map[string]any)
	require.Len(t, rtts, len(mediaBases), "every node measured: %v", both)
	t.Logf("both reachable: RTTs %v ms (measured in %v ms), room placed on %s", rtts, both["tookMs"], eval[string](t, p, `window.chroom.nodeId`))
	require.NoError(t, chromedp.Run(p, chromedp.Navigate("about:blank")))

	for i, far := range nodes {
		remove := pingsUnanswered(t, far.ID)
		room := fmt.Sprintf("far-%d-%d", i, time.Now().UnixNano())
		require.Len(t, placementOf(t, room), len(mediaBases))
		p := tab(t, b)
		require.NoError(t, chromedp.Run(p, chromedp.Navigate(base+"/?room="+room+"&name=Ben&autojoin=1")))
		waitFor(t, p, "Ben joins", `window.chroom && window.chroom.state === "joined"`, 30*time.Second)
		pl := eval[map[string]any](t, p, `window.chroom.placement`)
		placed := eval[string](t, p, `window.chroom.nodeId`)
		remove()
		require.NotContains(t, pl["rtts"], far.ID, "the unreachable node has no round-trip time")
		require.Len(t, pl["rtts"], len(mediaBases)-1, "the other nodes were measured: %v", pl)
		require.NotEqual(t, far.ID, placed, "the room is not on the node the client could not reach")
		t.Logf("node %s unreachable for pings: RTTs %v, room placed on %s", far.ID[:8], pl["rtts"], placed[:8])
		require.NoError(t, chromedp.Run(p, chromedp.Navigate("about:blank")))
	}
}

// pingsUnanswered makes the pings of the devnet media nodes ids go
// unanswered (nft drops their HTTP answers) until the returned func: a
// client measuring then sees only the other nodes.
func pingsUnanswered(t *testing.T, ids ...string) (restore func()) {
	t.Helper()
	var ports []string
	for _, n := range placementOf(t, fmt.Sprintf("probe-%d", time.Now().UnixNano())) {
		if slices.Contains(ids, n.ID) {
			u, err := url.Parse(n.PingURL)
			require.NoError(t, err)
			ports = append(ports, u.Port())
		}
	}
	require.Len(t, ports, len(ids), "nodes %v are the devnet's", ids)
	return nftTable(t, "chroom_e2e_pings", fmt.Sprintf(`  chain output {
    type filter hook output priority -10;
    tcp sport { %s } drop
  }
`, strings.Join(ports, ", ")))
}
