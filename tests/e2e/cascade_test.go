package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

// TestCascadedCallAcrossNodes: a room on both devnet media nodes.
// Alice starts it on one node; Bob cannot reach that node's ping (nft
// drops its HTTP answers while he measures), so the orchestrator places
// him on the other node and links the two (LinkRoom: each node pulls the
// other's tracks over a relay leg). Each decodes the other's video and
// audio; chat crosses; a host action on Bob (a mute through the
// orchestrator's API) reaches Alice's node; a viewer sees both. Then
// Bob's node is killed: Bob is placed again, on Alice's node, and the
// call goes on.
func TestCascadedCallAcrossNodes(t *testing.T) {
	b := browser(t)
	base := fmt.Sprintf("http://127.0.0.1:%d", orchHTTP)
	room := fmt.Sprintf("cascade-%d", time.Now().UnixNano())
	nodes := placementOf(t, room)
	require.Len(t, nodes, 2)

	alice := tab(t, b)
	require.NoError(t, chromedp.Run(alice, chromedp.Navigate(base+"/?room="+room+"&name=Alice&autojoin=1")))
	waitFor(t, alice, "alice joins", `window.chroom && window.chroom.state === "joined"`, 30*time.Second)
	nodeA := eval[string](t, alice, `window.chroom.nodeId`)
	var pingA string
	nodeB := ""
	for _, n := range nodes {
		if n.ID == nodeA {
			pingA = n.PingURL
		} else {
			nodeB = n.ID
		}
	}
	require.NotEmpty(t, pingA)
	u, err := url.Parse(pingA)
	require.NoError(t, err)
	port, err := strconv.Atoi(u.Port())
	require.NoError(t, err)

	// Bob's pings to Alice's node go unanswered while he measures.
	remove := nftTable(t, "chroom_e2e_cascade", fmt.Sprintf(`  chain output {
    type filter hook output priority -10;
    tcp sport %d drop
  }
`, port))
	bob := tab(t, b)
	require.NoError(t, chromedp.Run(bob, chromedp.Navigate(base+"/?room="+room+"&name=Bob&autojoin=1")))
	waitFor(t, bob, "bob joins", `window.chroom && window.chroom.state === "joined"`, 30*time.Second)
	remove()
	require.Equal(t, nodeB, eval[string](t, bob, `window.chroom.nodeId`), "bob is placed on the node he could reach: %v", eval[map[string]any](t, bob, `window.chroom.placement`))

	carol := tab(t, b)
	require.NoError(t, chromedp.Run(carol, chromedp.Navigate(base+"/?room="+room+"&name=Carol&role=viewer&autojoin=1")))
	waitFor(t, carol, "carol joins", `window.chroom && window.chroom.state === "joined"`, 30*time.Second)
	t.Logf("alice on %s, bob on %s, carol (viewer) on %s", nodeA[:8], nodeB[:8], eval[string](t, carol, `window.chroom.nodeId`)[:8])

	// Media crosses the nodes both ways.
	for name, p := range map[string]context.Context{"alice": alice, "bob": bob, "carol": carol} {
		waitFor(t, p, name+" decodes video", `window.chroom.framesDecoded().then(n => n > 30)`, 30*time.Second)
		waitFor(t, p, name+" decodes audio", `window.chroom.audioSamplesReceived().then(n => n > 48000)`, 30*time.Second)
	}
	firstFrame := eval[map[string]any](t, bob, `window.chroom.timing()`)["firstFrame"]
	t.Logf("bob (placed on the node other than alice's): join → first frame %v ms", firstFrame)
	for name, p := range map[string]context.Context{"alice": alice, "bob": bob, "carol": carol} {
		ids := eval[[]any](t, p, `window.chroom.participants().filter(p => !p.self).map(p => p.name).sort()`)
		want := map[string][]any{"alice": {"Bob", "Carol"}, "bob": {"Alice", "Carol"}, "carol": {"Alice", "Bob"}}[name]
		require.Equal(t, want, ids, "%s sees everyone else once", name)
	}

	// Speakers: node A hears Bob's audio level over the leg (the relay
	// carries the RFC 6464 extension) and names him speaking.
	waitFor(t, alice, "alice sees bob speaking", `window.chroom.participants().some(p => p.name === "Bob" && p.speaking)`, 20*time.Second)
	waitFor(t, bob, "bob sees alice speaking", `window.chroom.participants().some(p => p.name === "Alice" && p.speaking)`, 20*time.Second)

	// Chat crosses the nodes.
	require.NoError(t, chromedp.Run(alice, chromedp.Evaluate(`window.chroom.sendChat("hello from node A")`, nil, awaitPromise)))
	waitFor(t, bob, "bob gets alice's chat", `window.chroom.lastChat.some(m => m.text === "hello from node A")`, 10*time.Second)
	waitFor(t, carol, "carol gets alice's chat", `window.chroom.lastChat.some(m => m.text === "hello from node A")`, 10*time.Second)
	require.NoError(t, chromedp.Run(bob, chromedp.Evaluate(`window.chroom.sendChat("hello from node B")`, nil, awaitPromise)))
	waitFor(t, alice, "alice gets bob's chat", `window.chroom.lastChat.some(m => m.text === "hello from node B")`, 10*time.Second)

	// A host action on Bob, through the orchestrator, acts on Bob's node
	// and Alice's node shows it.
	key := devnetAPIKey(t)
	bobID := eval[string](t, bob, `window.chroom.identity`)
	mic := eval[string](t, alice, `window.chroom.participants().find(p => p.name === "Bob").tracks.find(t => t.kind === "audio").id`)
	status, _ := apiCall(t, "POST", "/v1/rooms/"+room+"/participants/"+bobID+"/mute", key, "", fmt.Sprintf(`{"track_id":%q,"muted":true}`, mic))
	require.Equal(t, http.StatusNoContent, status)
	waitFor(t, alice, "alice sees bob's microphone muted", `window.chroom.participants().find(p => p.name === "Bob").tracks.find(t => t.kind === "audio").muted === true`, 10*time.Second)

	// Bob's node dies: Bob joins again, on Alice's node, and the call goes on.
	restart := killService(t, nodeB)
	defer restart()
	fa := frames(t, alice)
	waitFor(t, bob, "bob joins again", `window.chroom.state === "joined" && window.chroom.rejoins >= 1`, 45*time.Second)
	require.Equal(t, nodeA, eval[string](t, bob, `window.chroom.nodeId`), "bob moved to the room's live node")
	waitFor(t, alice, "alice decodes bob again", fmt.Sprintf(`window.chroom.framesDecoded().then(n => n > %v + 30)`, fa), 30*time.Second)
	fb := frames(t, bob)
	waitFor(t, bob, "bob decodes alice again", fmt.Sprintf(`window.chroom.framesDecoded().then(n => n > %v + 30)`, fb), 30*time.Second)
}

// killService SIGKILLs the devnet media node with ID nodeID and returns
// what starts it again (and waits until it reports load).
func killService(t *testing.T, nodeID string) (restart func()) {
	t.Helper()
	service := ""
	for _, n := range placementOf(t, fmt.Sprintf("probe-%d", time.Now().UnixNano())) {
		if n.ID == nodeID {
			switch {
			case strings.Contains(n.PingURL, fmt.Sprintf(":%d/", media1Base)):
				service = "media-1"
			case strings.Contains(n.PingURL, fmt.Sprintf(":%d/", media2Base)):
				service = "media-2"
			}
		}
	}
	require.NotEmpty(t, service, "node %s is one of the devnet's", nodeID)
	pidB, err := os.ReadFile(filepath.Join(devnet, service+".pid"))
	require.NoError(t, err)
	pid, err := strconv.Atoi(strings.TrimSpace(string(pidB)))
	require.NoError(t, err)
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	require.NoError(t, err)
	args := strings.Split(strings.TrimRight(string(cmdline), "\x00"), "\x00")
	require.NoError(t, syscall.Kill(pid, syscall.SIGKILL))
	return func() { restartService(t, service, args) }
}
