package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/chroom/chroom/orchestrator/selector"
)

// The second devnet's ports (two orchestrators, two media nodes): apart
// from the main devnet's (21xxx) and the fault suite's (22xxx).
// Orchestrator 2 listens on orch2HTTP = o2HTTP + 10.
const (
	o2RPC     = 23657
	o2API     = 23317
	o2HTTP    = 23800
	orch2HTTP = o2HTTP + 10
	o2Metrics = 23099 // media node i: + i
	o2Epoch   = 45 * time.Second
)

// twoOrchestrators is a devnet of its own with ORCHESTRATORS=2: one
// validator, two orchestrators sharing rooms by rendezvous hashing, two
// media nodes.
type twoOrchestrators struct{ dir string }

func (d *twoOrchestrators) env() []string {
	return append(os.Environ(), "DEVNET_DIR="+d.dir, "NETWORK=1", "ORCHESTRATORS=2", "MEDIA_NODES=2",
		fmt.Sprintf("EPOCH_DURATION=%ds", int(o2Epoch.Seconds())),
		fmt.Sprintf("RPC_PORT=%d", o2RPC), "P2P_PORT=23656", "GRPC_PORT=23090", fmt.Sprintf("API_PORT=%d", o2API),
		fmt.Sprintf("ORCH_HTTP=%d", o2HTTP), "ORCH_RPC=23801", "MEDIA1_BASE=23880", "MEDIA2_BASE=23890",
		"TURN_BASE=23477", "TURN_TLS_BASE=23487", fmt.Sprintf("METRICS_BASE=%d", o2Metrics), fmt.Sprintf("OWNER_PID=%d", os.Getpid()))
}

func startTwoOrchestrators(t *testing.T) *twoOrchestrators {
	d := &twoOrchestrators{}
	d.dir = startOwnDevnet(t, "chroom-e2e-orch-", "the two-orchestrator devnet", func(dir string) []string { d.dir = dir; return d.env() })
	return d
}

// startOwnDevnet starts a devnet of a test's own (devnet.sh up) in a new
// temporary folder named prefix…, with the environment env(folder) gives,
// and stops it when the test ends: its folder (logs in it) is kept when
// the test failed or CHROOM_E2E_KEEP is set. It returns the folder.
func startOwnDevnet(t *testing.T, prefix, what string, env func(dir string) []string) string {
	dir, err := os.MkdirTemp("", prefix)
	require.NoError(t, err)
	up := exec.Command("bash", "scripts/devnet.sh", "up")
	up.Dir, up.Env = root, env(dir)
	out, err := up.CombinedOutput()
	require.NoError(t, err, "%s: devnet up: %s", what, out)
	t.Cleanup(func() {
		down := exec.Command("bash", "scripts/devnet.sh", "down")
		down.Dir, down.Env = root, env(dir)
		_ = down.Run()
		if t.Failed() || os.Getenv("CHROOM_E2E_KEEP") != "" {
			t.Logf("%s is kept in %s (logs in %s/logs)", what, dir, dir)
		} else {
			os.RemoveAll(dir)
		}
	})
	return dir
}

