package e2e

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chroom/chroom/format"
	medianode "github.com/chroom/chroom/medianode/node"
	"github.com/stretchr/testify/require"
)

// nftTable loads an nft table of the given name with body (its chains)
// and returns a func that deletes it, also run at cleanup. It needs root
// and nft (installed by .ci/run); without nft the test is skipped.
func nftTable(t *testing.T, name, body string) (remove func()) {
	t.Helper()
	if _, err := exec.LookPath("nft"); err != nil {
		t.Skip("nft is not installed (apt-get install nftables)")
	}
	cmd := exec.Command("nft", "-f", "-")
	cmd.Stdin = strings.NewReader("table inet " + name + " {\n" + body + "}\n")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "nft: %s", out)
	done := false
	remove = func() {
		if !done {
			done = true
			out, err := exec.Command("nft", "delete", "table", "inet", name).CombinedOutput()
			require.NoError(t, err, "nft: %s", out)
		}
	}
	t.Cleanup(remove)
	return remove
}

// nftOutage drops every packet to and from the media nodes' media ports
// (UDP, ICE-TCP, TURN) on this machine — a total media outage for every
// participant — until the returned func restores the network.
func nftOutage(t *testing.T) (restore func()) {
	t.Helper()
	udp := mediaPorts(2, turnPorts...)
	tcp := mediaPorts(3)
	return nftTable(t, "chroom_e2e", fmt.Sprintf(`  chain input {
    type filter hook input priority -10;
    udp dport { %[1]s } drop
    udp sport { %[1]s } drop
    tcp dport { %[2]s } drop
    tcp sport { %[2]s } drop
  }
`, udp, tcp))
}

// frames is the tab's decoded video frames so far.
func frames(t *testing.T, p context.Context) float64 {
	return eval[float64](t, p, `window.chroom.framesDecoded()`)
}

