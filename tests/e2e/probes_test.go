package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
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

// The probe devnet's ports: apart from the main devnet's (21xxx), the
// fault suite's (22xxx) and the two-orchestrator devnet's (23xxx).
const (
	pRPC     = 24657
	pAPI     = 24317
	pHTTP    = 24800
	pMedia1  = 24880
	pMedia2  = 24890
	pEpoch   = 30 * time.Second
	pJailing = 2
)

// probeDevnet is a devnet of its own with QoS probes on (PROBES=1): one
// validator, one orchestrator (the prober of both media nodes: they have
// another operator), two media nodes, 30 s epochs, jail after 2 failed
// probes in a row.
type probeDevnet struct{ dir string }

func (d *probeDevnet) env() []string {
	return append(os.Environ(), "DEVNET_DIR="+d.dir, "NETWORK=1", "MEDIA_NODES=2", "PROBES=1", fmt.Sprintf("PROBE_JAIL_EPOCHS=%d", pJailing),
		fmt.Sprintf("EPOCH_DURATION=%ds", int(pEpoch.Seconds())),
		fmt.Sprintf("RPC_PORT=%d", pRPC), "P2P_PORT=24656", "GRPC_PORT=24090", fmt.Sprintf("API_PORT=%d", pAPI),
		fmt.Sprintf("ORCH_HTTP=%d", pHTTP), "ORCH_RPC=24801", fmt.Sprintf("MEDIA1_BASE=%d", pMedia1), fmt.Sprintf("MEDIA2_BASE=%d", pMedia2),
		"TURN_BASE=24477", "TURN_TLS_BASE=24487", "METRICS_BASE=24099", fmt.Sprintf("OWNER_PID=%d", os.Getpid()))
}

func (d *probeDevnet) chroomd(t *testing.T, args ...string) string {
	return run(t, filepath.Join(root, "build", "chroomd"), append(args, "--node", fmt.Sprintf("tcp://127.0.0.1:%d", pRPC), "-o", "json")...)
}

// health is a media node's x/verification NodeHealth, as the CLI prints it.
type health struct {
	Health struct {
		Score                   string `json:"score"`
		ConsecutiveFailedProbes int    `json:"consecutive_failed_probes"`
		ProbesPassed            string `json:"probes_passed"`
		ProbesFailed            string `json:"probes_failed"`
	} `json:"health"`
	RecentProbes []struct {
		Result struct {
			Epoch        string `json:"epoch"`
			Connected    bool   `json:"connected"`
			LossPermille int    `json:"loss_permille"`
			RttMs        int    `json:"rtt_ms"`
			BitrateKbps  int    `json:"bitrate_kbps"`
			SetupMs      int    `json:"setup_ms"`
			Relayed      bool   `json:"relayed"`
			Error        string `json:"error"`
		} `json:"result"`
		Quality string `json:"quality"`
	} `json:"recent_probes"`
	History []struct {
		Epoch        string `json:"epoch"`
		Probed       bool   `json:"probed"`
		ProbeQuality string `json:"probe_quality"`
		Score        string `json:"score"`
	} `json:"history"`
}

func (d *probeDevnet) health(t *testing.T, id string) health {
	var h health
	out := d.chroomd(t, "query", "verification", "node-health", id)
	require.NoError(t, json.Unmarshal([]byte(out), &h), out)
	return h
}

