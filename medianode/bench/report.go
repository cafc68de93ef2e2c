package bench

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// WriteText prints a result as a readable report.
func WriteText(w io.Writer, r *Result) {
	fmt.Fprintf(w, "== %s: %s\n", r.Label, r.Target)
	fmt.Fprintf(w, "machine: %s\n", r.Machine)
	fmt.Fprintf(w, "1 publisher → %d subscribers, %s, %d-byte payloads, keyframe every %d packets; SFU CPU: %s\n",
		r.Subscribers, r.Codec, r.PayloadBytes, r.KeyframeEvery, orDash(r.SFUCPUNote))
	fmt.Fprintf(w, "join (from creating the subscriber's PeerConnection): first packet p50 %s max %s; first keyframe p50 %s; connected p50 %s; WHEP POST p50 %s\n",
		fmtDur(joinQ(r.Joins, func(j JoinStat) time.Duration { return j.FirstPacket }, 0.5)),
		fmtDur(joinQ(r.Joins, func(j JoinStat) time.Duration { return j.FirstPacket }, 1)),
		fmtDur(joinQ(r.Joins, func(j JoinStat) time.Duration { return j.FirstKeyframe }, 0.5)),
		fmtDur(joinQ(r.Joins, func(j JoinStat) time.Duration { return j.Connected }, 0.5)),
		fmtDur(joinQ(r.Joins, func(j JoinStat) time.Duration { return j.Signal }, 0.5)))
	fmt.Fprintf(w, "%8s %9s %10s %9s %9s %10s %10s %10s %9s %11s %8s %6s %s\n",
		"target", "pub pps", "fwd pps", "loss max", "loss avg", "lat p50", "lat p99", "lat p99.9", "SFU cores", "fwd/CPU-s", "clients", "other", "pass")
	for _, s := range r.Steps {
		pass := "yes"
		if !s.Pass {
			pass = "NO"
		}
		if s.Disturbed {
			pass += " (disturbed)"
		}
		fmt.Fprintf(w, "%8d %9.0f %10.0f %8.3f%% %8.3f%% %10s %10s %10s %9s %11s %8.2f %6.2f %s\n",
			s.TargetPPS, s.PublisherPPS, s.ForwardedPPS, s.LossMaxPct, s.LossMeanPct, fmtDur(s.LatP50), fmtDur(s.LatP99), fmtDur(s.LatP999),
			cores(r, s.SFUCores), fmtCount(s.PerCPUSecond), s.ClientCores, s.OtherCores, pass)
	}
	fmt.Fprintln(w, "(other = CPU of other processes on the machine during the window, in cores; high values make that row unreliable)")
	fmt.Fprintf(w, "highest rate with ≤ %.2g%% loss on every subscriber: %d forwarded packets/s\n", r.LossThresholdPct, r.MaxPassPPS)
	if r.PublisherPLIs > 0 || r.Foreign > 0 {
		fmt.Fprintf(w, "PLIs/FIRs seen by the publisher: %d; packets without the load-test stamp: %d\n", r.PublisherPLIs, r.Foreign)
	}
}

// WriteMarkdown prints a comparison table of results, one row per target
// and rate.
func WriteMarkdown(w io.Writer, rs []*Result) {
	fmt.Fprintln(w, "| Target | Rate (fwd pps asked) | Forwarded pps | Loss max | Latency p50 / p99 | SFU cores | Fwd packets per SFU CPU-s |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|")
	for _, r := range rs {
		for _, s := range r.Steps {
			mark := ""
			if s.Disturbed {
				mark = " †"
			}
			fmt.Fprintf(w, "| %s | %d%s | %.0f | %.3f %% | %s / %s | %s | %s |\n", r.Label, s.TargetPPS, mark, s.ForwardedPPS, s.LossMaxPct,
				fmtDur(s.LatP50), fmtDur(s.LatP99), cores(r, s.SFUCores), fmtCount(s.PerCPUSecond))
		}
	}
	fmt.Fprintln(w, "\n† other processes used more CPU than --max-other-cores during every attempt at this rate.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| Target | Max rate at ≤ 0.1 % loss | Join → first packet p50 (max) |")
	fmt.Fprintln(w, "|---|---|---|")
	for _, r := range rs {
		fmt.Fprintf(w, "| %s | %d | %s (%s) |\n", r.Label, r.MaxPassPPS,
			fmtDur(joinQ(r.Joins, func(j JoinStat) time.Duration { return j.FirstPacket }, 0.5)),
			fmtDur(joinQ(r.Joins, func(j JoinStat) time.Duration { return j.FirstPacket }, 1)))
	}
}

func joinQ(js []JoinStat, f func(JoinStat) time.Duration, q float64) time.Duration {
	d := make([]time.Duration, 0, len(js))
	for _, j := range js {
		d = append(d, f(j))
	}
	slices.Sort(d)
	return percentile(d, q)
}

func orDash(s string) string {
	if strings.TrimSpace(s) == "" {
		return "–"
	}
	return s
}

func cores(r *Result, c float64) string {
	if r.SFUCPUNote == "" {
		return "–"
	}
	return fmt.Sprintf("%.2f", c)
}