// TestCallSurvivesNetworkBlips: two people in a call. (1) Bob's
// signaling WebSocket drops: his client resumes the session on a new one
// (no new join, same identity), Alice never sees him leave, and video
// keeps decoding. (2) A 3 s total media outage for both (nft drops the
// media nodes' media ports): media resumes after the network returns,
// with no new join and nobody leaving; the time to the first new decoded
// frame is logged (docs/benchmarks.md).
func TestCallSurvivesNetworkBlips(t *testing.T) {
	b := browser(t)
	base := fmt.Sprintf("http://127.0.0.1:%d", orchHTTP)
	alice, bob := tab(t, b), tab(t, b)
	require.NoError(t, chromedp.Run(alice, chromedp.Navigate(base+"/?room=blips&name=Alice&autojoin=1")))
	require.NoError(t, chromedp.Run(bob, chromedp.Navigate(base+"/?room=blips&name=Bob&autojoin=1")))
	for name, p := range map[string]context.Context{"alice": alice, "bob": bob} {
		waitFor(t, p, name+" joins", `window.chroom && window.chroom.state === "joined"`, 30*time.Second)
		waitFor(t, p, name+" decodes video", `window.chroom.framesDecoded().then(n => n > 10)`, 30*time.Second)
	}
	bobID := eval[string](t, bob, `window.chroom.identity`)

	// (1) Signaling drops; the session resumes.
	eval[any](t, bob, `window.chroom.debugDropSignal()`)
	waitFor(t, bob, "bob resumes", `window.chroom.reconnects === 1 && window.chroom.state === "joined"`, 20*time.Second)
	require.Equal(t, bobID, eval[string](t, bob, `window.chroom.identity`), "same identity")
	f := frames(t, bob)
	waitFor(t, bob, "bob keeps decoding after the resume", fmt.Sprintf(`window.chroom.framesDecoded().then(n => n > %v + 30)`, f), 15*time.Second)
	f = frames(t, alice)
	waitFor(t, alice, "alice keeps decoding bob", fmt.Sprintf(`window.chroom.framesDecoded().then(n => n > %v + 30)`, f), 15*time.Second)
	require.NotContains(t, eval[string](t, alice, `window.chroom.debugLog()`), "participant_left", "alice never saw bob leave")
	require.Len(t, eval[[]any](t, alice, `window.chroom.participants()`), 2)

	// (2) A 3 s total media outage.
	restore := nftOutage(t)
	time.Sleep(3 * time.Second)
	restore()
	back := time.Now()
	fa, fb := frames(t, alice), frames(t, bob)
	var recovered [2]time.Duration
	for i, p := range []context.Context{alice, bob} {
		start := []float64{fa, fb}[i]
		waitFor(t, p, "media resumes after the outage", fmt.Sprintf(`window.chroom.framesDecoded().then(n => n > %v)`, start), 20*time.Second)
		recovered[i] = time.Since(back)
	}
	if os.Getenv("CHROOM_E2E_DEBUG") != "" {
		for _, l := range strings.Split(eval[string](t, bob, `window.chroom.debugLog()`), "\n") {
			if strings.Contains(l, "state") || strings.Contains(l, "ice") || strings.Contains(l, "stats") {
				t.Log("bob: " + l)
			}
		}
	}
	t.Logf("3 s outage: video decoding again %s (alice) and %s (bob) after the network returned; ICE restarts %v/%v, resumes %v/%v",
		recovered[0].Round(10*time.Millisecond), recovered[1].Round(10*time.Millisecond),
		eval[float64](t, alice, `window.chroom.iceRestarts`), eval[float64](t, bob, `window.chroom.iceRestarts`),
		eval[float64](t, alice, `window.chroom.reconnects`), eval[float64](t, bob, `window.chroom.reconnects`))
	for i, name := range []string{"alice", "bob"} {
		// Measured 0.27–1.8 s (docs/benchmarks.md); 5 s catches the
		// 4–7 s of waiting for the subscribers' own keyframe requests.
		require.Less(t, recovered[i], 5*time.Second, name+"'s video resumes promptly")
	}
	for name, p := range map[string]context.Context{"alice": alice, "bob": bob} {
		require.Equal(t, "joined", eval[string](t, p, `window.chroom.state`), name+" is still in the call")
	}
	require.Equal(t, bobID, eval[string](t, bob, `window.chroom.identity`), "no new join: same identity")
	require.NotContains(t, eval[string](t, alice, `window.chroom.debugLog()`), "participant_left", "nobody left")
}

// TestRejoinWhenTheSessionIsLost: Alice and Bob are in a call when the
// media nodes' signaling port refuses them (TCP reset) for longer than the
// node keeps a disconnected session (limits.resume_grace, 20 s). Their
// clients try to resume, give up when the node no longer has the session
// or cannot be reached, and join again through the orchestrator without
// anyone clicking — retrying until the node answers — and the call carries
// video again both ways.
func TestRejoinWhenTheSessionIsLost(t *testing.T) {
	b := browser(t)
	base := fmt.Sprintf("http://127.0.0.1:%d", orchHTTP)
	alice, bob := tab(t, b), tab(t, b)
	require.NoError(t, chromedp.Run(alice, chromedp.Navigate(base+"/?room=rejoin&name=Alice&autojoin=1")))
	require.NoError(t, chromedp.Run(bob, chromedp.Navigate(base+"/?room=rejoin&name=Bob&autojoin=1")))
	for name, p := range map[string]context.Context{"alice": alice, "bob": bob} {
		waitFor(t, p, name+" joins", `window.chroom && window.chroom.state === "joined"`, 30*time.Second)
		waitFor(t, p, name+" decodes video", `window.chroom.framesDecoded().then(n => n > 10)`, 30*time.Second)
	}
	restore := nftTable(t, "chroom_e2e_rejoin", fmt.Sprintf(`  chain input {
    type filter hook input priority -10;
    tcp dport { %s } reject with tcp reset
  }
`, mediaPorts(0)))
	waitFor(t, bob, "bob notices", `window.chroom.state === "reconnecting"`, 30*time.Second)
	time.Sleep(24 * time.Second) // past the node's 20 s resume grace
	restore()
	back := time.Now()
	for name, p := range map[string]context.Context{"alice": alice, "bob": bob} {
		waitFor(t, p, name+" joins again", `window.chroom.state === "joined" && window.chroom.rejoins >= 1`, 40*time.Second)
	}
	for name, p := range map[string]context.Context{"alice": alice, "bob": bob} {
		waitFor(t, p, name+" decodes video again", `window.chroom.framesDecoded().then(n => n > 10)`, 30*time.Second)
		waitFor(t, p, name+" sees the other", `window.chroom.participants().length === 2`, 10*time.Second)
	}
	t.Logf("joined again and decoding %s after the node answered again", time.Since(back).Round(100*time.Millisecond))
}

