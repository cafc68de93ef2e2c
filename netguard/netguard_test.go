package netguard_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chroom/chroom/netguard"
)

func TestCheck(t *testing.T) {
	strict := netguard.Policy{}
	for _, a := range []string{"127.0.0.1", "127.9.9.9", "::1", "10.0.0.1", "172.16.5.5", "192.168.1.1", "169.254.169.254",
		"fe80::1", "fd00::2", "100.64.0.1", "0.0.0.0", "0.1.2.3", "::", "224.0.0.1", "ff02::1", "255.255.255.255", "::ffff:127.0.0.1"} {
		err := strict.Check(netip.MustParseAddr(a))
		require.ErrorIs(t, err, netguard.ErrPrivateAddress, a)
		require.NoError(t, netguard.Policy{AllowPrivate: true}.Check(netip.MustParseAddr(a)), a)
	}
	for _, a := range []string{"8.8.8.8", "203.0.113.7", "2001:4860:4860::8888", "100.128.0.1", "172.32.0.1"} {
		require.NoError(t, strict.Check(netip.MustParseAddr(a)), a)
	}
}

// TestHTTPClient: the client refuses a loopback server (as a health check
// of a registry endpoint would meet one) and never follows a redirect.
func TestHTTPClient(t *testing.T) {
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) }))
	defer target.Close()
	redirect := httptest.NewServer(http.RedirectHandler(target.URL+"/secret", http.StatusFound))
	defer redirect.Close()

	_, err := netguard.Policy{}.HTTPClient(2 * time.Second).Get(target.URL + "/healthz")
	require.Error(t, err)
	require.True(t, errors.Is(err, netguard.ErrPrivateAddress), "%v", err)

	resp, err := netguard.Policy{AllowPrivate: true}.HTTPClient(2 * time.Second).Get(redirect.URL)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusFound, resp.StatusCode, "the redirect is not followed")
}
