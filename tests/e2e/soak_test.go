package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

// A soak call's join pattern.
type soakMode struct {
	name string
	// staggered: the second person joins a second after the first is in;
	// otherwise both join at the same moment.
	staggered bool
	// background: the second person's tab is hidden while joining (a call
	// in a background tab), and shown once audio plays.
	background bool
}

var soakModes = []soakMode{
	{name: "simultaneous"},
	{name: "staggered", staggered: true},
	{name: "simultaneous, bob in a background tab", background: true},
	{name: "staggered, bob in a background tab", staggered: true, background: true},
}

// timing is window.chroom.timing(): ms since join started (StartedAt,
// Unix ms).
type timing struct {
	StartedAt  float64  `json:"startedAt"`
	Joined     *float64 `json:"joined"`
	FirstFrame *float64 `json:"firstFrame"`
	FirstAudio *float64 `json:"firstAudio"`
}

type soakResult struct {
	Call       int      `json:"call"`
	Room       string   `json:"room"`
	Mode       string   `json:"mode"`
	AliceFrame *float64 `json:"alice_first_frame_ms"`
	BobFrame   *float64 `json:"bob_first_frame_ms"`
	AliceAudio *float64 `json:"alice_first_audio_ms"`
	BobAudio   *float64 `json:"bob_first_audio_ms"`
	Failure    string   `json:"failure,omitempty"`
}

// TestSoak runs CHROOM_E2E_SOAK two-person calls, each in a fresh room on
// the one devnet, cycling through soakModes, and prints each call's join →
// first decoded frame (and audio) for both people, counted from the later
// join (Bob's). A call fails when
// either person does not decode the other's video and audio within 30 s
// (for a background tab: audio while hidden, video once shown); the
// failure prints both people's debug logs and the media node's records of
// the room. Any failure fails the test, after every call has run. Results
// go to build/e2e/soak.json, each call's logs to build/e2e/soak/<room>.log.
// Run it with make e2e-soak N=50.
func TestSoak(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("CHROOM_E2E_SOAK"))
	if n <= 0 {
		t.Skip("set CHROOM_E2E_SOAK=N (make e2e-soak N=50) to soak")
	}
	b := browser(t)
	var results []soakResult
	failures := 0
	for i := 0; i < n; i++ {
		r := soakCall(t, b, i, soakModes[i%len(soakModes)])
		results = append(results, r)
		status := "ok"
		if r.Failure != "" {
			failures++
			status = "FAILED: " + r.Failure
		}
		t.Logf("call %d/%d (%s): alice first frame %s, bob first frame %s, first audio %s / %s — %s",
			i+1, n, r.Mode, ms(r.AliceFrame), ms(r.BobFrame), ms(r.AliceAudio), ms(r.BobAudio), status)
	}
	summary := map[string]any{"calls": n, "failures": failures}
	background := func(r soakResult) bool { return strings.Contains(r.Mode, "background") }
	for _, side := range []struct {
		name string
		get  func(soakResult) *float64
	}{
		{"alice", func(r soakResult) *float64 { return r.AliceFrame }},
		{"bob (foreground tab)", func(r soakResult) *float64 {
			if background(r) {
				return nil
			}
			return r.BobFrame
		}},
		{"bob (background tab, shown after audio)", func(r soakResult) *float64 {
			if !background(r) {
				return nil
			}
			return r.BobFrame
		}},
	} {
		var vs []float64
		for _, r := range results {
			if v := side.get(r); v != nil {
				vs = append(vs, *v)
			}
		}
		if len(vs) == 0 {
			continue
		}
		sort.Float64s(vs)
		p50, p95 := quantile(vs, 0.5), quantile(vs, 0.95)
		t.Logf("join → first frame, %s: p50 %.0f ms, p95 %.0f ms over %d calls", side.name, p50, p95, len(vs))
		summary[side.name] = map[string]any{"p50_ms": p50, "p95_ms": p95, "calls": len(vs)}
	}
	t.Logf("soak: %d calls, %d failures", n, failures)
	out, _ := json.MarshalIndent(map[string]any{"summary": summary, "calls": results}, "", "  ")
	_ = os.MkdirAll(filepath.Join(root, "build", "e2e"), 0o755)
	require.NoError(t, os.WriteFile(filepath.Join(root, "build", "e2e", "soak.json"), out, 0o644))
	require.Zero(t, failures, "every call must show each person the other's video and audio")
}