// TestCallSurvivesAnAddressChange: Bob's network path changes under the
// call — the local UDP port his media flows through stops working for
// good (nft drops everything to and from it), as when a phone moves from
// Wi-Fi to LTE or a NAT rebinds. His client restarts ICE on the same
// session and PeerConnection, media flows on a new path both ways, and
// nobody joins again. The node restarts ICE itself when its side of the
// path stays disconnected (a full ICE agent does not follow the browser to
// a lower-priority pair without a restart).
func TestCallSurvivesAnAddressChange(t *testing.T) {
	b := browser(t)
	base := fmt.Sprintf("http://127.0.0.1:%d", orchHTTP)
	alice, bob := tab(t, b), tab(t, b)
	require.NoError(t, chromedp.Run(alice, chromedp.Navigate(base+"/?room=move&name=Alice&autojoin=1")))
	require.NoError(t, chromedp.Run(bob, chromedp.Navigate(base+"/?room=move&name=Bob&autojoin=1")))
	for name, p := range map[string]context.Context{"alice": alice, "bob": bob} {
		waitFor(t, p, name+" joins", `window.chroom && window.chroom.state === "joined"`, 30*time.Second)
		waitFor(t, p, name+" decodes video", `window.chroom.framesDecoded().then(n => n > 10)`, 30*time.Second)
	}
	bobID := eval[string](t, bob, `window.chroom.identity`)
	t.Cleanup(func() {
		if t.Failed() {
			var log string
			_ = chromedp.Run(bob, chromedp.Evaluate(`window.chroom.debugLog()`, &log))
			var stats string
			_ = chromedp.Run(bob, chromedp.Evaluate(`Promise.all([window.chroom.route(), window.chroom.outboundVideo()]).then(JSON.stringify)`, &stats,
				func(p *runtimeEvaluate) *runtimeEvaluate { return p.WithAwaitPromise(true) }))
			t.Log("bob route and outbound video: " + stats)
			for _, l := range strings.Split(log, "\n") {
				if strings.Contains(l, "ice") || strings.Contains(l, "state") || strings.Contains(l, "offer") || strings.Contains(l, "candidate") {
					t.Log("bob: " + l)
				}
			}
		}
	})
	port := int(eval[float64](t, bob, `window.chroom.localPort()`))
	require.NotZero(t, port)
	nftTable(t, "chroom_e2e_move", fmt.Sprintf(`  chain input {
    type filter hook input priority -10;
    udp dport %[1]d drop
    udp sport %[1]d drop
  }
`, port))
	gone := time.Now()
	fa, fb := frames(t, alice), frames(t, bob)
	waitFor(t, bob, "bob decodes again", fmt.Sprintf(`window.chroom.framesDecoded().then(n => n > %v + 30)`, fb), 30*time.Second)
	waitFor(t, alice, "alice decodes bob again", fmt.Sprintf(`window.chroom.framesDecoded().then(n => n > %v + 30)`, fa), 30*time.Second)
	newPort := int(eval[float64](t, bob, `window.chroom.localPort()`))
	t.Logf("path %d → %d: media both ways again %s after the old path died; ICE restarts %v, resumes %v, rejoins %v",
		port, newPort, time.Since(gone).Round(100*time.Millisecond), eval[float64](t, bob, `window.chroom.iceRestarts`),
		eval[float64](t, bob, `window.chroom.reconnects`), eval[float64](t, bob, `window.chroom.rejoins`))
	require.NotEqual(t, port, newPort, "a new path")
	require.Equal(t, bobID, eval[string](t, bob, `window.chroom.identity`), "the same session")
	require.Zero(t, eval[float64](t, bob, `window.chroom.rejoins`), "no new join")
	require.NotContains(t, eval[string](t, alice, `window.chroom.debugLog()`), "participant_left", "alice never saw bob leave")
}

