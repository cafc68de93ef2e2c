package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/pion/webrtc/v4"
)

// Config is one load-test scenario: one WHIP publisher, N WHEP
// subscribers, and a step search over aggregate forwarded packet rates.
type Config struct {
	// Label names the target in reports ("chroom", "pion-whip-whep").
	Label string
	// WHIP and WHEP are the endpoints; both empty means direct mode (no
	// SFU: the publisher's track is sent straight to each subscriber).
	WHIP, WHEP string
	// WHIPToken and WHEPToken are sent as Authorization: Bearer.
	WHIPToken, WHEPToken string
	// WHEPTokens, if set, give subscriber i the token WHEPTokens[i] (a
	// Chroom node admits one live session per grant).
	WHEPTokens []string
	// Subscribers is N (default 10).
	Subscribers int
	// Rates are the aggregate forwarded packet rates to try, in packets/s
	// summed over subscribers; the publisher sends rate/N packets/s.
	Rates []int
	// Warmup is the time at each new rate before measuring (default 1 s).
	Warmup time.Duration
	// Step is the measuring window per rate (default 5 s).
	Step time.Duration
	// Drain is how long after a window late packets still count (default 500 ms).
	Drain time.Duration
	// Settle is how long the publisher streams before the first subscriber
	// joins (default 1 s): a WHEP session subscribes only to tracks that are
	// published when it starts, and a Pion SFU sees a track (OnTrack) only
	// once its first packet arrived.
	Settle time.Duration
	// PayloadBytes is the RTP payload size (default 1100).
	PayloadBytes int
	// Codec is "vp8" (default) or "h264".
	Codec string
	// KeyframeEvery makes every Nth packet keyframe-looking (1 = all,
	// the default; 0 = only after a PLI/FIR). The rest look like delta frames.
	KeyframeEvery int
	// LossThreshold is the highest loss that passes a rate, as a fraction
	// (default 0.001 = 0.1 %).
	LossThreshold float64
	// StopOnLoss ends the search at the first rate that fails.
	StopOnLoss bool
	// MaxOtherCores: a window during which other processes used more CPU
	// than this (in cores, from /proc/stat) is measured again, up to
	// Retries times; 0 disables the check.
	MaxOtherCores float64
	Retries       int
	// SFUCPU returns the SFU process's cumulative CPU time; nil when
	// unknown (direct mode, or an SFU without a known PID).
	SFUCPU func() (time.Duration, error)
	// SFUCPUNote says what SFUCPU measures.
	SFUCPUNote string
	// SFUForwarded returns the SFU's own forwarded-packets counter (nil
	// when the SFU has none, e.g. Pion's example).
	SFUForwarded func() (float64, error)
	Client       ClientOptions
	// Log receives progress lines (default stderr).
	Log io.Writer
}

func (c *Config) defaults() error {
	if c.Subscribers <= 0 {
		c.Subscribers = 10
	}
	if len(c.Rates) == 0 {
		c.Rates = []int{5000, 10000, 20000, 30000, 50000, 70000, 100000}
	}
	if c.Warmup <= 0 {
		c.Warmup = time.Second
	}
	if c.Step <= 0 {
		c.Step = 5 * time.Second
	}
	if c.Drain <= 0 {
		c.Drain = 500 * time.Millisecond
	}
	if c.Settle <= 0 {
		c.Settle = time.Second
	}
	if c.PayloadBytes == 0 {
		c.PayloadBytes = 1100
	}
	if c.PayloadBytes < MinPayloadBytes || c.PayloadBytes > 1200 {
		return fmt.Errorf("payload must be %d–1200 bytes, got %d", MinPayloadBytes, c.PayloadBytes)
	}
	if c.Codec == "" {
		c.Codec = "vp8"
	}
	if c.Codec != "vp8" && c.Codec != "h264" {
		return fmt.Errorf("codec must be vp8 or h264, got %q", c.Codec)
	}
	if c.KeyframeEvery < 0 {
		return errors.New("keyframe interval must be ≥ 0")
	}
	if c.LossThreshold <= 0 {
		c.LossThreshold = 0.001
	}
	if c.Log == nil {
		c.Log = os.Stderr
	}
	if (c.WHIP == "") != (c.WHEP == "") {
		return errors.New("give both WHIP and WHEP endpoints, or neither (direct mode)")
	}
	for _, r := range c.Rates {
		if r <= 0 {
			return fmt.Errorf("rates must be positive, got %d", r)
		}
	}
	return nil
}

