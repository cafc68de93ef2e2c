package e2e

import (
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

// TestStatsPanelShowsDecodedFrames: in a two-person call the Connection
// panel's "Frames decoded" is the video frames the tab really decoded
// (getStats inbound-rtp framesDecoded), not 0 while video plays.
func TestStatsPanelShowsDecodedFrames(t *testing.T) {
	b := browser(t)
	base := fmt.Sprintf("http://127.0.0.1:%d", orchHTTP)
	room := fmt.Sprintf("stats-%d", time.Now().UnixNano())
	ann, ben := tab(t, b), tab(t, b)
	require.NoError(t, chromedp.Run(ann, chromedp.Navigate(base+"/?room="+room+"&name=Ann&autojoin=1")))
	require.NoError(t, chromedp.Run(ben, chromedp.Navigate(base+"/?room="+room+"&name=Ben&autojoin=1")))
	waitFor(t, ben, "ben decodes ann's video", `window.chroom.framesDecoded().then(n => n > 60)`, 30*time.Second)
	panel := `(() => { const dts = [...document.querySelectorAll("#stats dt")]; const dt = dts.find(d => d.textContent === "Frames decoded"); return dt ? dt.nextElementSibling.textContent : ""; })()`
	waitFor(t, ben, "the panel shows frames", panel+` !== "" && `+panel+` !== "–" && `+panel+` !== "0"`, 10*time.Second)
	before := eval[float64](t, ben, `window.chroom.framesDecoded()`)
	time.Sleep(2500 * time.Millisecond) // the panel refreshes every 2 s
	shown, err := strconv.ParseFloat(eval[string](t, ben, panel), 64)
	require.NoError(t, err)
	after := eval[float64](t, ben, `window.chroom.framesDecoded()`)
	t.Logf("frames decoded: %.0f before, panel %.0f, %.0f after", before, shown, after)
	require.GreaterOrEqual(t, shown, before, "the panel counts what was decoded")
	require.LessOrEqual(t, shown, after)
}
