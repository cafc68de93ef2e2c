package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

// nftLoss drops percent % of the packets to and from the media nodes'
// media ports at random (nft numgen), both ways, until the returned func
// removes the rule.
func nftLoss(t *testing.T, percent int) (restore func()) {
	t.Helper()
	ports := mediaPorts(2)
	return nftTable(t, "chroom_e2e_loss", fmt.Sprintf(`  chain input {
    type filter hook input priority -10;
    udp dport { %[1]s } numgen random mod 100 < %[2]d drop
    udp sport { %[1]s } numgen random mod 100 < %[2]d drop
  }
`, ports, percent))
}

type videoStats struct {
	FrameWidth    float64 `json:"frameWidth"`
	FramesDecoded float64 `json:"framesDecoded"`
	PacketsLost   float64 `json:"packetsLost"`
	NackCount     float64 `json:"nackCount"`
	FreezeCount   float64 `json:"freezeCount"`
}

func sumVideo(t *testing.T, p context.Context) videoStats {
	var s videoStats
	for _, v := range eval[[]videoStats](t, p, `window.chroom.inboundVideo()`) {
		s.FramesDecoded += v.FramesDecoded
		s.PacketsLost += v.PacketsLost
		s.NackCount += v.NackCount
		s.FreezeCount += v.FreezeCount
		s.FrameWidth = max(s.FrameWidth, v.FrameWidth)
	}
	return s
}

// TestCallUnderFivePercentLoss: two people in a call while 5 % of the
// media packets are dropped at random both ways (every hop through the
// media node: publisher → node and node → subscriber). Video keeps
// decoding at ≥ 20 fps and the subscribers' NACKs are answered (NACKs sent,
// loss recovered: the frame rate holds). Figures are logged
// (docs/benchmarks.md).
func TestCallUnderFivePercentLoss(t *testing.T) {
	b := browser(t)
	base := fmt.Sprintf("http://127.0.0.1:%d", orchHTTP)
	alice, bob := tab(t, b), tab(t, b)
	require.NoError(t, chromedp.Run(alice, chromedp.Navigate(base+"/?room=lossy&name=Alice&autojoin=1")))
	require.NoError(t, chromedp.Run(bob, chromedp.Navigate(base+"/?room=lossy&name=Bob&autojoin=1")))
	for name, p := range map[string]context.Context{"alice": alice, "bob": bob} {
		waitFor(t, p, name+" joins", `window.chroom && window.chroom.state === "joined"`, 30*time.Second)
		waitFor(t, p, name+" decodes video", `window.chroom.framesDecoded().then(n => n > 30)`, 30*time.Second)
	}
	const window = 10 * time.Second
	{ // the same call without loss, for comparison
		a0, b0 := sumVideo(t, alice), sumVideo(t, bob)
		time.Sleep(window)
		a1, b1 := sumVideo(t, alice), sumVideo(t, bob)
		t.Logf("without loss: alice %.1f fps, bob %.1f fps decoded",
			(a1.FramesDecoded-a0.FramesDecoded)/window.Seconds(), (b1.FramesDecoded-b0.FramesDecoded)/window.Seconds())
	}
	nftLoss(t, 5)
	time.Sleep(3 * time.Second) // the loss takes effect; estimators adapt
	a0, b0 := sumVideo(t, alice), sumVideo(t, bob)
	time.Sleep(window)
	a1, b1 := sumVideo(t, alice), sumVideo(t, bob)
	for _, c := range []struct {
		name     string
		from, to videoStats
	}{{"alice", a0, a1}, {"bob", b0, b1}} {
		fps := (c.to.FramesDecoded - c.from.FramesDecoded) / window.Seconds()
		t.Logf("%s under 5 %% loss: %.1f fps decoded, %.0f px wide, %.0f packets lost, %.0f NACKs sent, %.0f freezes in %s",
			c.name, fps, c.to.FrameWidth, c.to.PacketsLost-c.from.PacketsLost, c.to.NackCount-c.from.NackCount, c.to.FreezeCount-c.from.FreezeCount, window)
		require.GreaterOrEqual(t, fps, 20.0, c.name+" keeps ≥ 20 fps")
		require.Positive(t, c.to.NackCount-c.from.NackCount, c.name+" asks for retransmissions (NACK)")
	}
}