// JoinStat is one subscriber's join, measured from the moment it starts
// creating its PeerConnection.
type JoinStat struct {
	Subscriber int `json:"subscriber"`
	// Gather is offer creation with every host candidate.
	Gather time.Duration `json:"gather_ns"`
	// Signal is the WHEP POST round trip (the server gathers its own
	// candidates before it answers).
	Signal time.Duration `json:"signal_ns"`
	// Connected is ICE + DTLS done (PeerConnection connected).
	Connected time.Duration `json:"connected_ns"`
	// FirstPacket is the first RTP packet read.
	FirstPacket time.Duration `json:"first_packet_ns"`
	// FirstKeyframe is the first keyframe-looking packet (0 if none in 10 s).
	FirstKeyframe time.Duration `json:"first_keyframe_ns"`
}

// SubStep is one subscriber's figures in one step.
type SubStep struct {
	Received uint64  `json:"received"`
	LossPct  float64 `json:"loss_pct"`
}

// Step is one rate of the step search.
type Step struct {
	// TargetPPS is the aggregate forwarded rate asked for (packets/s).
	TargetPPS int `json:"target_pps"`
	// PublisherPPS is the publisher's achieved send rate (packets/s).
	PublisherPPS float64       `json:"publisher_pps"`
	Window       time.Duration `json:"window_ns"`
	Sent         uint64        `json:"sent"`
	// Received counts packets received by all subscribers (first arrivals).
	Received uint64 `json:"received"`
	// ForwardedPPS is Received per second of window.
	ForwardedPPS float64   `json:"forwarded_pps"`
	LossMaxPct   float64   `json:"loss_max_pct"`
	LossMeanPct  float64   `json:"loss_mean_pct"`
	PerSub       []SubStep `json:"per_subscriber"`
	// Latency: receive time − send stamp over every received packet.
	LatP50  time.Duration `json:"latency_p50_ns"`
	LatP99  time.Duration `json:"latency_p99_ns"`
	LatP999 time.Duration `json:"latency_p999_ns"`
	LatMax  time.Duration `json:"latency_max_ns"`
	// SFUCPU is the SFU's CPU time over the window (0 if unknown).
	SFUCPU time.Duration `json:"sfu_cpu_ns"`
	// SFUCores is SFUCPU per second of window.
	SFUCores float64 `json:"sfu_cores"`
	// PerCPUSecond is Received per SFU CPU-second.
	PerCPUSecond float64 `json:"forwarded_per_sfu_cpu_second"`
	// ClientCores is this process's CPU per second of window.
	ClientCores float64 `json:"client_cores"`
	// SFUForwarded is the SFU's own count of packets it forwarded during
	// the window (-1 if unknown): with Received it tells loss before and
	// after the SFU's send apart.
	SFUForwarded float64 `json:"sfu_forwarded"`
	// UDPRcvbufErrors and UDPSndbufErrors are the machine's UDP datagrams
	// dropped for full socket buffers during the window (/proc/net/snmp).
	UDPRcvbufErrors uint64 `json:"udp_rcvbuf_errors"`
	UDPSndbufErrors uint64 `json:"udp_sndbuf_errors"`
	// SoftirqCores is the machine's soft-interrupt time per second of
	// window (loopback packet delivery, charged to no process).
	SoftirqCores float64 `json:"softirq_cores"`
	// OtherCores is the machine's busy time per second of window minus
	// the SFU, this process and soft interrupts: other work sharing the
	// machine (only meaningful when the SFU's CPU is known).
	OtherCores float64 `json:"other_cores"`
	// Attempts is how many windows were measured (the last one counts).
	Attempts int `json:"attempts"`
	// Disturbed marks a window where other processes still used more than
	// MaxOtherCores after every retry.
	Disturbed bool `json:"disturbed"`
	Pass      bool `json:"pass"`
}

