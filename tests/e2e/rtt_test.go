package e2e

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/stretchr/testify/require"
)

// TestRealtimeTextArrivesAsTyped: Ann types into the live-text box key by
// key — "Helo", a backspace, "lo wrld", three backspaces, "orld" — and
// presses Enter. Ben sees her line grow one character at a time, each
// correction applied, and the finished line moves to the log, which is
// an ARIA live region (screen readers announce it).
func TestRealtimeTextArrivesAsTyped(t *testing.T) {
	b := browser(t)
	base := fmt.Sprintf("http://127.0.0.1:%d", orchHTTP)
	room := fmt.Sprintf("rtt-%d", time.Now().UnixNano())
	ann, ben := tab(t, b), tab(t, b)
	require.NoError(t, chromedp.Run(ann, chromedp.Navigate(base+"/?room="+room+"&name=Ann&autojoin=1&rtt=1")))
	require.NoError(t, chromedp.Run(ben, chromedp.Navigate(base+"/?room="+room+"&name=Ben&autojoin=1&rtt=1")))
	waitFor(t, ann, "ann joins", `window.chroom && window.chroom.state === "joined"`, 30*time.Second)
	waitFor(t, ben, "ben joins", `window.chroom && window.chroom.state === "joined"`, 30*time.Second)
	// Both data channels are open before Ann types: a message sent
	// before Ben's opened would not reach him, so Ann says "ready" until
	// he hears it.
	deadline := time.Now().Add(20 * time.Second)
	for !eval[bool](t, ben, `window.chroom.lastChat.some(m => m.text === "ready" && !m.self)`) {
		require.True(t, time.Now().Before(deadline), "ben never got ann's chat")
		eval[any](t, ann, `window.chroom.sendChat("ready")`)
		time.Sleep(500 * time.Millisecond)
	}

	require.True(t, eval[bool](t, ben, `!document.getElementById("rtt-panel").hidden`), "the live-text panel is shown (?rtt=1)")
	require.Equal(t, "polite", eval[string](t, ben, `document.getElementById("rtt-done").getAttribute("aria-live")`))

	bs := kb.Backspace
	require.NoError(t, chromedp.Run(ann,
		chromedp.Focus("#rtt-input", chromedp.ByID),
		chromedp.SendKeys("#rtt-input", "Helo"+bs+"lo wrld"+bs+bs+bs+"orld", chromedp.ByID)))
	waitFor(t, ben, "ben sees ann's corrected line", `window.chroom.rttLog.some(u => !u.self && u.line === "Hello world")`, 10*time.Second)
	require.NoError(t, chromedp.Run(ann, chromedp.SendKeys("#rtt-input", kb.Enter, chromedp.ByID)))
	waitFor(t, ben, "ben's log has ann's finished line", `window.chroom.rttShown().done.includes("Ann: Hello world")`, 10*time.Second)

	type update struct {
		Line string   `json:"line"`
		Done []string `json:"done"`
		Gap  bool     `json:"gap"`
	}
	got := eval[[]update](t, ben, `window.chroom.rttLog.filter(u => !u.self)`)
	var lines []string
	for _, u := range got {
		require.False(t, u.Gap, "no live text lost on the way")
		lines = append(lines, u.Line)
	}
	t.Logf("ben saw ann's line as: %s", strings.Join(lines, " | "))
	// Character by character: every prefix of what she typed, in order,
	// with each backspace shown as it happened.
	want := []string{"H", "He", "Hel", "Helo", "Hel", "Hell", "Hello", "Hello ", "Hello w", "Hello wr", "Hello wrl", "Hello wrld",
		"Hello wrl", "Hello wr", "Hello w", "Hello wo", "Hello wor", "Hello worl", "Hello world", ""}
	require.Equal(t, want, lines, "one update per key, corrections applied")
	require.Equal(t, []string{"Hello world"}, got[len(got)-1].Done, "Enter finished the line")
	require.Empty(t, eval[[]string](t, ben, `window.chroom.rttShown().live`), "nothing is being typed any more")
	require.True(t, slices.Contains(eval[[]string](t, ann, `window.chroom.rttShown().done`), "You: Hello world"), "ann's own log shows her line")
	require.Equal(t, "", eval[string](t, ann, `document.getElementById("rtt-input").value`), "Enter cleared the box")
}