// TestCallMovesWhenItsNodeDies: the media node of a two-person call is
// killed (SIGKILL, as a crashed machine). Each client's resume attempts
// are refused at once; once the orchestrator still answers, the client
// joins again naming the node unreachable_node, the orchestrator probes
// it, finds it down and places the room on the other node: both decode
// each other again there. The node is then started again, and reports
// load, for the tests after this one.
func TestCallMovesWhenItsNodeDies(t *testing.T) {
	b := browser(t)
	base := fmt.Sprintf("http://127.0.0.1:%d", orchHTTP)
	room := fmt.Sprintf("dies-%d", time.Now().UnixNano())
	alice, bob := tab(t, b), tab(t, b)
	require.NoError(t, chromedp.Run(alice, chromedp.Navigate(base+"/?room="+room+"&name=Alice&autojoin=1")))
	require.NoError(t, chromedp.Run(bob, chromedp.Navigate(base+"/?room="+room+"&name=Bob&autojoin=1")))
	for name, p := range map[string]context.Context{"alice": alice, "bob": bob} {
		waitFor(t, p, name+" joins", `window.chroom && window.chroom.state === "joined"`, 30*time.Second)
		waitFor(t, p, name+" decodes video", `window.chroom.framesDecoded().then(n => n > 10)`, 30*time.Second)
	}
	joined := time.Now()
	dead := eval[string](t, alice, `window.chroom.nodeId`)
	require.Equal(t, dead, eval[string](t, bob, `window.chroom.nodeId`))

	// The sessions the node will not close: their receipts must reach the
	// chain from its saved open segments when it starts again.
	var sessions []string
	for _, p := range []context.Context{alice, bob} {
		sessions = append(sessions, grantSessionID(t, eval[string](t, p, `window.chroom.grantToken`)))
	}
	time.Sleep(20 * time.Second) // a call long enough that a lost open segment would show
	// Not at an epoch boundary: there the node cuts the sessions' segments
	// (their receipts go out at once) and saves the new open segments at
	// its next checkpoint (every 5 s); a kill in between leaves nothing to
	// recover on restart, though no more than those seconds are lost.
	// Seen once in CI: the kill came 1 s after a boundary.
	if end := nextEpochEnd(t, apiPort); time.Until(end) < 4*time.Second {
		time.Sleep(time.Until(end) + 8*time.Second)
	} else if start := end.Add(-devnetEpoch); time.Since(start) < 8*time.Second {
		time.Sleep(8*time.Second - time.Since(start))
	}

	restart := killService(t, dead)
	restarted := false
	t.Cleanup(func() {
		if !restarted {
			restart()
		}
	})
	killed := time.Now()
	for name, p := range map[string]context.Context{"alice": alice, "bob": bob} {
		waitFor(t, p, name+" joins again", `window.chroom.state === "joined" && window.chroom.rejoins >= 1`, 30*time.Second)
	}
	// A rejoin is a new call: its frame count starts again from zero.
	waitFor(t, alice, "alice decodes bob again", `window.chroom.rejoins >= 1 && window.chroom.framesDecoded().then(n => n > 10)`, 30*time.Second)
	waitFor(t, bob, "bob decodes alice again", `window.chroom.rejoins >= 1 && window.chroom.framesDecoded().then(n => n > 10)`, 30*time.Second)
	took := time.Since(killed)
	moved := eval[string](t, alice, `window.chroom.nodeId`)
	require.NotEqual(t, dead, moved, "the room moved to the other node")
	require.Equal(t, moved, eval[string](t, bob, `window.chroom.nodeId`), "both on the same new node")
	t.Logf("node %s killed: both on %s and decoding each other again %s later (rejoins: alice %v, bob %v)",
		dead[:8], moved[:8], took.Round(100*time.Millisecond), eval[float64](t, alice, `window.chroom.rejoins`), eval[float64](t, bob, `window.chroom.rejoins`))

	// The killed node starts again: what it served before the kill (up to
	// its last checkpoint) is receipted, credited and accepted on chain,
	// once per session.
	recoveredBefore := recoveryLines(t)
	restarted = true
	restart()
	back := time.Now()
	// The restarted node queued the two sessions' saved open segments.
	var recovered map[string]any
	require.Eventually(t, func() bool {
		seen := map[string]bool{}
		for _, l := range recoveredBefore {
			seen[l] = true
		}
		for _, l := range recoveryLines(t) {
			if !seen[l] {
				return json.Unmarshal([]byte(l), &recovered) == nil
			}
		}
		return false
	}, 30*time.Second, 500*time.Millisecond, "the restarted node logs the open segments it queued")
	require.GreaterOrEqual(t, recovered["receipts"], float64(2), "both sessions' open segments queued: %v", recovered)
	served := int(killed.Sub(joined).Seconds()) // at least: the sessions began before both had joined
	for i, id := range sessions {
		name := []string{"alice", "bob"}[i]
		// Everything up to the node's last checkpoint before the kill, as
		// far as the client's last statement attests it (both every 5 s).
		want := served - int(medianode.CheckpointEvery.Seconds()) - 7
		require.Eventually(t, func() bool { _, s, _ := acceptedOnChain(t, id); return s >= want }, 2*time.Minute, 2*time.Second,
			"%s's session on the killed node (%s…): receipts for ≥ %d s of the ≥ %d s it served accepted on chain", name, id[:12], want, served)
	}
	time.Sleep(5 * time.Second) // anything late would show as a second acceptance
	for i, id := range sessions {
		n, s, twice := acceptedOnChain(t, id)
		require.False(t, twice, "session %s… accepted twice for one epoch", id[:12])
		require.LessOrEqual(t, s, served+15, "session %s… credited no more than it lasted", id[:12])
		t.Logf("%s's session on the killed node: %d receipt(s) accepted on chain, %d verified seconds (served %d–%d s before the kill)",
			[]string{"alice", "bob"}[i], n, s, served, served+15)
	}
	t.Logf("node %s restarted: the sessions it served before the kill are on chain within %s", dead[:8], time.Since(back).Round(time.Second))
}

