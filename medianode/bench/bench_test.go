package bench

import (
	"context"
	"io"
	"testing"
	"time"
)

// TestRunAgainstChroomSFU runs a tiny scenario end to end: an in-process
// Chroom SFU, one WHIP publisher and two WHEP subscribers at 400 packets/s.
func TestRunAgainstChroomSFU(t *testing.T) {
	if testing.Short() {
		t.Skip("starts WebRTC sessions")
	}
	s, err := StartSFU(SFUOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	res, err := Run(context.Background(), Config{
		Label: "chroom", WHIP: s.WHIP, WHEP: s.WHEP, WHIPToken: s.PublisherToken, WHEPTokens: s.ViewerTokens,
		Subscribers: 2, Rates: []int{400}, Warmup: 200 * time.Millisecond, Step: time.Second, Settle: 300 * time.Millisecond,
		SFUCPU: SelfCPU, SFUForwarded: func() (float64, error) { return ForwardedPackets(s.Metrics) }, Log: io.Discard,
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Joins) != 2 || len(res.Steps) != 1 {
		t.Fatalf("want 2 joins and 1 step, got %+v", res)
	}
	st := res.Steps[0]
	// Loss thresholds belong to the benchmark; here, under a busy CI
	// machine, it is enough that most packets reached both subscribers.
	if st.Sent < 100 || st.Received < st.Sent {
		t.Fatalf("sent %d, received %d by 2 subscribers", st.Sent, st.Received)
	}
	if st.LatP50 <= 0 || st.LatP50 > time.Second || st.SFUForwarded <= 0 {
		t.Fatalf("implausible step: %+v", st)
	}
	for _, j := range res.Joins {
		if j.FirstPacket <= 0 || j.Signal <= 0 {
			t.Fatalf("implausible join: %+v", j)
		}
	}
}

func TestRejectsBadConfig(t *testing.T) {
	for _, c := range []Config{
		{WHIP: "http://x/whip"},
		{PayloadBytes: 10},
		{Codec: "av1"},
		{Rates: []int{0}},
	} {
		if _, err := Run(context.Background(), c); err == nil {
			t.Errorf("config %+v accepted", c)
		}
	}
}

// TestProbeThroughChroomSFU: a QoS probe through an in-process Chroom SFU
// on loopback connects and gets its stream back whole; a probe with a
// grant the node refuses is not connected and says why.
func TestProbeThroughChroomSFU(t *testing.T) {
	if testing.Short() {
		t.Skip("starts WebRTC sessions")
	}
	s, err := StartSFU(SFUOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	m := Probe(context.Background(), ProbeConfig{WHIP: s.WHIP, WHEP: s.WHEP, PublishToken: s.PublisherToken, ViewToken: s.ViewerTokens[0],
		Duration: 2 * time.Second, TargetKbps: 400})
	if !m.Connected || m.Error != "" {
		t.Fatalf("probe not connected: %+v", m)
	}
	// Loopback loses nothing the machine does not drop; a busy CI machine may.
	if m.LossPermille > 50 || m.BitrateKbps < 300 || m.BitrateKbps > 450 || m.TargetKbps != 400 || m.SetupMs == 0 || m.RttMs > 500 {
		t.Fatalf("implausible probe: %+v", m)
	}
	bad := Probe(context.Background(), ProbeConfig{WHIP: s.WHIP, WHEP: s.WHEP, PublishToken: "not-a-grant", ViewToken: s.ViewerTokens[1], Duration: time.Second})
	if bad.Connected || bad.Error == "" {
		t.Fatalf("a refused grant must give a failed probe with a reason: %+v", bad)
	}
	t.Logf("probe: %+v; refused: %s", m, bad.Error)
}

func TestParseICELink(t *testing.T) {
	srv, ok := parseICELink(`<turn:198.51.100.7:3478?transport=udp>; rel="ice-server"; username="1767225600:guest-ab\"c"; credential="s3cr=t"; credential-type="password"`)
	if !ok || srv.URLs[0] != "turn:198.51.100.7:3478?transport=udp" || srv.Username != `1767225600:guest-ab"c` || srv.Credential != "s3cr=t" {
		t.Fatalf("got %+v, %v", srv, ok)
	}
	if _, ok := parseICELink(`</whip/123>; rel="self"`); ok {
		t.Fatal("a link that is not rel=ice-server was taken")
	}
	if _, ok := parseICELink(`garbage`); ok {
		t.Fatal("garbage was taken")
	}
}
