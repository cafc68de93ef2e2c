package turn_test

import (
	"crypto/sha256"
	"encoding/hex"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/pion/logging"
	pionturn "github.com/pion/turn/v4"
	"github.com/pion/webrtc/v4"
	"github.com/stretchr/testify/require"

	"github.com/chroom/chroom/medianode/turn"
)

func TestCredentialsFormat(t *testing.T) {
	cfg := testConfig()
	cfg.CredentialTTL = 90 * time.Second
	s := startServer(t, cfg)
	now := time.Unix(1_700_000_000, 700_000_000)
	longSum := sha256.Sum256([]byte(strings.Repeat("a", 300)))

	cases := []struct {
		name, identity, wantUsername string
	}{
		{"plain", "alice", "1700000090:alice"},
		{"safe punctuation", "a-b.c_d@e", "1700000090:a-b.c_d@e"},
		{"colon escaped", "room:alice", "1700000090:room%3Aalice"},
		{"percent escaped", "50%", "1700000090:50%25"},
		{"tilde escaped", "~x", "1700000090:%7Ex"},
		{"space and quote", `a "b"`, "1700000090:a%20%22b%22"},
		{"non-ascii", "é", "1700000090:%C3%A9"},
		{"empty", "", "1700000090:"},
		{"long identity hashed", strings.Repeat("a", 300), "1700000090:~" + hex.EncodeToString(longSum[:])},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			user, pass, expires := s.Credentials(tc.identity, now)
			require.Equal(t, tc.wantUsername, user)
			require.Equal(t, time.Unix(1_700_000_090, 0), expires)
			require.Len(t, pass, 28, "base64 of a 20-byte HMAC-SHA1")
		})
	}
}

// TestCredentialsInteropWithPion checks the credentials against pion's own
// TURN REST API handler, an independent implementation of the same scheme.
func TestCredentialsInteropWithPion(t *testing.T) {
	s := startServer(t, testConfig())
	user, pass, _ := s.Credentials("room:alice", time.Now())
	quiet := logging.NewDefaultLoggerFactory()
	quiet.DefaultLogLevel = logging.LogLevelDisabled
	handler := pionturn.LongTermTURNRESTAuthHandler(string(testSecret), quiet.NewLogger("test"))
	key, ok := handler(user, testRealm, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1})
	require.True(t, ok)
	require.Equal(t, pionturn.GenerateAuthKey(user, testRealm, pass), key)
}

func TestICEServer(t *testing.T) {
	urls := []string{"turn:127.0.0.1:3478?transport=udp", "turn:127.0.0.1:3478?transport=tcp"}
	srv := turn.ICEServer(urls, "1700000090:alice", "c2VjcmV0")
	urls[0] = "mutated"

	require.Equal(t, []string{"turn:127.0.0.1:3478?transport=udp", "turn:127.0.0.1:3478?transport=tcp"}, srv.URLs)
	require.Equal(t, "1700000090:alice", srv.Username)
	require.Equal(t, "c2VjcmV0", srv.Credential)
	require.Equal(t, webrtc.ICECredentialTypePassword, srv.CredentialType)

	// Pion accepts it as a PeerConnection's ICE server.
	pc, err := webrtc.NewPeerConnection(webrtc.Configuration{ICEServers: []webrtc.ICEServer{srv}})
	require.NoError(t, err)
	require.NoError(t, pc.Close())
}

func TestLinkHeader(t *testing.T) {
	cases := []struct {
		name, url, username, password, want string
	}{
		{
			name:     "rfc 9725 example shape",
			url:      "turn:turn.example.net?transport=udp",
			username: "user",
			password: "myPassword",
			want:     `<turn:turn.example.net?transport=udp>; rel="ice-server"; username="user"; credential="myPassword"; credential-type="password"`,
		},
		{
			name:     "minted credentials",
			url:      "turn:203.0.113.7:3478?transport=tcp",
			username: "1700000090:room%3Aalice",
			password: "q+/7x9zV0kq1nI3e0Q2Zt3yX7fA=",
			want:     `<turn:203.0.113.7:3478?transport=tcp>; rel="ice-server"; username="1700000090:room%3Aalice"; credential="q+/7x9zV0kq1nI3e0Q2Zt3yX7fA="; credential-type="password"`,
		},
		{
			name:     "quote and backslash escaped",
			url:      "turn:h:3478",
			username: `a"b\c`,
			password: `"\`,
			want:     `<turn:h:3478>; rel="ice-server"; username="a\"b\\c"; credential="\"\\"; credential-type="password"`,
		},
		{
			name:     "header splitting impossible",
			url:      "turn:h:3478\r\nX-Evil: 1",
			username: "u\r\nSet-Cookie: x",
			password: "p\x00\x7f\tq",
			want:     `<turn:h:3478%0D%0AX-Evil:%201>; rel="ice-server"; username="uSet-Cookie: x"; credential="p` + "\t" + `q"; credential-type="password"`,
		},
		{
			name:     "angle brackets and quotes in url",
			url:      `turn:h>"<`,
			username: "u",
			password: "p",
			want:     `<turn:h%3E%22%3C>; rel="ice-server"; username="u"; credential="p"; credential-type="password"`,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := turn.LinkHeader(tc.url, tc.username, tc.password)
			require.Equal(t, tc.want, got)
			require.NotContains(t, got, "\r")
			require.NotContains(t, got, "\n")
		})
	}
}

func TestConfigValidate(t *testing.T) {
	valid := testConfig()
	require.NoError(t, valid.Validate())

	cases := []struct {
		name    string
		mutate  func(*turn.Config)
		wantErr string
	}{
		{"no realm", func(c *turn.Config) { c.Realm = "" }, "realm is required"},
		{"long realm", func(c *turn.Config) { c.Realm = strings.Repeat("r", 128) }, "at most 127"},
		{"no public ip", func(c *turn.Config) { c.PublicIP = nil }, "public IP"},
		{"ipv6 public ip", func(c *turn.Config) { c.PublicIP = net.ParseIP("2001:db8::1") }, "not IPv4"},
		{"unspecified public ip", func(c *turn.Config) { c.PublicIP = net.IPv4zero }, "cannot be a relay address"},
		{"half a port range", func(c *turn.Config) { c.RelayMinPort = 50000 }, "set both ends or neither"},
		{"inverted port range", func(c *turn.Config) { c.RelayMinPort, c.RelayMaxPort = 50001, 50000 }, "min is above max"},
		{"short secret", func(c *turn.Config) { c.Secret = []byte("short") }, "at least 16"},
		{"negative ttl", func(c *turn.Config) { c.CredentialTTL = -time.Second }, "negative"},
		{"sub-second ttl", func(c *turn.Config) { c.CredentialTTL = time.Millisecond }, "below 1s"},
		{"negative quota", func(c *turn.Config) { c.MaxAllocationsPerUser = -1 }, "negative"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig()
			tc.mutate(&cfg)
			err := cfg.Validate()
			require.ErrorContains(t, err, tc.wantErr)

			_, err = turn.New(cfg, nil, nil, nil)
			require.ErrorContains(t, err, tc.wantErr, "New validates too")
		})
	}

	_, err := turn.New(valid, nil, nil, nil)
	require.ErrorContains(t, err, "a UDP socket, a TCP listener or a TLS listener is required")
}

func TestDefaultCredentialTTL(t *testing.T) {
	s := startServer(t, testConfig())
	now := time.Unix(1_700_000_000, 0)
	_, _, expires := s.Credentials("alice", now)
	require.Equal(t, now.Add(turn.DefaultCredentialTTL), expires)
}
