// Command chroom-loadtest measures a WebRTC SFU with Pion clients: one
// WHIP publisher sends synthetic VP8 (or H264) keyframe-looking RTP
// packets with a send timestamp in the payload, N WHEP subscribers record
// when each packet arrives, and a step search over packet rates reports
// loss, added latency, join-to-first-packet and forwarded packets per SFU
// CPU-second.
//
//	chroom-loadtest run                      # Chroom SFU in a child process
//	chroom-loadtest run --targets chroom,whipwhep,direct
//	chroom-loadtest sfu                      # serve a Chroom SFU, print its endpoints
//	chroom-loadtest clients --whip URL --whep URL [--token T] [--sfu-pid PID]
//	chroom-loadtest direct                   # clients only, no SFU (latency floor)
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/pion/logging"

	"github.com/chroom/chroom/medianode/bench"
)

const usage = `chroom-loadtest: load generator of Pion clients for WebRTC SFUs.

Scenario: 1 publisher (WHIP) sends synthetic video RTP packets — payload
starting 0x10 0x00 (a VP8 keyframe), or an H264 IDR NAL with --codec h264,
carrying an 8-byte counter and an 8-byte send time — paced in 1 ms ticks at
rate/N packets/s; N subscribers (WHEP) read RTP and record receive times.
For each aggregate forwarded rate (packets/s summed over subscribers) it
reports loss per subscriber, latency (receive time − send stamp; both ends
share this machine's clock), the SFU's CPU and forwarded packets per SFU
CPU-second, and the highest rate at which every subscriber lost ≤ 0.1 %.

Usage:
  chroom-loadtest run [flags]       Chroom SFU in a child process (default) and
                                    optionally Pion's whip-whep and a direct
                                    reference in the same run (--targets)
  chroom-loadtest clients [flags]   clients against any WHIP/WHEP endpoint
                                    (--whip URL --whep URL [--token T])
  chroom-loadtest sfu [flags]       serve a throwaway Chroom SFU; prints one JSON
                                    line {whip, whep, publisher_token,
                                    viewer_token, pid}; its CPU use at exit
  chroom-loadtest probe < REQUEST   one QoS probe of a media node (what an
                                    orchestrator runs for x/verification): reads
                                    {whip, whep, publish_token, view_token,
                                    duration_ms, target_kbps} as JSON on stdin,
                                    prints the measurement as one JSON line
  chroom-loadtest direct [flags]    no SFU: the publisher's track goes straight
                                    to each subscriber (client-stack floor)

Run 'chroom-loadtest <command> -h' for the flags of a command.
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "run":
		err = runCmd(os.Args[2:])
	case "clients":
		err = clientsCmd(os.Args[2:])
	case "sfu":
		err = sfuCmd(os.Args[2:])
	case "direct":
		err = directCmd(os.Args[2:])
	case "probe":
		err = probeCmd(os.Args[2:])
	case "-h", "-help", "--help", "help":
		fmt.Print(usage)
		return
	default:
		fmt.Fprintf(os.Stderr, "unknown command %q\n\n%s", os.Args[1], usage)
		os.Exit(2)
	}
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		fmt.Fprintln(os.Stderr, "chroom-loadtest:", err)
		os.Exit(1)
	}
}

// scenario holds the flags every client-running command shares.
type scenario struct {
	subscribers   int
	rates         string
	warmup        time.Duration
	step          time.Duration
	drain         time.Duration
	settle        time.Duration
	payload       int
	codec         string
	keyframeEvery int
	lossPct       float64
	stopOnLoss    bool
	maxOther      float64
	retries       int
	srtp          string
	jsonOut       string
	markdown      bool
	pionLog       string
}

func (s *scenario) register(fs *flag.FlagSet) {
	fs.IntVar(&s.subscribers, "subscribers", 10, "number of WHEP subscribers `N`")
	fs.StringVar(&s.rates, "rates", "5000,10000,20000,30000,50000,70000,100000", "aggregate forwarded packet rates to step through, in packets/s summed over subscribers (the publisher sends rate/N packets/s); comma-separated")
	fs.DurationVar(&s.warmup, "warmup", time.Second, "settling time at each new rate before measuring, as a duration such as 1s")
	fs.DurationVar(&s.step, "step", 5*time.Second, "measuring window per rate, as a duration such as 5s")
	fs.DurationVar(&s.drain, "drain", 500*time.Millisecond, "grace period after a window in which late packets still count, as a duration such as 500ms")
	fs.DurationVar(&s.settle, "settle", time.Second, "time the publisher streams before the first subscriber joins, as a duration such as 1s; WHEP sessions only get tracks already published when they start")
	fs.IntVar(&s.payload, "payload", 1100, "RTP payload size in `bytes` (30–1200)")
	fs.StringVar(&s.codec, "codec", "vp8", "publisher codec: vp8 or h264")
	fs.IntVar(&s.keyframeEvery, "keyframe-every", 1, "make every Nth packet keyframe-looking (1 = all; 0 = only after a PLI/FIR); the rest look like delta frames")
	fs.Float64Var(&s.lossPct, "loss-threshold", 0.1, "highest loss that passes a rate, in `percent` (worst subscriber)")
	fs.BoolVar(&s.stopOnLoss, "stop-on-loss", false, "stop the step search at the first rate that fails the loss threshold")
	fs.Float64Var(&s.maxOther, "max-other-cores", 0.2, "re-measure a window in which other processes on the machine used more than this many `cores` (from /proc/stat); 0 = never")
	fs.IntVar(&s.retries, "retries", 4, "how many times a disturbed window is measured again")
	fs.StringVar(&s.srtp, "srtp", "", "SRTP profiles the clients offer: '' (Pion default, AES-GCM first), gcm, or cm (AES_CM_128_HMAC_SHA1_80 only)")
	fs.StringVar(&s.jsonOut, "json", "", "also write the results as JSON to this `file`")
	fs.BoolVar(&s.markdown, "markdown", false, "also print a Markdown comparison table")
	fs.StringVar(&s.pionLog, "pion-log", "error", "Pion log level: disable, error, warn, info, debug")
}

func (s *scenario) config(label string) (bench.Config, error) {
	var rates []int
	for _, f := range strings.Split(s.rates, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		v, err := strconv.Atoi(strings.TrimSuffix(strings.ToLower(f), "k"))
		if err != nil {
			return bench.Config{}, fmt.Errorf("--rates: %q is not a number", f)
		}
		if strings.HasSuffix(strings.ToLower(f), "k") {
			v *= 1000
		}
		rates = append(rates, v)
	}
	lvl, err := pionLevel(s.pionLog)
	if err != nil {
		return bench.Config{}, err
	}
	return bench.Config{
		Label: label, Subscribers: s.subscribers, Rates: rates, Warmup: s.warmup, Step: s.step, Drain: s.drain, Settle: s.settle,
		PayloadBytes: s.payload, Codec: s.codec, KeyframeEvery: s.keyframeEvery, LossThreshold: s.lossPct / 100,
		StopOnLoss: s.stopOnLoss, MaxOtherCores: s.maxOther, Retries: s.retries, Client: bench.ClientOptions{SRTP: s.srtp, PionLogLevel: lvl},
	}, nil
}

func pionLevel(s string) (logging.LogLevel, error) {
	switch strings.ToLower(s) {
	case "disable", "off", "none":
		return logging.LogLevelDisabled, nil
	case "error", "":
		return logging.LogLevelError, nil
	case "warn":
		return logging.LogLevelWarn, nil
	case "info":
		return logging.LogLevelInfo, nil
	case "debug":
		return logging.LogLevelDebug, nil
	}
	return 0, fmt.Errorf("unknown Pion log level %q", s)
}

func newFlagSet(name, synopsis string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: chroom-loadtest %s\n\nFlags:\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}

func signalContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}

// report prints results and writes the JSON file and Markdown table.
func report(s *scenario, results []*bench.Result) error {
	for _, r := range results {
		bench.WriteText(os.Stdout, r)
		fmt.Println()
	}
	if s.markdown || len(results) > 1 {
		bench.WriteMarkdown(os.Stdout, results)
	}
	if s.jsonOut != "" {
		b, err := json.MarshalIndent(results, "", "  ")
		if err != nil {
			return err
		}
		return os.WriteFile(s.jsonOut, append(b, '\n'), 0o644)
	}
	return nil
}

func clientsCmd(args []string) error {
	fs := newFlagSet("clients", "clients --whip URL --whep URL [--token T] [--sfu-pid PID] [flags]")
	var s scenario
	s.register(fs)
	whip := fs.String("whip", "", "WHIP endpoint `URL` (POST an SDP offer to publish)")
	whep := fs.String("whep", "", "WHEP endpoint `URL` (POST an SDP offer to play)")
	token := fs.String("token", "", "bearer token for both endpoints (Authorization: Bearer T); empty sends none")
	whipToken := fs.String("whip-token", "", "bearer token for WHIP only (overrides --token)")
	whepToken := fs.String("whep-token", "", "bearer token for WHEP only (overrides --token); a Chroom node admits one live session per grant, so use --whep-tokens for more than one subscriber")
	whepTokens := fs.String("whep-tokens", "", "`FILE` with one WHEP bearer token per line, one per subscriber (overrides --whep-token)")
	pid := fs.Int("sfu-pid", 0, "`PID` of the SFU process, to measure its CPU time from /proc/PID/stat (0 = not measured)")
	label := fs.String("label", "target", "name of the target in reports")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *whip == "" || *whep == "" {
		fs.Usage()
		return errors.New("--whip and --whep are required")
	}
	cfg, err := s.config(*label)
	if err != nil {
		return err
	}
	cfg.WHIP, cfg.WHEP = *whip, *whep
	cfg.WHIPToken, cfg.WHEPToken = firstNonEmpty(*whipToken, *token), firstNonEmpty(*whepToken, *token)
	if *whepTokens != "" {
		raw, err := os.ReadFile(*whepTokens)
		if err != nil {
			return fmt.Errorf("--whep-tokens: %w", err)
		}
		for _, line := range strings.Split(string(raw), "\n") {
			if line = strings.TrimSpace(line); line != "" {
				cfg.WHEPTokens = append(cfg.WHEPTokens, line)
			}
		}
		if len(cfg.WHEPTokens) < cfg.Subscribers {
			return fmt.Errorf("--whep-tokens: %d tokens for %d subscribers (one grant per WHEP session)", len(cfg.WHEPTokens), cfg.Subscribers)
		}
	}
	if *pid > 0 {
		p := *pid
		cfg.SFUCPU = func() (time.Duration, error) { return bench.ProcCPU(p) }
		cfg.SFUCPUNote = fmt.Sprintf("/proc/%d/stat of the SFU process", p)
	}
	ctx, cancel := signalContext()
	defer cancel()
	r, err := bench.Run(ctx, cfg)
	if r != nil {
		if rerr := report(&s, []*bench.Result{r}); rerr != nil && err == nil {
			err = rerr
		}
	}
	return err
}

func directCmd(args []string) error {
	fs := newFlagSet("direct", "direct [flags]")
	var s scenario
	s.register(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := s.config("direct (no SFU)")
	if err != nil {
		return err
	}
	ctx, cancel := signalContext()
	defer cancel()
	r, err := bench.Run(ctx, cfg)
	if r != nil {
		if rerr := report(&s, []*bench.Result{r}); rerr != nil && err == nil {
			err = rerr
		}
	}
	return err
}

func sfuCmd(args []string) error {
	fs := newFlagSet("sfu", "sfu [flags]")
	udp := fs.String("udp", "127.0.0.1:0", "media UDP socket `address` (ICE UDP mux)")
	httpAddr := fs.String("http", "127.0.0.1:0", "WHIP/WHEP HTTP listen `address`")
	pprofAddr := fs.String("pprof", "", "serve net/http/pprof on this `address` (e.g. 127.0.0.1:6060); empty = off")
	stdinEOF := fs.Bool("exit-on-stdin-eof", false, "exit when stdin closes (used by 'run' for its child)")
	pionLog := fs.String("pion-log", "error", "Pion log level: disable, error, warn, info, debug")
	udpBuf := fs.Int("udp-buffer", 0, "kernel receive/send buffer of the media socket in `bytes` (0 = system default, as the media node uses)")
	batch := fs.Bool("batch-writes", true, "send the media socket's datagrams in batches (sendmmsg), as the media node does; false: one sendto per datagram")
	if err := fs.Parse(args); err != nil {
		return err
	}
	lvl, err := pionLevel(*pionLog)
	if err != nil {
		return err
	}
	s, err := bench.StartSFU(bench.SFUOptions{UDPAddr: *udp, HTTPAddr: *httpAddr, PionLogLevel: lvl, UDPBufferBytes: *udpBuf, UnbatchedWrites: !*batch})
	if err != nil {
		return err
	}
	if *pprofAddr != "" {
		mux := http.NewServeMux()
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
		ln, err := net.Listen("tcp", *pprofAddr)
		if err != nil {
			s.Close()
			return err
		}
		go func() { _ = http.Serve(ln, mux) }()
	}
	ep := s.Endpoints
	ep.PID = os.Getpid()
	line, _ := json.Marshal(ep)
	fmt.Println(string(line))
	ctx, cancel := signalContext()
	defer cancel()
	if *stdinEOF {
		go func() {
			_, _ = io.Copy(io.Discard, os.Stdin)
			cancel()
		}()
	}
	<-ctx.Done()
	s.Close()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err == nil {
		fmt.Fprintf(os.Stderr, "sfu: CPU over its life: user %.2f s, system %.2f s\n",
			time.Duration(ru.Utime.Nano()).Seconds(), time.Duration(ru.Stime.Nano()).Seconds())
	}
	return nil
}

func runCmd(args []string) error {
	fs := newFlagSet("run", "run [--targets chroom,whipwhep,direct] [flags]")
	var s scenario
	s.register(fs)
	targets := fs.String("targets", "chroom", "comma-separated targets measured one after another with the same settings: chroom (Chroom SFU in a child 'chroom-loadtest sfu' process), chroom-sendto (the same with one sendto per datagram instead of batched sendmmsg), chroom-inproc (same SFU inside this process; CPU then includes the clients), whipwhep (Pion's examples/whip-whep binary, started by this command), direct (no SFU)")
	sfuPprof := fs.String("sfu-pprof", "", "serve net/http/pprof from the Chroom SFU child on this `address` (e.g. 127.0.0.1:6060)")
	wwCmd := fs.String("whipwhep-bin", "/tmp/whipwhep", "path of the whip-whep example binary (go build -o /tmp/whipwhep github.com/pion/webrtc/v4/examples/whip-whep)")
	wwURL := fs.String("whipwhep-url", "http://127.0.0.1:8080", "base `URL` the whip-whep example listens on (it hard-codes :8080)")
	wwCodec := fs.String("whipwhep-codec", "h264", "publisher codec for whip-whep (the example accepts only H264 video)")
	udpBuf := fs.Int("sfu-udp-buffer", 0, "kernel receive/send buffer of the Chroom SFU's media socket in `bytes` (0 = system default, as the media node uses)")
	pause := fs.Duration("pause", 3*time.Second, "idle time between targets, so one target's teardown does not overlap the next, as a duration such as 3s")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx, cancel := signalContext()
	defer cancel()
	var results []*bench.Result
	for i, t := range strings.Split(*targets, ",") {
		t = strings.TrimSpace(t)
		if i > 0 && !sleep(ctx, *pause) {
			break
		}
		cfg, err := s.config(t)
		if err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "--- target %s\n", t)
		var r *bench.Result
		switch t {
		case "chroom":
			r, err = runChroomChild(ctx, cfg, *sfuPprof, s.pionLog, *udpBuf, true)
		case "chroom-sendto":
			r, err = runChroomChild(ctx, cfg, *sfuPprof, s.pionLog, *udpBuf, false)
		case "chroom-inproc":
			r, err = runChroomInproc(ctx, cfg, *udpBuf)
		case "whipwhep":
			cfg.Label = "pion-whip-whep"
			cfg.Codec = *wwCodec
			r, err = runWhipWhep(ctx, cfg, *wwCmd, *wwURL)
		case "direct":
			cfg.Label = "direct (no SFU)"
			r, err = bench.Run(ctx, cfg)
		default:
			return fmt.Errorf("unknown target %q: want chroom, chroom-sendto, chroom-inproc, whipwhep or direct", t)
		}
		if r != nil {
			results = append(results, r)
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "target %s: %v\n", t, err)
			if ctx.Err() != nil {
				break
			}
		}
	}
	if len(results) == 0 {
		return errors.New("no target produced results")
	}
	return report(&s, results)
}

func sleep(ctx context.Context, d time.Duration) bool {
	select {
	case <-time.After(d):
		return true
	case <-ctx.Done():
		return false
	}
}

// runChroomChild starts 'chroom-loadtest sfu' as a child process, so its
// CPU time (from /proc/<pid>/stat) excludes the clients.
func runChroomChild(ctx context.Context, cfg bench.Config, pprofAddr, pionLog string, udpBuf int, batch bool) (*bench.Result, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	args := []string{"sfu", "--exit-on-stdin-eof", "--pion-log", pionLog, "--udp-buffer", strconv.Itoa(udpBuf), "--batch-writes=" + strconv.FormatBool(batch)}
	if pprofAddr != "" {
		args = append(args, "--pprof", pprofAddr)
	}
	cmd := exec.Command(exe, args...)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	defer func() {
		stdin.Close()
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	}()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		return nil, fmt.Errorf("the SFU child printed no endpoints: %w", err)
	}
	var ep bench.Endpoints
	if err := json.Unmarshal([]byte(line), &ep); err != nil {
		return nil, fmt.Errorf("the SFU child's endpoints: %w", err)
	}
	if !batch {
		cfg.Label = "chroom (sendto)"
	} else {
		cfg.Label = "chroom"
	}
	cfg.WHIP, cfg.WHEP, cfg.WHIPToken, cfg.WHEPTokens = ep.WHIP, ep.WHEP, ep.PublisherToken, ep.ViewerTokens
	pid := cmd.Process.Pid
	cfg.SFUCPU = func() (time.Duration, error) { return bench.ProcCPU(pid) }
	cfg.SFUCPUNote = "/proc/<pid>/stat of the SFU child process (clients excluded)"
	if ep.Metrics != "" {
		cfg.SFUForwarded = func() (float64, error) { return bench.ForwardedPackets(ep.Metrics) }
	}
	return bench.Run(ctx, cfg)
}

// runChroomInproc runs the SFU inside this process; the CPU figure then
// includes the clients' own cost.
func runChroomInproc(ctx context.Context, cfg bench.Config, udpBuf int) (*bench.Result, error) {
	s, err := bench.StartSFU(bench.SFUOptions{PionLogLevel: cfg.Client.PionLogLevel, UDPBufferBytes: udpBuf})
	if err != nil {
		return nil, err
	}
	defer s.Close()
	cfg.Label = "chroom (in-process)"
	cfg.WHIP, cfg.WHEP, cfg.WHIPToken, cfg.WHEPTokens = s.WHIP, s.WHEP, s.PublisherToken, s.ViewerTokens
	cfg.SFUCPU = bench.SelfCPU
	cfg.SFUCPUNote = "getrusage of this process: SFU AND clients"
	cfg.SFUForwarded = func() (float64, error) { return bench.ForwardedPackets(s.Metrics) }
	return bench.Run(ctx, cfg)
}

// runWhipWhep starts Pion's whip-whep example (in an empty directory: it
// serves its working directory on /), waits for :8080 and
// measures it; its CPU comes from /proc/<pid>/stat.
func runWhipWhep(ctx context.Context, cfg bench.Config, bin, base string) (*bench.Result, error) {
	if _, err := os.Stat(bin); err != nil {
		return nil, fmt.Errorf("whip-whep binary: %w (build it with: go build -o %s github.com/pion/webrtc/v4/examples/whip-whep)", err, bin)
	}
	dir, err := os.MkdirTemp("", "whipwhep-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	cmd := exec.Command(bin)
	cmd.Dir = dir           // it serves its working directory on /; give it an empty one
	cmd.Stdout = io.Discard // it prints a line per request and ICE state change
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get(base + "/")
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("whip-whep did not listen on %s within 10 s: %w", base, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	cfg.WHIP, cfg.WHEP = base+"/whip", base+"/whep"
	pid := cmd.Process.Pid
	cfg.SFUCPU = func() (time.Duration, error) { return bench.ProcCPU(pid) }
	cfg.SFUCPUNote = "/proc/<pid>/stat of the whip-whep process (clients excluded)"
	return bench.Run(ctx, cfg)
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// probeRequest is what `chroom-loadtest probe` reads on stdin (the grants
// stay out of the process list).
type probeRequest struct {
	WHIP         string `json:"whip"`
	WHEP         string `json:"whep"`
	PublishToken string `json:"publish_token"`
	ViewToken    string `json:"view_token"`
	DurationMs   int64  `json:"duration_ms"`
	TargetKbps   int    `json:"target_kbps"`
}

// probeCmd runs one QoS probe (bench.Probe) and prints its measurement.
func probeCmd(args []string) error {
	fs := flag.NewFlagSet("probe", flag.ExitOnError)
	fs.Usage = func() {
		fmt.Fprint(os.Stderr, `Usage: chroom-loadtest probe < REQUEST.json

Runs one QoS probe of a media node: a WHIP publisher sends a synthetic
stream at target_kbps, a WHEP viewer receives it back through the node for
duration_ms; prints {connected, error, setup_ms, rtt_ms, jitter_ms,
loss_permille, bitrate_kbps, target_kbps} as one JSON line. REQUEST is
{"whip", "whep", "publish_token", "view_token", "duration_ms", "target_kbps"}.
`)
	}
	_ = fs.Parse(args)
	var req probeRequest
	dec := json.NewDecoder(io.LimitReader(os.Stdin, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return fmt.Errorf("probe request on stdin: %w", err)
	}
	if req.WHIP == "" || req.WHEP == "" || req.PublishToken == "" || req.ViewToken == "" {
		return errors.New("probe request: whip, whep, publish_token and view_token are required")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	m := bench.Probe(ctx, bench.ProbeConfig{WHIP: req.WHIP, WHEP: req.WHEP, PublishToken: req.PublishToken, ViewToken: req.ViewToken,
		Duration: time.Duration(req.DurationMs) * time.Millisecond, TargetKbps: req.TargetKbps,
		Client: bench.ClientOptions{PionLogLevel: logging.LogLevelError}})
	return json.NewEncoder(os.Stdout).Encode(m)
}