// recoveryLines returns the media nodes' log records of open segments
// queued at start after a crash, oldest first per node.
func recoveryLines(t *testing.T) []string {
	var out []string
	logs, _ := filepath.Glob(filepath.Join(devnet, "logs", "media-*.log"))
	for _, f := range logs {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		for _, l := range strings.Split(string(b), "\n") {
			if strings.Contains(l, "the last run ended without closing its sessions") {
				out = append(out, l)
			}
		}
	}
	return out
}

// grantSessionID is the session ID (hex) of the first connection made
// with the join grant token (format.GrantSessionID of its iss and jti).
func grantSessionID(t *testing.T, token string) string {
	iss, jti := grantIDs(t, token)
	return hex.EncodeToString(format.GrantSessionID(iss, jti, 0))
}

// grantIDs returns a join grant's issuer (iss, an orchestrator's node ID)
// and grant ID (jti), unverified.
func grantIDs(t *testing.T, token string) (iss, jti string) {
	t.Helper()
	parts := strings.Split(token, ".")
	require.Len(t, parts, 3, "a JWT")
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	require.NoError(t, err)
	var c struct {
		Iss string `json:"iss"`
		Jti string `json:"jti"`
	}
	require.NoError(t, json.Unmarshal(payload, &c))
	return c.Iss, c.Jti
}

// acceptedOnChain returns the chain's EventReceiptAccepted for session id
// (hex): how many, their verified seconds summed, and whether one epoch
// appears twice; n is -1 if the query failed.
func acceptedOnChain(t *testing.T, id string) (n int, seconds int, epochTwice bool) {
	return acceptedOnChainAt(rpcPort, id)
}