// Result is a whole run.
type Result struct {
	Label         string     `json:"label"`
	Target        string     `json:"target"`
	Subscribers   int        `json:"subscribers"`
	PayloadBytes  int        `json:"payload_bytes"`
	Codec         string     `json:"codec"`
	KeyframeEvery int        `json:"keyframe_every"`
	SFUCPUNote    string     `json:"sfu_cpu_note"`
	Machine       string     `json:"machine"`
	Joins         []JoinStat `json:"joins"`
	Steps         []Step     `json:"steps"`
	// MaxPassPPS is the highest target rate whose worst subscriber lost at
	// most the threshold (0 if none).
	MaxPassPPS       int     `json:"max_pass_pps"`
	LossThresholdPct float64 `json:"loss_threshold_pct"`
	PublisherPLIs    uint64  `json:"publisher_plis"`
	Foreign          uint64  `json:"foreign_packets"`
}

// Machine describes this machine for reports.
func Machine() string {
	model := ""
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "model name") {
				if i := strings.Index(l, ":"); i >= 0 {
					model = strings.TrimSpace(l[i+1:])
				}
				break
			}
		}
	}
	load := ""
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		f := strings.Fields(string(b))
		if len(f) >= 3 {
			load = "load " + strings.Join(f[:3], " ")
		}
	}
	return fmt.Sprintf("%d CPUs (%s), %s, %s/%s, %s", runtime.NumCPU(), model, runtime.Version(), runtime.GOOS, runtime.GOARCH, load)
}

