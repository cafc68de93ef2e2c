package e2e

import (
	"context"
	"fmt"
	"html"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chromedp/chromedp"
)

// The support page's origins: the devnet's API key lets the first embed
// its calls (EMBED_ORIGINS in devnetEnv), not the second.
const (
	embedAllowedPort = 21990
	embedOtherPort   = 21991
)

// supportPage serves, on 127.0.0.1:port, an app's support page that puts
// the call of each ?token= in an <iframe> of the orchestrator's /embed.
func supportPage(t *testing.T, port int) string {
	t.Helper()
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	require.NoError(t, err)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		src := fmt.Sprintf("http://127.0.0.1:%d/embed?token=%s&name=Customer", orchHTTP, url.QueryEscape(r.URL.Query().Get("token")))
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><title>Support</title><h1>Talk to us</h1>
<iframe id="call" src="%s" allow="camera; microphone; autoplay" width="640" height="480"></iframe>`, html.EscapeString(src))
	}), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return fmt.Sprintf("http://127.0.0.1:%d/", port)
}

// TestEmbedOnAnAllowedOriginOnly: an app's backend asks for a grant with
// its API key and puts the orchestrator's /embed?token=<grant> in an
// iframe on its support page. Served from the origin the key allows, the
// embedded call joins: the agent, in the room from the web client, sees
// the customer and decodes their video. The same page on another origin
// shows nothing: Chromium refuses to frame the call (CSP
// frame-ancestors), and nobody joins.
func TestEmbedOnAnAllowedOriginOnly(t *testing.T) {
	key := devnetAPIKey(t)
	b := browser(t)
	room := fmt.Sprintf("support-%d", time.Now().UnixNano())
	agent := tab(t, b)
	require.NoError(t, chromedp.Run(agent, chromedp.Navigate(fmt.Sprintf("http://127.0.0.1:%d/?room=%s&name=Agent&autojoin=1", orchHTTP, room))))
	waitFor(t, agent, "the agent joins", `window.chroom && window.chroom.state === "joined"`, 30*time.Second)

	// Another origin: refused.
	status, refused := apiCall(t, "POST", "/v1/rooms/"+room+"/join", key, "", `{"identity":"intruder","name":"Intruder"}`)
	require.Equal(t, http.StatusOK, status)
	other := tab(t, b)
	require.NoError(t, chromedp.Run(other, chromedp.Navigate(supportPage(t, embedOtherPort)+"?token="+url.QueryEscape(refused.Token))))
	// Allowed origin: joins.
	status, customer := apiCall(t, "POST", "/v1/rooms/"+room+"/join", key, "", `{"identity":"customer-17","name":"Customer"}`)
	require.Equal(t, http.StatusOK, status)
	page := tab(t, b)
	require.NoError(t, chromedp.Run(page, chromedp.Navigate(supportPage(t, embedAllowedPort)+"?token="+url.QueryEscape(customer.Token))))

	waitFor(t, agent, "the agent sees the embedded customer", fmt.Sprintf(`window.chroom.participants().some(p => p.identity === %q)`, customer.Identity), 30*time.Second)
	waitFor(t, agent, "the agent decodes the customer's video", `window.chroom.framesDecoded().then(n => n > 30)`, 30*time.Second)
	// The refused frame never joined: only the agent and the customer.
	time.Sleep(2 * time.Second)
	ids := eval[[]string](t, agent, `window.chroom.participants().map(p => p.identity)`)
	require.NotContains(t, ids, refused.Identity, "the page on the other origin could not frame the call")
	require.Len(t, ids, 2, "the agent and the customer: %v", ids)

	// What the refused page shows: an empty frame (no call UI loaded).
	c, cancel := context.WithTimeout(other, 10*time.Second)
	defer cancel()
	var frames []string
	require.NoError(t, chromedp.Run(c, chromedp.Evaluate(`[...document.querySelectorAll("iframe")].map(f => f.src)`, &frames)))
	require.Len(t, frames, 1)
	require.True(t, strings.Contains(frames[0], "/embed?token="))
}
