package turn_test

import (
	"net"
	"os/exec"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// uclient runs coturn's turnutils_uclient (Debian package coturn, which
// .ci/run installs) against s with args, returning its output. Without
// the tool the test is skipped.
func uclient(t *testing.T, args ...string) string {
	t.Helper()
	path, err := exec.LookPath("turnutils_uclient")
	if err != nil {
		t.Skip("turnutils_uclient is not installed (apt-get install coturn)")
	}
	out, _ := exec.Command(path, args...).CombinedOutput() // its exit status is 0 even on refusals
	return string(out)
}

var lostRE = regexp.MustCompile(`Total lost packets (\d+) \(([\d.]+)%\)`)
var sentRE = regexp.MustCompile(`Total transmit time is \d+`)

// TestCoturnClient: coturn's own client, a foreign implementation, relays
// through the embedded TURN over UDP, TCP and TLS with minted credentials
// and loses nothing; with a wrong password or expired credentials it
// cannot allocate (it takes the 401 for a challenge, retries, and gives
// up; the codes themselves — 401, 403, 486 — are asserted with pion's
// client in server_test.go, since uclient does not print them).
func TestCoturnClient(t *testing.T) {
	cfg := testConfig()
	s := startServer(t, cfg)
	peer := echoPeer(t)
	peerPort := strconv.Itoa(peer.LocalAddr().(*net.UDPAddr).Port) //nolint:forcetypeassert // udp4
	user, pass, _ := s.Credentials("coturn-client", time.Now())
	port := func(a string) string { _, p, _ := net.SplitHostPort(a); return p }

	for name, flags := range map[string][]string{
		"udp": {"-p", port(s.udpAddr)},
		"tcp": {"-t", "-p", port(s.tcpAddr)},
		"tls": {"-t", "-S", "-p", port(s.tlsAddr)},
	} {
		t.Run("relay over "+name, func(t *testing.T) {
			args := append(append([]string{}, flags...), "-u", user, "-w", pass, "-e", "127.0.0.1", "-r", peerPort, "-n", "50", "-c", "127.0.0.1")
			out := uclient(t, args...)
			m := lostRE.FindStringSubmatch(out)
			require.NotNil(t, m, "no loss figure in the output:\n%s", out)
			require.True(t, sentRE.MatchString(out), out)
			require.Equal(t, "0", m[1], "lost packets:\n%s", out)
		})
	}

	t.Run("wrong password is refused", func(t *testing.T) {
		out := uclient(t, "-p", port(s.udpAddr), "-u", user, "-w", "wrong", "-e", "127.0.0.1", "-r", peerPort, "-n", "1", "-c", "127.0.0.1")
		require.Contains(t, out, "Cannot complete Allocation")
		require.Nil(t, lostRE.FindStringSubmatch(out), "nothing relayed")
	})
	t.Run("expired credentials are refused", func(t *testing.T) {
		oldUser, oldPass, _ := s.Credentials("coturn-client", time.Now().Add(-time.Hour))
		out := uclient(t, "-p", port(s.udpAddr), "-u", oldUser, "-w", oldPass, "-e", "127.0.0.1", "-r", peerPort, "-n", "1", "-c", "127.0.0.1")
		require.Contains(t, out, "Cannot complete Allocation")
		require.Nil(t, lostRE.FindStringSubmatch(out), "nothing relayed")
	})
}
