package bench

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/pion/webrtc/v4"
)

// ProbeConfig is one QoS probe of a media node (x/verification README,
// "QoS probes"): a WHIP publisher sends a synthetic video stream at
// TargetKbps and a WHEP viewer receives it back through the node — through
// its TURN relay when it advertises one — as two ordinary participants of
// one room would.
type ProbeConfig struct {
	// WHIP and WHEP are the node's endpoints; PublishToken and ViewToken
	// the two join grants (Authorization: Bearer).
	WHIP, WHEP              string
	PublishToken, ViewToken string
	// Duration is the measuring window (default 10 s).
	Duration time.Duration
	// TargetKbps is the bitrate sent (default 500 kbit/s, payload bits).
	TargetKbps int
	// PayloadBytes is the RTP payload size (default 1100).
	PayloadBytes int
	Client       ClientOptions
}

// ProbeMeasurement is what a probe measured. Times are milliseconds.
type ProbeMeasurement struct {
	// Connected: the stream came back through the node; else Error says
	// what failed (join, connection, no media).
	Connected bool   `json:"connected"`
	Error     string `json:"error,omitempty"`
	// SetupMs is the publisher's start → first packet back at the viewer.
	SetupMs uint32 `json:"setup_ms"`
	// RttMs is the median time from sending a packet to receiving it back
	// through the node (both on the prober's clock): the path there and
	// back plus the node's forwarding.
	RttMs uint32 `json:"rtt_ms"`
	// JitterMs is the median change of that time between consecutive
	// packets received (RFC 3550 §6.4.1's D, unsmoothed).
	JitterMs uint32 `json:"jitter_ms"`
	// LossPermille is the share of packets sent in the window that never
	// came back, in thousandths: the path's loss there and back, before
	// any retransmission (the probe's clients negotiate no NACK).
	LossPermille uint32 `json:"loss_permille"`
	// BitrateKbps is the payload bitrate received back; TargetKbps what was sent.
	BitrateKbps uint32 `json:"bitrate_kbps"`
	TargetKbps  uint32 `json:"target_kbps"`
	// Relayed: the viewer received through the node's TURN relay (UDP),
	// which the node advertised on its WHIP answer.
	Relayed bool `json:"relayed"`
}

// Probe runs one QoS probe. It never fails: a probe that cannot join,
// connect or receive media returns Connected false and the reason.
func Probe(ctx context.Context, cfg ProbeConfig) ProbeMeasurement {
	if cfg.Duration <= 0 {
		cfg.Duration = 10 * time.Second
	}
	if cfg.TargetKbps <= 0 {
		cfg.TargetKbps = 500
	}
	if cfg.PayloadBytes == 0 {
		cfg.PayloadBytes = 1100
	}
	m := ProbeMeasurement{TargetKbps: uint32(cfg.TargetKbps)}
	fail := func(err error) ProbeMeasurement {
		m.Connected, m.Error = false, err.Error()
		if len(m.Error) > 256 {
			m.Error = m.Error[:256]
		}
		return m
	}
	if cfg.PayloadBytes < MinPayloadBytes || cfg.PayloadBytes > 1200 {
		return fail(fmt.Errorf("payload must be %d–1200 bytes, got %d", MinPayloadBytes, cfg.PayloadBytes))
	}
	// The path's own loss: nothing is retransmitted (an SFU's NACK
	// retransmissions would hide up to tens of percent of loss, as
	// they hide it from a call at the price of delay and freezes).
	cfg.Client.NoRetransmission = true
	api, err := newClientAPI(cfg.Client)
	if err != nil {
		return fail(err)
	}
	// Every 30th packet looks like a keyframe (and any after a PLI), as
	// a camera's stream does about once a second at this rate.
	pcfg := &Config{Codec: "vp8", PayloadBytes: cfg.PayloadBytes, KeyframeEvery: 30}
	t0 := time.Now()
	var iceServers []webrtc.ICEServer
	pub, err := connectPublisher(ctx, api, httpExchangeLinks(cfg.WHIP, cfg.PublishToken, &iceServers), pcfg)
	if err != nil {
		return fail(err)
	}
	defer pub.close(cfg.PublishToken)
	pps := float64(cfg.TargetKbps) * 1000 / 8 / float64(cfg.PayloadBytes)
	pub.setRate(pps)
	go pub.run()
	// A WHEP viewer binds to the tracks published when it starts.
	if !sleepCtx(ctx, time.Second) {
		return fail(ctx.Err())
	}
	// The viewer goes through the node's TURN relay when the node offers
	// one (the WHIP answer's Link headers): relay only, so a broken relay
	// fails the probe.
	var turn []webrtc.ICEServer
	for _, srv := range iceServers {
		if len(srv.URLs) == 1 && strings.HasPrefix(srv.URLs[0], "turn:") && strings.Contains(srv.URLs[0], "transport=udp") {
			turn = append(turn, srv)
		}
	}
	pcConfig := webrtc.Configuration{}
	if len(turn) > 0 {
		pcConfig = webrtc.Configuration{ICEServers: turn, ICETransportPolicy: webrtc.ICETransportPolicyRelay}
		m.Relayed = true
	}
	sub, err := connectSubscriberWith(ctx, api, httpExchange(cfg.WHEP, cfg.ViewToken), 0, "vp8", pcConfig)
	if err != nil {
		if m.Relayed {
			err = fmt.Errorf("through the node's TURN relay: %w", err)
		}
		return fail(err)
	}
	defer sub.close(cfg.ViewToken)
	m.SetupMs = uint32(time.Since(t0).Milliseconds())

	a := pub.next.Load()
	if !sleepCtx(ctx, cfg.Duration) {
		return fail(ctx.Err())
	}
	b := pub.next.Load()
	if b <= a {
		return fail(errors.New("the publisher sent nothing"))
	}
	b--
	if !sleepCtx(ctx, 500*time.Millisecond) { // late packets still count
		return fail(ctx.Err())
	}
	recs := sub.take(a, b)
	sent := b - a + 1
	m.LossPermille = uint32((sent - uint64(len(recs))) * 1000 / sent)
	m.BitrateKbps = uint32(float64(len(recs)) * float64(cfg.PayloadBytes) * 8 / cfg.Duration.Seconds() / 1000)
	if len(recs) == 0 {
		return fail(fmt.Errorf("no packet of %d sent came back through the node", sent))
	}
	m.Connected = true
	slices.SortFunc(recs, func(x, y rec) int { return int(int64(x.counter) - int64(y.counter)) })
	lat := make([]time.Duration, len(recs))
	var diffs []time.Duration
	for i, r := range recs {
		lat[i] = r.latency
		if i > 0 {
			d := r.latency - recs[i-1].latency
			if d < 0 {
				d = -d
			}
			diffs = append(diffs, d)
		}
	}
	slices.Sort(lat)
	m.RttMs = uint32(percentile(lat, 0.5).Milliseconds())
	if len(diffs) > 0 {
		slices.Sort(diffs)
		m.JitterMs = uint32(percentile(diffs, 0.5).Milliseconds())
	}
	return m
}