// nodeKeyID is the node ID of a node key file (chroomd node-key show).
func nodeKeyID(t *testing.T, file string) string {
	out := run(t, filepath.Join(root, "build", "chroomd"), "node-key", "show", file)
	var k struct {
		NodeID string `json:"node_id"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &k), out)
	require.Len(t, k.NodeID, 40)
	return k.NodeID
}

// metric sums the samples of a Prometheus metric (every label set) at a
// /metrics URL; false when the URL does not answer or lacks the metric.
func metric(url, name string) (float64, bool) {
	c := http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return 0, false
	}
	defer resp.Body.Close()
	sum, found := 0.0, false
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		l := sc.Text()
		if !strings.HasPrefix(l, name+" ") && !strings.HasPrefix(l, name+"{") {
			continue
		}
		f := strings.Fields(l)
		if v, err := strconv.ParseFloat(f[len(f)-1], 64); err == nil {
			sum, found = sum+v, true
		}
	}
	return sum, found
}

// httpOK says whether GET url answers 200.
func httpOK(url string) bool {
	c := http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// nextEpochEnd is when the chain's current "chroom" epoch ends (its start
// plus its duration; the epoch changes at the first block after it).
func nextEpochEnd(t *testing.T, api int) time.Time {
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/cosmos/epochs/v1beta1/epochs", api))
	require.NoError(t, err)
	defer resp.Body.Close()
	var out struct {
		Epochs []struct {
			Identifier            string    `json:"identifier"`
			Duration              string    `json:"duration"`
			CurrentEpochStartTime time.Time `json:"current_epoch_start_time"`
		} `json:"epochs"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
	for _, e := range out.Epochs {
		if e.Identifier == "chroom" {
			d, err := time.ParseDuration(e.Duration)
			require.NoError(t, err)
			return e.CurrentEpochStartTime.Add(d)
		}
	}
	t.Fatal("no chroom epoch on chain")
	return time.Time{}
}

// TestOrchestratorKilledMidCall (fault suite, DESIGN.md §3): on a devnet
// with two orchestrators, Alice and Bob are in a call whose room
// orchestrator 2 owns (they asked orchestrator 1 and were redirected).
// Orchestrator 2 is killed (SIGKILL) 10 s before a reward epoch ends and
// stays down 25 s. Media keeps flowing between Alice and Bob, with no
// rejoin; the media node cuts their epoch receipts meanwhile and queues
// them (its queue grows); orchestrator 1 stops redirecting the room once
// orchestrator 2 fails its health checks and serves Carol's join itself,
// into the same call on the same media node (rendezvous takeover, Media
// Node RPC FindRoom). Orchestrator 2 restarts from its home: the queued
// receipts drain, and after everyone leaves every session's receipts are
// on chain once per epoch, crediting what each session lasted.
func TestOrchestratorKilledMidCall(t *testing.T) {
	d := startTwoOrchestrators(t)
	orch1 := nodeKeyID(t, filepath.Join(d.dir, "orchestrator", "node_key.json"))
	orch2 := nodeKeyID(t, filepath.Join(d.dir, "orchestrator-2", "node_key.json"))
	var room string
	for i := 0; ; i++ {
		room = fmt.Sprintf("orch-dies-%d", i)
		if selector.Owner(room, []string{orch1, orch2}) == orch2 {
			break
		}
	}
	base := fmt.Sprintf("http://127.0.0.1:%d", o2HTTP) // orchestrator 1
	b := browser(t)
	alice, bob, carol := tab(t, b), tab(t, b), tab(t, b)
	people := map[string]context.Context{"alice": alice, "bob": bob}
	joinedAt := map[string]time.Time{}
	for _, name := range []string{"alice", "bob"} {
		p := people[name]
		require.NoError(t, chromedp.Run(p, chromedp.Navigate(base+"/?room="+room+"&name="+name+"&autojoin=1")))
		waitFor(t, p, name+" joins", `window.chroom && window.chroom.state === "joined"`, 30*time.Second)
		joinedAt[name] = time.Now()
	}
	sessions := map[string]string{}
	for name, p := range people {
		waitFor(t, p, name+" decodes video", `window.chroom.framesDecoded().then(n => n > 10)`, 30*time.Second)
		token := eval[string](t, p, `window.chroom.grantToken`)
		iss, _ := grantIDs(t, token)
		require.Equal(t, orch2, iss, "%s's join was redirected to the room's owner, orchestrator 2", name)
		sessions[name] = grantSessionID(t, token)
	}
	node := eval[string](t, alice, `window.chroom.nodeId`)
	require.Equal(t, node, eval[string](t, bob, `window.chroom.nodeId`))

	// Kill orchestrator 2 ten seconds before an epoch ends, so that the
	// media node cuts Alice's and Bob's epoch receipts while it is down.
	killAt := nextEpochEnd(t, o2API).Add(-10 * time.Second)
	if time.Until(killAt) < 10*time.Second {
		killAt = killAt.Add(o2Epoch)
	}
	time.Sleep(time.Until(killAt))
	pidFile := filepath.Join(d.dir, "orchestrator-2.pid")
	pidB, err := os.ReadFile(pidFile)
	require.NoError(t, err)
	pid, err := strconv.Atoi(strings.TrimSpace(string(pidB)))
	require.NoError(t, err)
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	require.NoError(t, err)
	args := strings.Split(strings.TrimRight(string(cmdline), "\x00"), "\x00")
	framesAtKill := map[string]float64{}
	for name, p := range people {
		framesAtKill[name] = frames(t, p)
	}
	require.NoError(t, syscall.Kill(pid, syscall.SIGKILL))
	killed := time.Now()
	restarted := false
	restart := func() {
		restarted = true
		logf, err := os.OpenFile(filepath.Join(d.dir, "logs", "orchestrator-2.log"), os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o644)
		require.NoError(t, err)
		defer logf.Close()
		cmd := exec.Command(args[0], args[1:]...)
		cmd.Dir, cmd.Stdout, cmd.Stderr = root, logf, logf
		require.NoError(t, cmd.Start())
		go func() { _ = cmd.Wait() }()
		require.NoError(t, os.WriteFile(pidFile, []byte(strconv.Itoa(cmd.Process.Pid)), 0o644))
	}
	t.Cleanup(func() {
		if !restarted {
			restart()
		}
	})

	// Orchestrator 1 takes the room once orchestrator 2 fails its health
	// checks: it answers the room's placement itself instead of redirecting.
	noFollow := http.Client{Timeout: 3 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	require.Eventually(t, func() bool {
		resp, err := noFollow.Get(base + "/v1/rooms/" + room + "/placement")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 30*time.Second, 250*time.Millisecond, "orchestrator 1 serves the room of the dead orchestrator 2")
	tookOver := time.Since(killed)

	require.NoError(t, chromedp.Run(carol, chromedp.Navigate(base+"/?room="+room+"&name=carol&autojoin=1")))
	waitFor(t, carol, "carol joins through orchestrator 1", `window.chroom && window.chroom.state === "joined"`, 30*time.Second)
	joinedAt["carol"] = time.Now()
	people["carol"] = carol
	waitFor(t, carol, "carol decodes video", `window.chroom.framesDecoded().then(n => n > 10)`, 30*time.Second)
	carolIn := time.Since(killed)
	token := eval[string](t, carol, `window.chroom.grantToken`)
	iss, _ := grantIDs(t, token)
	require.Equal(t, orch1, iss, "carol's grant comes from orchestrator 1")
	sessions["carol"] = grantSessionID(t, token)
	require.Equal(t, node, eval[string](t, carol, `window.chroom.nodeId`), "carol joins the call on the node it runs on")
	for _, name := range []string{"alice", "bob"} {
		waitFor(t, people[name], name+" sees carol", `window.chroom.participants().length === 3`, 20*time.Second)
	}

	// The epoch ended while orchestrator 2 is down: the media node holds
	// Alice's and Bob's epoch receipts for it.
	queued := 0.0
	require.Eventually(t, func() bool {
		queued = 0
		for i := 1; i <= 2; i++ {
			v, _ := metric(fmt.Sprintf("http://127.0.0.1:%d/metrics", o2Metrics+i), "chroom_medianode_receipt_queue_depth")
			queued += v
		}
		return queued >= 2
	}, killed.Add(25*time.Second).Sub(time.Now()), 500*time.Millisecond, "the media node queues the receipts it cannot push to orchestrator 2")
	time.Sleep(time.Until(killed.Add(25 * time.Second)))
	down := time.Since(killed)
	for _, name := range []string{"alice", "bob"} {
		p := people[name]
		got := frames(t, p) - framesAtKill[name]
		require.Greater(t, got, 10*down.Seconds(), "%s decoded ≥ 10 fps while orchestrator 2 was down (%.0f frames in %s)", name, got, down)
		require.Zero(t, eval[float64](t, p, `window.chroom.rejoins`), "%s never rejoined", name)
		require.Equal(t, "joined", eval[string](t, p, `window.chroom.state`))
		t.Logf("%s: %.0f frames decoded in the %s orchestrator 2 was down", name, got, down.Round(100*time.Millisecond))
	}

	restart()
	back := time.Now()
	require.Eventually(t, func() bool { return httpOK(fmt.Sprintf("http://127.0.0.1:%d/readyz", orch2HTTP)) }, 60*time.Second, 250*time.Millisecond,
		"orchestrator 2 is ready again")
	drained := time.Duration(0)
	require.Eventually(t, func() bool {
		n := 0.0
		for i := 1; i <= 2; i++ {
			v, ok := metric(fmt.Sprintf("http://127.0.0.1:%d/metrics", o2Metrics+i), "chroom_medianode_receipt_queue_depth")
			if !ok {
				return false
			}
			n += v
		}
		drained = time.Since(back)
		return n == 0
	}, 60*time.Second, 500*time.Millisecond, "the media node's receipt queue drains into the restarted orchestrator 2")
	// The clients' signed usage statements reach orchestrator 2 again.
	for _, name := range []string{"alice", "bob"} {
		before := eval[float64](t, people[name], `window.chroom.statementsAccepted`)
		waitFor(t, people[name], name+"'s usage statements are accepted again",
			fmt.Sprintf(`window.chroom.statementsAccepted > %v`, before), 20*time.Second)
	}

	left := map[string]time.Time{}
	for name, p := range people {
		eval[bool](t, p, `Promise.resolve(window.chroom.leave()).then(() => true)`)
		left[name] = time.Now()
	}
	for name, id := range sessions {
		served := int(left[name].Sub(joinedAt[name]).Seconds())
		want := served - 15
		require.Eventually(t, func() bool { _, s, _ := acceptedOnChainAt(o2RPC, id); return s >= want }, 2*time.Minute, 2*time.Second,
			"%s's session (%s…): receipts for ≥ %d s of the %d s it lasted accepted on chain", name, id[:12], want, served)
	}
	time.Sleep(5 * time.Second) // a late duplicate would show
	for _, name := range []string{"alice", "bob", "carol"} {
		id := sessions[name]
		n, s, twice := acceptedOnChainAt(o2RPC, id)
		served := int(left[name].Sub(joinedAt[name]).Seconds())
		require.False(t, twice, "%s's session accepted twice for one epoch", name)
		require.LessOrEqual(t, s, served+5, "%s's session credited no more than it lasted", name)
		t.Logf("%s (grant from orchestrator %s…): %d receipt(s) on chain, %d verified s of %d s in the call", name, map[bool]string{true: "2", false: "1"}[name != "carol"], n, s, served)
	}
	depth, _ := metric(fmt.Sprintf("http://127.0.0.1:%d/metrics", orch2HTTP), "chroom_orchestrator_receipt_queue_depth")
	require.Zero(t, depth, "orchestrator 2's own receipt queue is empty")
	t.Logf("orchestrator 2 killed: orchestrator 1 took its room after %s, carol decoded the call %s after the kill; "+
		"%v receipts queued on the media node meanwhile, drained %s after the restart",
		tookOver.Round(100*time.Millisecond), carolIn.Round(100*time.Millisecond), queued, drained.Round(100*time.Millisecond))
}
