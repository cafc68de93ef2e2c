package api_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/chroom/chroom/orchestrator/api"
)

// TestEmbedFramedOnlyByTheAppsOrigins: /embed?token= serves the call page
// with the join answer and a CSP whose frame-ancestors are the origins
// the grant's app allows; anonymous, forged and missing grants get an
// error that no page may frame.
func TestEmbedFramedOnlyByTheAppsOrigins(t *testing.T) {
	e := newEnv(t, true)
	e.api = api.New(api.Config{Key: e.key, ChainID: testChainID, APIKeys: map[string]string{"secret-key": "app", "other-key": "other"}, AllowAnonymousJoin: true,
		KeyPolicies: map[string]api.KeyPolicy{"app": {EmbedOrigins: []string{"https://support.example.com", "http://127.0.0.1:8080"}}},
		Region:      "DE", Directory: e.dir, Loads: loads{}, Admin: e.admin, Rewards: rewards{}, Peers: e.peers})
	e.srv.Config.Handler = e.api.Handler()
	embed := httptest.NewServer(e.api.EmbedHandler())
	defer embed.Close()
	get := func(token string) (*http.Response, string) {
		resp, err := http.Get(embed.URL + "/embed?token=" + url.QueryEscape(token))
		require.NoError(t, err)
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp, string(body)
	}

	token, _ := e.join("support-1", "customer", app)
	resp, body := get(token)
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	csp := resp.Header.Get("Content-Security-Policy")
	require.Contains(t, csp, "frame-ancestors https://support.example.com http://127.0.0.1:8080")
	require.NotContains(t, csp, "frame-ancestors 'none'")
	require.Equal(t, "no-store", resp.Header.Get("Cache-Control"))
	require.Contains(t, body, `<script type="application/json" id="chroom-grant">{"token":"`+token+`"`)
	require.Contains(t, body, `"ws_url":"ws://media.example:7880/rtc"`)
	require.Contains(t, body, `src="js/embed.js"`)

	// Another app's grant: that app lists no origins, so nobody may frame it.
	otherToken, _ := e.join("support-2", "x", "key:other-key")
	resp, _ = get(otherToken)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Contains(t, resp.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'")

	for name, tok := range map[string]string{
		"anonymous": func() string { tk, _ := e.join("support-3", "", ""); return tk }(),
		"forged":    token[:strings.LastIndex(token, ".")+1] + "AAAA",
		"missing":   "",
		"garbage":   "not-a-grant",
	} {
		resp, body := get(tok)
		require.GreaterOrEqual(t, resp.StatusCode, 400, "%s: %s", name, body)
		require.Contains(t, resp.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'", name)
		require.Contains(t, body, "This call link cannot be used: ", name)
	}
}