func (d *probeDevnet) status(t *testing.T, id string) string {
	out := d.chroomd(t, "query", "registry", "node", id)
	var n struct {
		Node struct {
			Status string `json:"status"`
		} `json:"node"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &n), out)
	return n.Node.Status
}

func dec(s string) float64 { f, _ := strconv.ParseFloat(s, 64); return f }

// TestProbesFindALossyNode (issue 15): with QoS probes on, the
// orchestrator probes both media nodes every epoch as an ordinary client
// (WHIP publish, WHEP view through the node's TURN relay). One node drops 15 % of the
// UDP packets it receives and of those it sends (nftables): its probes
// show the loss, its on-chain score falls below the healthy node's, and
// the orchestrator stops placing new rooms on it. Then it stops answering
// (SIGKILL): after PROBE_JAIL_EPOCHS failed probes in a row the chain
// jails it.
func TestProbesFindALossyNode(t *testing.T) {
	d := &probeDevnet{}
	dir := startOwnDevnet(t, "chroom-e2e-probes-", "the probe devnet", func(dir string) []string { d.dir = dir; return d.env() })
	healthy := nodeKeyID(t, filepath.Join(dir, "media-1", "node_key.json"))
	lossy := nodeKeyID(t, filepath.Join(dir, "media-2", "node_key.json"))

	// Media node 2's media port loses 15 % of the packets it receives and
	// of those it sends (about 28 % of a stream there and back).
	port := pMedia2 + 2
	remove := nftTable(t, "chroom_probe_loss", fmt.Sprintf(`chain in {
		type filter hook input priority 0; policy accept;
		udp dport %d numgen random mod 100 < 15 drop
		udp sport %d numgen random mod 100 < 15 drop
	}
`, port, port))
	defer remove()
	start := time.Now()

	// Wait until both nodes were probed in two epochs (an epoch's probes
	// are final when the next epoch ends).
	var hh, hl health
	require.Eventually(t, func() bool {
		hh, hl = d.health(t, healthy), d.health(t, lossy)
		probed := func(h health) int {
			n := 0
			for _, p := range h.History {
				if p.Probed {
					n++
				}
			}
			return n
		}
		return probed(hh) >= 2 && probed(hl) >= 2
	}, 4*pEpoch+90*time.Second, 2*time.Second, "both nodes probed in two final epochs")
	t.Logf("after %s: healthy node score %s (last probe: %+v), lossy node score %s (last probe: %+v)",
		time.Since(start).Round(time.Second), hh.Health.Score, hh.RecentProbes[0].Result, hl.Health.Score, hl.RecentProbes[0].Result)
	require.NotEmpty(t, hl.RecentProbes)
	last := hl.RecentProbes[0]
	require.True(t, !last.Result.Connected || last.Result.LossPermille > 100,
		"the lossy node's probe shows its loss (or, when loss broke the connection, that it failed): %+v", last.Result)
	require.Less(t, dec(last.Quality), 0.5, "its probe quality")
	require.Less(t, dec(hl.Health.Score), dec(hh.Health.Score), "the lossy node scores below the healthy one")
	require.Less(t, dec(hl.Health.Score), 0.5, "two epochs of failed probe quality take the score below the selector's floor")
	require.True(t, hh.RecentProbes[0].Result.Connected, "the healthy node's probe connected: %+v", hh.RecentProbes[0].Result)
	require.True(t, hh.RecentProbes[0].Result.Relayed, "the probe's viewer went through the node's TURN relay")
	require.Less(t, hh.RecentProbes[0].Result.LossPermille, 20, "the healthy node's probe shows no real loss: %+v", hh.RecentProbes[0].Result)
	require.Greater(t, dec(hh.Health.Score), 0.9, "the healthy node keeps a high score (probe sessions are not counted as client work)")

	// The web client's network page shows both nodes, the lossy one with
	// the lower score.
	b := browser(t)
	page := tab(t, b)
	require.NoError(t, chromedp.Run(page, chromedp.Navigate(fmt.Sprintf("http://127.0.0.1:%d/network.html", pHTTP))))
	waitFor(t, page, "the network page lists both media nodes", `document.querySelectorAll("#network-rows tr").length === 2`, 30*time.Second)
	scores := eval[map[string]string](t, page, `Object.fromEntries([...document.querySelectorAll("#network-rows tr")].map(r => [r.dataset.nodeId, r.dataset.score]))`)
	require.Less(t, dec(scores[lossy]), dec(scores[healthy]), "the network page shows the lossy node's lower score: %v", scores)
	require.Equal(t, 2, eval[int](t, page, `document.querySelectorAll("#network-rows svg polyline").length`), "a score chart per node")

	// New rooms go to the healthy node (the orchestrator reads the score
	// from the registry).
	for i := 0; i < 6; i++ {
		body := strings.NewReader(`{"name":"P"}`)
		resp, err := http.Post(fmt.Sprintf("http://127.0.0.1:%d/v1/rooms/after-probes-%d-%d/join", pHTTP, time.Now().UnixNano(), i), "application/json", body)
		require.NoError(t, err)
		var j joinAnswer
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&j))
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.Equal(t, healthy, j.MediaNode.ID, "new room %d is placed on the healthy node", i)
	}

	// The lossy node stops answering: jailed after PROBE_JAIL_EPOCHS
	// failed probes in a row.
	remove()
	pidB, err := os.ReadFile(filepath.Join(dir, "media-2.pid"))
	require.NoError(t, err)
	pid, err := strconv.Atoi(strings.TrimSpace(string(pidB)))
	require.NoError(t, err)
	require.NoError(t, syscall.Kill(pid, syscall.SIGKILL))
	killed := time.Now()
	require.Eventually(t, func() bool { return d.status(t, lossy) == "NODE_STATUS_JAILED" },
		time.Duration(pJailing+3)*pEpoch+60*time.Second, 2*time.Second, "the node that stopped answering is jailed")
	hl = d.health(t, lossy)
	t.Logf("the killed node was jailed %s after the kill; its last probe: %+v", time.Since(killed).Round(time.Second), hl.RecentProbes[0].Result)
	require.Equal(t, "NODE_STATUS_ACTIVE", d.status(t, healthy))
}