// acceptedOnChainAt is acceptedOnChain on the chain whose RPC port is rpc.
func acceptedOnChainAt(rpc int, id string) (n int, seconds int, epochTwice bool) {
	out, err := exec.Command(filepath.Join(root, "build", "chroomd"), "query", "txs", "--query",
		fmt.Sprintf(`chroom.verification.v1.EventReceiptAccepted.session_id='"%s"'`, id),
		"--node", fmt.Sprintf("tcp://127.0.0.1:%d", rpc), "--limit", "100", "-o", "json").Output()
	if err != nil {
		return -1, 0, false
	}
	var res struct {
		Txs []struct {
			Events []struct {
				Type       string `json:"type"`
				Attributes []struct {
					Key   string `json:"key"`
					Value string `json:"value"`
				} `json:"attributes"`
			} `json:"events"`
		} `json:"txs"`
	}
	if json.Unmarshal(out, &res) != nil {
		return -1, 0, false
	}
	epochs := map[string]bool{}
	for _, tx := range res.Txs {
		for _, e := range tx.Events {
			if e.Type != "chroom.verification.v1.EventReceiptAccepted" {
				continue
			}
			attr := map[string]string{}
			for _, a := range e.Attributes {
				attr[a.Key] = strings.Trim(a.Value, `"`)
			}
			if attr["session_id"] != id {
				continue
			}
			n++
			s, _ := strconv.Atoi(attr["verified_seconds"])
			seconds += s
			epochTwice = epochTwice || epochs[attr["epoch"]]
			epochs[attr["epoch"]] = true
		}
	}
	return n, seconds, epochTwice
}

// restartService starts a killed devnet service again with its command
// line, appends to its log, records its pid for devnet.sh down, and waits
// until the orchestrator proposes it again (it reported load).
// restartService starts a killed media node again (its command line
// args) and returns once it answers its own ping (pingURL) and the
// orchestrator places rooms on all the devnet's nodes again (the
// orchestrator lists a killed node for a few seconds after it died, so
// the placement alone does not say the new process is up).
func restartService(t *testing.T, service string, args []string, pingURL string) {
	logf, err := os.OpenFile(filepath.Join(devnet, "logs", service+".log"), os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o644)
	require.NoError(t, err)
	defer logf.Close()
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Dir = root
	cmd.Stdout, cmd.Stderr = logf, logf
	require.NoError(t, cmd.Start())
	go func() { _ = cmd.Wait() }()
	require.NoError(t, os.WriteFile(filepath.Join(devnet, service+".pid"), []byte(strconv.Itoa(cmd.Process.Pid)), 0o644))
	require.Eventually(t, func() bool {
		resp, err := http.Get(pingURL)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode/100 == 2 // 204
	}, 60*time.Second, 200*time.Millisecond, "%s answers its ping again", service)
	require.Eventually(t, func() bool {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/v1/rooms/back-%d/placement", orchHTTP, time.Now().UnixNano()))
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		var p struct {
			Nodes []placementNode `json:"nodes"`
		}
		return json.NewDecoder(resp.Body).Decode(&p) == nil && len(p.Nodes) == len(mediaBases)
	}, 60*time.Second, time.Second, "%s is back and reports load", service)
}