// TestCallInABackgroundTab: a person who joins with the call's tab hidden
// (behind another tab) receives the other's audio while hidden, and
// decodes their video once the tab is shown.
func TestCallInABackgroundTab(t *testing.T) {
	b := browser(t)
	r := soakCall(t, b, 0, soakMode{name: "bob in a background tab", background: true})
	require.Empty(t, r.Failure, "the call in a background tab")
}

func quantile(sorted []float64, q float64) float64 {
	return sorted[int(q*float64(len(sorted)-1)+0.5)]
}

func ms(v *float64) string {
	if v == nil {
		return "never"
	}
	return fmt.Sprintf("%.0f ms", *v)
}

// soakCall runs one call and reports it; it fails the result, not the test.
func soakCall(t *testing.T, b context.Context, i int, mode soakMode) (res soakResult) {
	base := fmt.Sprintf("http://127.0.0.1:%d", orchHTTP)
	room := fmt.Sprintf("soak-%d-%d", time.Now().UnixMilli()%1_000_000, i)
	res = soakResult{Call: i + 1, Room: room, Mode: mode.name}
	url := func(who string) string {
		return fmt.Sprintf("%s/?room=%s&name=%s&autojoin=1", base, room, who)
	}
	alice, cancelA := chromedp.NewContext(b)
	defer cancelA()
	require.NoError(t, chromedp.Run(alice)) // open the tab
	var bob context.Context
	var cancelB context.CancelFunc
	var bobTarget target.ID
	openBob := func() {
		if !mode.background {
			require.NoError(t, chromedp.Run(bob, chromedp.Navigate(url("Bob"))))
			return
		}
		// A tab created in the background is hidden (visibilityState
		// "hidden") until activated, as a tab behind another is.
		require.NoError(t, chromedp.Run(b, chromedp.ActionFunc(func(ctx context.Context) error {
			var err error
			bobTarget, err = target.CreateTarget(url("Bob")).WithBackground(true).Do(ctx)
			return err
		})))
		bob, cancelB = chromedp.NewContext(b, chromedp.WithTargetID(bobTarget))
		require.NoError(t, chromedp.Run(bob))
	}
	if !mode.background {
		bob, cancelB = chromedp.NewContext(b)
		require.NoError(t, chromedp.Run(bob))
	}
	defer func() {
		if cancelB != nil {
			cancelB()
		}
	}()
	// logs collects both people's debug logs and the node's records of
	// the room; every call's go to build/e2e/soak/<room>.log.
	logs := func() string {
		var sb strings.Builder
		for _, who := range []struct {
			name string
			ctx  context.Context
		}{{"alice", alice}, {"bob", bob}} {
			log := "(no tab)"
			if who.ctx != nil {
				c, cancel := context.WithTimeout(who.ctx, 5*time.Second)
				_ = chromedp.Run(c, chromedp.Evaluate(`window.chroom ? window.chroom.debugLog() : "(no page)"`, &log))
				cancel()
			}
			fmt.Fprintf(&sb, "--- %s's debug log ---\n%s\n", who.name, log)
		}
		fmt.Fprintf(&sb, "--- media node records of room %s ---\n%s", room, nodeRecords(room))
		dir := filepath.Join(root, "build", "e2e", "soak")
		_ = os.MkdirAll(dir, 0o755)
		_ = os.WriteFile(filepath.Join(dir, room+".log"), []byte(sb.String()), 0o644)
		return sb.String()
	}
	fail := func(format string, args ...any) soakResult {
		res.Failure = fmt.Sprintf(format, args...)
		t.Logf("call %d (%s, room %s) failed: %s\n%s", i+1, mode.name, room, res.Failure, logs())
		return res
	}

	if mode.staggered {
		require.NoError(t, chromedp.Run(alice, chromedp.Navigate(url("Alice"))))
		if !waitQuiet(alice, `window.chroom && window.chroom.state === "joined"`, 30*time.Second) {
			return fail("alice did not join")
		}
		time.Sleep(time.Second)
		openBob()
	} else {
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = chromedp.Run(alice, chromedp.Navigate(url("Alice")))
		}()
		openBob()
		wg.Wait()
	}
	defer func() {
		for _, p := range []context.Context{alice, bob} {
			c, cancel := context.WithTimeout(p, 5*time.Second)
			_ = chromedp.Run(c, chromedp.Evaluate(`window.chroom && window.chroom.leave()`, nil, awaitPromise))
			cancel()
		}
	}()

	timings := func() (a, b timing) {
		_ = evalQuiet(alice, `window.chroom.timing()`, &a)
		_ = evalQuiet(bob, `window.chroom.timing()`, &b)
		return a, b
	}
	record := func() {
		a, b := timings()
		// Alice's figures count from the later of the two joins (in a
		// staggered call she waits for Bob first).
		shift := func(v *float64) *float64 {
			if v == nil || b.StartedAt <= a.StartedAt {
				return v
			}
			x := *v - (b.StartedAt - a.StartedAt)
			return &x
		}
		res.AliceFrame, res.AliceAudio, res.BobFrame, res.BobAudio = shift(a.FirstFrame), shift(a.FirstAudio), b.FirstFrame, b.FirstAudio
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		a, bt := timings()
		bobDone := bt.FirstAudio != nil && (mode.background || bt.FirstFrame != nil)
		if a.FirstFrame != nil && a.FirstAudio != nil && bobDone {
			break
		}
		if time.Now().After(deadline) {
			record()
			return fail("within 30 s: alice video %v audio %v, bob video %v audio %v",
				a.FirstFrame != nil, a.FirstAudio != nil, bt.FirstFrame != nil, bt.FirstAudio != nil)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if mode.background {
		var vis string
		_ = evalQuiet(bob, `document.visibilityState`, &vis)
		if vis != "hidden" {
			return fail("bob's background tab is %q, not hidden", vis)
		}
		// Audio keeps playing in the hidden tab.
		var before, after float64
		_ = evalQuiet(bob, `window.chroom.audioSamplesReceived()`, &before)
		time.Sleep(2 * time.Second)
		_ = evalQuiet(bob, `window.chroom.audioSamplesReceived()`, &after)
		if after <= before {
			return fail("bob's hidden tab stopped receiving audio (%.0f samples, then %.0f)", before, after)
		}
		// Shown again, the tab decodes video (new frames).
		var frames float64
		_ = evalQuiet(bob, `window.chroom.framesDecoded()`, &frames)
		require.NoError(t, chromedp.Run(b, chromedp.ActionFunc(func(ctx context.Context) error {
			return target.ActivateTarget(bobTarget).Do(cdp.WithExecutor(ctx, chromedp.FromContext(ctx).Browser))
		})))
		if !waitQuiet(bob, fmt.Sprintf(`document.visibilityState === "visible" && window.chroom.framesDecoded().then(n => n > %v)`, frames), 10*time.Second) {
			return fail("bob's tab, shown again, decoded no new video frame within 10 s")
		}
	}
	record()
	logs()
	return res
}

var awaitPromise = func(p *runtimeEvaluate) *runtimeEvaluate { return p.WithAwaitPromise(true) }

// evalQuiet evaluates js (awaiting a promise) into out, with a timeout.
func evalQuiet(ctx context.Context, js string, out any) error {
	c, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return chromedp.Run(c, chromedp.Evaluate(js, out, awaitPromise))
}

// waitQuiet polls js until it is true or timeout passes.
func waitQuiet(ctx context.Context, js string, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		var ok bool
		if evalQuiet(ctx, js, &ok) == nil && ok {
			return true
		}
		time.Sleep(200 * time.Millisecond)
	}
	return false
}

// nodeRecords returns the media nodes' log lines about room.
func nodeRecords(room string) string {
	var sb strings.Builder
	needle := `"room":"` + room + `"`
	for _, name := range []string{"media-1", "media-2"} {
		f, err := os.Open(filepath.Join(devnet, "logs", name+".log"))
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			if strings.Contains(sc.Text(), needle) {
				sb.WriteString(name + " " + sc.Text() + "\n")
			}
		}
		f.Close()
	}
	if sb.Len() == 0 {
		return "(none)"
	}
	return sb.String()
}
