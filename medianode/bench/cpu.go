package bench

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// clockTicks is USER_HZ, the unit of /proc/<pid>/stat times (100 on every
// Linux architecture Go supports).
const clockTicks = 100

// ProcCPU returns the user+system CPU time of every thread of process pid,
// from /proc/<pid>/stat (10 ms resolution).
func ProcCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) may hold spaces; fields resume after ')'.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("unexpected /proc/%d/stat", pid)
	}
	f := strings.Fields(s[i+1:])
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(f) < 13 {
		return 0, fmt.Errorf("unexpected /proc/%d/stat", pid)
	}
	ut, err1 := strconv.ParseUint(f[11], 10, 64)
	st, err2 := strconv.ParseUint(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("unexpected /proc/%d/stat", pid)
	}
	return time.Duration(ut+st) * time.Second / clockTicks, nil
}

// SelfCPU returns this process's user+system CPU time (getrusage).
func SelfCPU() (time.Duration, error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, err
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), nil
}

// UDPCounters are this network namespace's UDP counters from
// /proc/net/snmp (all sockets of the machine, not only the test's).
type UDPCounters struct {
	InDatagrams, OutDatagrams, RcvbufErrors, SndbufErrors uint64
}

// ReadUDPCounters reads /proc/net/snmp.
func ReadUDPCounters() (UDPCounters, error) {
	b, err := os.ReadFile("/proc/net/snmp")
	if err != nil {
		return UDPCounters{}, err
	}
	var names, values []string
	for _, l := range strings.Split(string(b), "\n") {
		if !strings.HasPrefix(l, "Udp: ") {
			continue
		}
		if names == nil {
			names = strings.Fields(l)[1:]
		} else {
			values = strings.Fields(l)[1:]
			break
		}
	}
	var c UDPCounters
	for i, n := range names {
		if i >= len(values) {
			break
		}
		v, _ := strconv.ParseUint(values[i], 10, 64)
		switch n {
		case "InDatagrams":
			c.InDatagrams = v
		case "OutDatagrams":
			c.OutDatagrams = v
		case "RcvbufErrors":
			c.RcvbufErrors = v
		case "SndbufErrors":
			c.SndbufErrors = v
		}
	}
	return c, nil
}

// MachineCPU is the machine's cumulative CPU time from /proc/stat.
type MachineCPU struct {
	// Busy is all non-idle time (user, nice, system, irq, softirq, steal).
	Busy time.Duration
	// Softirq is the part spent in soft interrupts (packet delivery), not
	// charged to any process.
	Softirq time.Duration
}

// ReadMachineCPU reads the "cpu" line of /proc/stat.
func ReadMachineCPU() (MachineCPU, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return MachineCPU{}, err
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 8 || f[0] != "cpu" {
		return MachineCPU{}, fmt.Errorf("unexpected /proc/stat")
	}
	var v [8]uint64 // user nice system idle iowait irq softirq steal
	for i := range v {
		if i+1 < len(f) {
			v[i], _ = strconv.ParseUint(f[i+1], 10, 64)
		}
	}
	busy := v[0] + v[1] + v[2] + v[5] + v[6] + v[7]
	return MachineCPU{Busy: time.Duration(busy) * time.Second / clockTicks, Softirq: time.Duration(v[6]) * time.Second / clockTicks}, nil
}