// TestChainUnreachableFor30s: the chain's RPC, gRPC and REST ports stop
// answering for 30 s (nft drops them) while a call runs. The call goes
// on; a third person joins it meanwhile (the orchestrator and the media
// node work from their cached registry views); everyone leaves before the
// chain is back, so the sessions' receipts can only queue. Once the chain
// answers again the queued receipts land: the app's escrow pays at least
// 80 % of what the three sessions' seconds cost (ceil(1000 uchr × s / 60)
// each; the test's own clock of a session is longer than the node's).
// That none lands twice is the chain's to enforce (x/verification's replay
// markers, receipts_test.go); the escrow cannot show it here, since other
// tests' receipts may land in the same minutes.
func TestChainUnreachableFor30s(t *testing.T) {
	b := browser(t)
	base := fmt.Sprintf("http://127.0.0.1:%d", orchHTTP)
	room := fmt.Sprintf("no-chain-%d", time.Now().UnixNano())
	// Let earlier tests' receipts land first: the escrow still for 10 s.
	escrowBefore, _ := appEscrow(t, "demo")
	for still, deadline := time.Now(), time.Now().Add(60*time.Second); time.Since(still) < 10*time.Second && time.Now().Before(deadline); {
		time.Sleep(2 * time.Second)
		if e, _ := appEscrow(t, "demo"); e != escrowBefore {
			escrowBefore, still = e, time.Now()
		}
	}
	alice, bob := tab(t, b), tab(t, b)
	joined := map[string]time.Time{}
	for name, p := range map[string]context.Context{"alice": alice, "bob": bob} {
		require.NoError(t, chromedp.Run(p, chromedp.Navigate(base+"/?room="+room+"&name="+name+"&autojoin=1")))
	}
	for name, p := range map[string]context.Context{"alice": alice, "bob": bob} {
		waitFor(t, p, name+" joins", `window.chroom && window.chroom.state === "joined"`, 30*time.Second)
		joined[name] = time.Now()
		waitFor(t, p, name+" decodes video", `window.chroom.framesDecoded().then(n => n > 10)`, 30*time.Second)
	}

	restore := nftTable(t, "chroom_e2e_nochain", fmt.Sprintf(`  chain input {
    type filter hook input priority -10;
    tcp dport { %[1]d, %[2]d, %[3]d } drop
    tcp sport { %[1]d, %[2]d, %[3]d } drop
  }
`, rpcPort, 21090, apiPort))
	cut := time.Now()
	fa, fb := frames(t, alice), frames(t, bob)
	carol := tab(t, b)
	require.NoError(t, chromedp.Run(carol, chromedp.Navigate(base+"/?room="+room+"&name=carol&autojoin=1")))
	waitFor(t, carol, "carol joins while the chain is unreachable", `window.chroom && window.chroom.state === "joined"`, 20*time.Second)
	joined["carol"] = time.Now()
	waitFor(t, carol, "carol decodes video", `window.chroom.framesDecoded().then(n => n > 10)`, 20*time.Second)
	waitFor(t, alice, "alice's call goes on", fmt.Sprintf(`window.chroom.framesDecoded().then(n => n > %v + 100)`, fa), 20*time.Second)
	waitFor(t, bob, "bob's call goes on", fmt.Sprintf(`window.chroom.framesDecoded().then(n => n > %v + 100)`, fb), 20*time.Second)
	time.Sleep(time.Until(cut.Add(25 * time.Second)))
	seconds := 0.0
	for name, p := range map[string]context.Context{"alice": alice, "bob": bob, "carol": carol} {
		eval[any](t, p, `window.chroom.leave()`)
		seconds += time.Since(joined[name]).Seconds()
	}
	time.Sleep(time.Until(cut.Add(30 * time.Second)))
	restore()
	t.Logf("chain unreachable for %s; carol joined and decoded meanwhile; everyone left before it came back", time.Since(cut).Round(time.Second))

	// The receipts land: the escrow pays for the three sessions, once.
	want := seconds * 1000 / 60
	var paid int64
	deadline := time.Now().Add(120 * time.Second)
	for time.Now().Before(deadline) {
		after, _ := appEscrow(t, "demo")
		paid = escrowBefore - after
		if float64(paid) >= 0.8*want {
			break
		}
		time.Sleep(2 * time.Second)
	}
	back := time.Since(cut.Add(30 * time.Second)).Round(time.Second)
	t.Logf("escrow paid %d uchr within %s of the chain coming back, for ≈ %.0f session-seconds by the test's clock (≈ %.0f uchr)", paid, back, seconds, want)
	require.GreaterOrEqual(t, float64(paid), 0.8*want, "the receipts queued during the outage landed")
}
