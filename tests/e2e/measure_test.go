package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/chroom/chroom/orchestrator/chain"
)

// TestMeasure records the figures of docs/benchmarks.md ("Whole network"):
// join-to-first-decoded-frame over 12 joins, CPU and memory of every
// process during a two-party call, and how many blocks a receipt tx takes
// from broadcast to inclusion. Run with CHROOM_E2E_MEASURE=1 make e2e.
func TestMeasure(t *testing.T) {
	if os.Getenv("CHROOM_E2E_MEASURE") != "1" {
		t.Skip("set CHROOM_E2E_MEASURE=1 to measure")
	}
	b := browser(t)
	base := fmt.Sprintf("http://127.0.0.1:%d", orchHTTP)
	host := tab(t, b)
	require.NoError(t, chromedp.Run(host, chromedp.Navigate(base+"/?room=measure&name=Host&identity=host&autojoin=1")))
	waitFor(t, host, "the host joins", `window.chroom && window.chroom.state === "joined"`, 30*time.Second)

	// Join to first decoded frame, as a guest joins the host's call, with
	// the time at which each phase ended (ms since join()), taken by
	// wrapping the browser APIs the web client calls.
	var joins []time.Duration
	phases := map[string][]time.Duration{}
	for i := 0; i < 12; i++ {
		guest := tab(t, b)
		require.NoError(t, chromedp.Run(guest, chromedp.Navigate(base+"/?room=measure")))
		waitFor(t, guest, "page ready", `window.chroom && window.chroom.state === "idle"`, 10*time.Second)
		marks := eval[map[string]float64](t, guest, fmt.Sprintf(`(async () => {
		  const m = {};
		  const t0 = performance.now();
		  const mark = (k) => { if (m[k] === undefined) m[k] = performance.now() - t0; };
		  const gum = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
		  navigator.mediaDevices.getUserMedia = (c) => gum(c).then((s) => { mark("getusermedia"); return s; });
		  // Proxies keep the constructors' statics (WebSocket.OPEN, …).
		  window.WebSocket = new Proxy(window.WebSocket, {construct(WS, a) {
		    const ws = new WS(...a); ws.addEventListener("open", () => mark("websocket_open")); return ws;
		  }});
		  window.RTCPeerConnection = new Proxy(window.RTCPeerConnection, {construct(PC, a) {
		    const pc = new PC(...a);
		    const srd = pc.setRemoteDescription.bind(pc);
		    pc.setRemoteDescription = (d) => { if (d && d.type === "offer") mark("node_offer"); return srd(d); };
		    pc.addEventListener("iceconnectionstatechange", () => { if (pc.iceConnectionState === "connected") mark("ice_connected"); });
		    pc.addEventListener("connectionstatechange", () => { if (pc.connectionState === "connected") mark("dtls_connected"); });
		    pc.addEventListener("track", (e) => { if (e.track.kind === "video") mark("video_track"); });
		    return pc;
		  }});
		  await window.chroom.join({room: "measure", name: "Guest %d", identity: "guest-%d"});
		  mark("joined");
		  const api = performance.getEntriesByType("resource").find((e) => e.name.includes("/join") && e.startTime >= t0);
		  if (api) m.join_api = api.responseEnd - t0;
		  for (;;) {
		    if (await window.chroom.framesDecoded() > 0) { mark("first_frame"); return m; }
		    await new Promise(r => setTimeout(r, 10));
		  }
		})()`, i, i))
		for k, v := range marks {
			phases[k] = append(phases[k], time.Duration(v*float64(time.Millisecond)))
		}
		joins = append(joins, time.Duration(marks["first_frame"]*float64(time.Millisecond)))
		eval[any](t, guest, `window.chroom.leave()`)
		_ = chromedp.Cancel(guest)
	}
	p := func(ds []time.Duration, q float64) time.Duration {
		sorted := append([]time.Duration(nil), ds...)
		sort.Slice(sorted, func(i, j int) bool { return sorted[i] < sorted[j] })
		return sorted[int(q*float64(len(sorted)-1)+0.5)]
	}
	t.Logf("join to first decoded frame over %d joins: p50 %s, p95 %s", len(joins), p(joins, 0.5), p(joins, 0.95))
	phaseP50 := map[string]int64{}
	for k, ds := range phases {
		phaseP50[k] = p(ds, 0.5).Milliseconds()
	}
	t.Logf("phase ends, p50 ms since join(): %v", phaseP50)

	// A two-party call for 30 s: CPU and memory of each process.
	guest := tab(t, b)
	require.NoError(t, chromedp.Run(guest, chromedp.Navigate(base+"/?room=measure&name=Guest&identity=guest&autojoin=1")))
	waitFor(t, guest, "the guest decodes video", `window.chroom.framesDecoded().then(n => n > 0)`, 30*time.Second)
	procs := map[string]int{}
	for _, name := range []string{"chroomd", "orchestrator", "media-1", "media-2"} {
		raw, err := os.ReadFile(filepath.Join(devnet, name+".pid"))
		require.NoError(t, err)
		pid, _ := strconv.Atoi(strings.TrimSpace(string(raw)))
		procs[name] = pid
	}
	before := map[string]uint64{}
	for n, pid := range procs {
		before[n] = cpuTicks(t, pid)
	}
	time.Sleep(30 * time.Second)
	usage := map[string]string{}
	for n, pid := range procs {
		cpu := float64(cpuTicks(t, pid)-before[n]) / 100 / 30 * 100 // % of one core
		usage[n] = fmt.Sprintf("%.1f%% of a core, RSS %d MiB", cpu, rssKiB(t, pid)/1024)
		t.Logf("%s during a two-party call: %s", n, usage[n])
	}
	eval[any](t, guest, `window.chroom.leave()`)
	eval[any](t, host, `window.chroom.leave()`)

	// Receipt tx latency: included height − broadcast height, where the
	// broadcast height is the tx's timeout height − chain.DefaultTimeoutBlocks.
	var latencies []int64
	deadline := time.Now().Add(60 * time.Second)
	txRE := regexp.MustCompile(`"msg":"receipts included on chain"[^\n]*"tx":"([0-9A-F]{64})","height":([0-9]+)`)
	for len(latencies) < 2 && time.Now().Before(deadline) {
		log, err := os.ReadFile(filepath.Join(devnet, "logs", "orchestrator.log"))
		require.NoError(t, err)
		latencies = latencies[:0]
		for _, m := range txRE.FindAllStringSubmatch(string(log), -1) {
			out := chroomd(t, "query", "tx", m[1], "--output", "json")
			to := regexp.MustCompile(`"timeout_height":\s*"([0-9]+)"`).FindStringSubmatch(out)
			if to == nil {
				continue
			}
			incl, _ := strconv.ParseInt(m[2], 10, 64)
			timeout, _ := strconv.ParseInt(to[1], 10, 64)
			latencies = append(latencies, incl-(timeout-chain.DefaultTimeoutBlocks))
		}
		time.Sleep(2 * time.Second)
	}
	t.Logf("receipt txs: broadcast → included in %v blocks", latencies)

	out, _ := json.MarshalIndent(map[string]any{
		"join_to_first_frame_ms": durationsMs(joins), "p50_ms": p(joins, 0.5).Milliseconds(), "p95_ms": p(joins, 0.95).Milliseconds(),
		"phase_end_p50_ms": phaseP50,
		"two_party_call":   usage, "receipt_latency_blocks": latencies,
	}, "", "  ")
	_ = os.MkdirAll(filepath.Join(root, "build", "e2e"), 0o755)
	require.NoError(t, os.WriteFile(filepath.Join(root, "build", "e2e", "measure.json"), out, 0o644))
}

func durationsMs(ds []time.Duration) []int64 {
	out := make([]int64, len(ds))
	for i, d := range ds {
		out[i] = d.Milliseconds()
	}
	return out
}

// cpuTicks is utime+stime of pid in clock ticks (USER_HZ = 100).
func cpuTicks(t *testing.T, pid int) uint64 {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	require.NoError(t, err)
	s := string(raw)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	ut, _ := strconv.ParseUint(f[11], 10, 64)
	st, _ := strconv.ParseUint(f[12], 10, 64)
	return ut + st
}

func rssKiB(t *testing.T, pid int) int {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	require.NoError(t, err)
	for _, line := range strings.Split(string(raw), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			n, _ := strconv.Atoi(strings.Fields(line)[1])
			return n
		}
	}
	return 0
}