// Run performs the scenario and returns its figures.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	logf := func(format string, a ...any) { fmt.Fprintf(cfg.Log, format+"\n", a...) }
	api, err := newClientAPI(cfg.Client)
	if err != nil {
		return nil, err
	}
	res := &Result{Label: cfg.Label, Target: cfg.WHIP + " " + cfg.WHEP, Subscribers: cfg.Subscribers, PayloadBytes: cfg.PayloadBytes,
		Codec: cfg.Codec, KeyframeEvery: cfg.KeyframeEvery, SFUCPUNote: cfg.SFUCPUNote, Machine: Machine(), LossThresholdPct: cfg.LossThreshold * 100}
	direct := cfg.WHIP == ""
	if direct {
		res.Target = "direct (no SFU)"
	}

	// Publisher.
	var pub *publisher
	var whepExchange exchangeFunc
	var directPCs []*webrtc.PeerConnection
	var dmu sync.Mutex
	if direct {
		track, err := newTrack(cfg.Codec)
		if err != nil {
			return nil, err
		}
		pub = newPublisher(track, &cfg)
		whepExchange = func(ctx context.Context, offer string) (string, string, error) {
			pc, err := api.NewPeerConnection(webrtc.Configuration{})
			if err != nil {
				return "", "", err
			}
			dmu.Lock()
			directPCs = append(directPCs, pc)
			dmu.Unlock()
			sender, err := pc.AddTrack(track)
			if err != nil {
				return "", "", err
			}
			go pub.readRTCP(sender)
			if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
				return "", "", err
			}
			ans, err := pc.CreateAnswer(nil)
			if err != nil {
				return "", "", err
			}
			done := webrtc.GatheringCompletePromise(pc)
			if err := pc.SetLocalDescription(ans); err != nil {
				return "", "", err
			}
			<-done
			return pc.LocalDescription().SDP, "", nil
		}
		defer func() {
			for _, pc := range directPCs {
				_ = pc.Close()
			}
		}()
	} else {
		pub, err = connectPublisher(ctx, api, httpExchange(cfg.WHIP, cfg.WHIPToken), &cfg)
		if err != nil {
			return nil, err
		}
		whepExchange = nil // per subscriber, below
		logf("publisher connected (%s, %d-byte payloads)", cfg.Codec, cfg.PayloadBytes)
	}
	pub.setRate(float64(cfg.Rates[0]) / float64(cfg.Subscribers))
	go pub.run()
	defer pub.close(cfg.WHIPToken)
	if !direct && !sleepCtx(ctx, cfg.Settle) {
		return nil, ctx.Err()
	}

	// Subscribers join one at a time while the publisher streams.
	subs := make([]*subscriber, 0, cfg.Subscribers)
	whepToken := func(i int) string {
		if i < len(cfg.WHEPTokens) {
			return cfg.WHEPTokens[i]
		}
		return cfg.WHEPToken
	}
	defer func() {
		for i, s := range subs {
			s.close(whepToken(i))
		}
	}()
	for i := 0; i < cfg.Subscribers; i++ {
		exchange := whepExchange
		if !direct {
			exchange = httpExchange(cfg.WHEP, whepToken(i))
		}
		s, err := connectSubscriber(ctx, api, exchange, i, cfg.Codec)
		if err != nil {
			return nil, err
		}
		subs = append(subs, s)
		res.Joins = append(res.Joins, s.join)
	}
	logf("%d subscribers joined; join-to-first-packet p50 %s", len(subs), fmtDur(joinQ(res.Joins, func(j JoinStat) time.Duration { return j.FirstPacket }, 0.5)))

	selfCPU := func() time.Duration { d, _ := SelfCPU(); return d }
	// measure runs one window at the current rate.
	measure := func(rate int) (Step, error) {
		var err error
		var cpu0, cpu1 time.Duration
		if cfg.SFUCPU != nil {
			if cpu0, err = cfg.SFUCPU(); err != nil {
				return Step{}, fmt.Errorf("read SFU CPU: %w", err)
			}
		}
		fwd0 := -1.0
		if cfg.SFUForwarded != nil {
			fwd0, _ = cfg.SFUForwarded()
		}
		udp0, _ := ReadUDPCounters()
		m0, _ := ReadMachineCPU()
		self0 := selfCPU()
		t0 := time.Now()
		a := pub.next.Load()
		if !sleepCtx(ctx, cfg.Step) {
			return Step{}, ctx.Err()
		}
		b := pub.next.Load()
		t1 := time.Now()
		self1 := selfCPU()
		m1, _ := ReadMachineCPU()
		if cfg.SFUCPU != nil {
			if cpu1, err = cfg.SFUCPU(); err != nil {
				return Step{}, fmt.Errorf("read SFU CPU: %w", err)
			}
		}
		udp1, _ := ReadUDPCounters()
		fwd1 := -1.0
		if cfg.SFUForwarded != nil {
			fwd1, _ = cfg.SFUForwarded()
		}
		if b == a {
			return Step{}, fmt.Errorf("the publisher sent nothing at %d packets/s", rate)
		}
		b-- // last counter of the window
		sleepCtx(ctx, cfg.Drain)
		win := t1.Sub(t0)
		st := Step{TargetPPS: rate, Window: win, Sent: b - a + 1, SFUForwarded: -1,
			UDPRcvbufErrors: udp1.RcvbufErrors - udp0.RcvbufErrors, UDPSndbufErrors: udp1.SndbufErrors - udp0.SndbufErrors}
		if fwd0 >= 0 && fwd1 >= 0 {
			st.SFUForwarded = fwd1 - fwd0
		}
		st.PublisherPPS = float64(st.Sent) / win.Seconds()
		var lats []time.Duration
		for _, s := range subs {
			rs := s.take(a, b)
			loss := 100 * (1 - float64(len(rs))/float64(st.Sent))
			st.PerSub = append(st.PerSub, SubStep{Received: uint64(len(rs)), LossPct: loss})
			st.Received += uint64(len(rs))
			st.LossMeanPct += loss / float64(len(subs))
			st.LossMaxPct = max(st.LossMaxPct, loss)
			for _, r := range rs {
				lats = append(lats, r.latency)
			}
		}
		slices.Sort(lats)
		st.LatP50, st.LatP99, st.LatP999 = percentile(lats, 0.5), percentile(lats, 0.99), percentile(lats, 0.999)
		if len(lats) > 0 {
			st.LatMax = lats[len(lats)-1]
		}
		st.ForwardedPPS = float64(st.Received) / win.Seconds()
		st.ClientCores = (self1 - self0).Seconds() / win.Seconds()
		st.SoftirqCores = (m1.Softirq - m0.Softirq).Seconds() / win.Seconds()
		if cfg.SFUCPU != nil {
			st.SFUCPU = cpu1 - cpu0
			st.SFUCores = st.SFUCPU.Seconds() / win.Seconds()
			if st.SFUCPU > 0 {
				st.PerCPUSecond = float64(st.Received) / st.SFUCPU.Seconds()
			}
		}
		if cfg.SFUCPU != nil || direct {
			st.OtherCores = max(0, (m1.Busy-m0.Busy).Seconds()/win.Seconds()-st.SoftirqCores-st.SFUCores-st.ClientCores)
		}
		return st, nil
	}
	for _, rate := range cfg.Rates {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		pub.setRate(float64(rate) / float64(cfg.Subscribers))
		if !sleepCtx(ctx, cfg.Warmup) {
			return res, ctx.Err()
		}
		var st Step
		for attempt := 0; ; attempt++ {
			if st, err = measure(rate); err != nil {
				return res, err
			}
			st.Attempts = attempt + 1
			if cfg.MaxOtherCores <= 0 || st.OtherCores <= cfg.MaxOtherCores || attempt >= cfg.Retries {
				break
			}
			logf("%6d pps target: window disturbed by other processes (%.2f cores > %.2f); measuring again", rate, st.OtherCores, cfg.MaxOtherCores)
		}
		st.Disturbed = cfg.MaxOtherCores > 0 && st.OtherCores > cfg.MaxOtherCores
		st.Pass = st.LossMaxPct <= cfg.LossThreshold*100
		res.Steps = append(res.Steps, st)
		line := fmt.Sprintf("%6d pps target: sent %.0f/s, received %.0f/s, loss max %.3f%% mean %.3f%%, latency p50 %s p99 %s, clients %.2f cores",
			rate, st.PublisherPPS, st.ForwardedPPS, st.LossMaxPct, st.LossMeanPct, fmtDur(st.LatP50), fmtDur(st.LatP99), st.ClientCores)
		if cfg.SFUCPU != nil {
			line += fmt.Sprintf(", SFU %.2f cores (%s fwd/CPU-s)", st.SFUCores, fmtCount(st.PerCPUSecond))
		}
		if st.SFUForwarded >= 0 {
			line += fmt.Sprintf(", SFU counted %.0f forwarded of %d", st.SFUForwarded, st.Sent*uint64(len(subs)))
		}
		logf("%s; machine: UDP rcvbuf drops %d, softirq %.2f cores, other processes %.2f cores", line, st.UDPRcvbufErrors, st.SoftirqCores, st.OtherCores)
		if st.Pass && rate > res.MaxPassPPS {
			res.MaxPassPPS = rate
		}
		if !st.Pass && cfg.StopOnLoss {
			break
		}
	}
	res.PublisherPLIs = pub.plis.Load()
	for _, s := range subs {
		res.Foreign += s.foreign.Load()
	}
	return res, nil
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// percentile of sorted values (nearest rank).
func percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.5) - 1
	i = max(0, min(i, len(sorted)-1))
	return sorted[i]
}

func fmtDur(d time.Duration) string {
	switch {
	case d == 0:
		return "–"
	case d < time.Millisecond:
		return fmt.Sprintf("%.3f ms", float64(d)/1e6)
	case d < time.Second:
		return fmt.Sprintf("%.2f ms", float64(d)/1e6)
	default:
		return fmt.Sprintf("%.2f s", d.Seconds())
	}
}

func fmtCount(v float64) string {
	switch {
	case v == 0:
		return "–"
	case v >= 1e6:
		return fmt.Sprintf("%.2f M", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%.0f k", v/1e3)
	default:
		return fmt.Sprintf("%.0f", v)
	}
}
