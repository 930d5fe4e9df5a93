package loadgen

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

var (
	clkTckOnce sync.Once
	clkTck     = 100
)

// ClockTicks returns USER_HZ, the unit of /proc/stat and /proc/PID/stat CPU
// times, as reported by `getconf CLK_TCK` (100 when that fails).
func ClockTicks() int {
	clkTckOnce.Do(func() {
		out, err := exec.Command("getconf", "CLK_TCK").Output()
		if err != nil {
			return
		}
		if v, err := strconv.Atoi(strings.TrimSpace(string(out))); err == nil && v > 0 {
			clkTck = v
		}
	})
	return clkTck
}

// CoreTimes is one core's line of /proc/stat, in clock ticks.
type CoreTimes struct {
	// The first eight columns of the line, in /proc/stat's order.
	User, Nice, System, Idle, IOWait, IRQ, SoftIRQ, Steal uint64
}

// Busy returns user+nice+system+irq+softirq+steal: every tick the core spent
// not idle, including interrupt and softirq work (the kernel side of
// loopback TCP) and time stolen by the hypervisor.
func (t CoreTimes) Busy() uint64 {
	return t.User + t.Nice + t.System + t.IRQ + t.SoftIRQ + t.Steal
}

// ReadCoreTimes reads the /proc/stat line of core cpu.
func ReadCoreTimes(cpu int) (CoreTimes, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return CoreTimes{}, err
	}
	prefix := []byte("cpu" + strconv.Itoa(cpu) + " ")
	for line := range bytes.Lines(b) {
		if !bytes.HasPrefix(line, prefix) {
			continue
		}
		f := strings.Fields(string(line[len(prefix):]))
		if len(f) < 8 {
			break
		}
		var v [8]uint64
		for i := range v {
			if v[i], err = strconv.ParseUint(f[i], 10, 64); err != nil {
				return CoreTimes{}, err
			}
		}
		return CoreTimes{v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7]}, nil
	}
	return CoreTimes{}, fmt.Errorf("no cpu%d line in /proc/stat", cpu)
}

// ReadProcCPU returns a process's user+system CPU time from /proc/PID/stat.
func ReadProcCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	// the command name (field 2) may contain spaces: fields start after ')'
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("malformed /proc/%d/stat", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("malformed /proc/%d/stat", pid)
	}
	ut, err1 := strconv.ParseUint(f[11], 10, 64) // field 14, utime
	st, err2 := strconv.ParseUint(f[12], 10, 64) // field 15, stime
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("malformed /proc/%d/stat", pid)
	}
	return time.Duration(ut+st) * time.Second / time.Duration(ClockTicks()), nil
}

// ReadRSS returns a process's resident set size (VmRSS of /proc/PID/status)
// in bytes.
func ReadRSS(pid int) (int64, error) {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			fs := strings.Fields(rest)
			if len(fs) != 2 || fs[1] != "kB" {
				break
			}
			kb, err := strconv.ParseInt(fs[0], 10, 64)
			return kb * 1024, err
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
}

// RaiseNoFile raises this process's RLIMIT_NOFILE soft limit to want, or as
// far as the hard limit allows (trying to raise the hard limit first, which
// needs privileges). It returns the resulting soft limit and whether it had
// to stop short of want.
func RaiseNoFile(want uint64) (limit uint64, clamped bool, err error) {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 0, false, err
	}
	if rl.Cur >= want {
		return rl.Cur, false, nil
	}
	if rl.Max < want {
		try := syscall.Rlimit{Cur: want, Max: want}
		if syscall.Setrlimit(syscall.RLIMIT_NOFILE, &try) == nil {
			return want, false, nil
		}
	}
	rl.Cur = min(want, rl.Max)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 0, false, err
	}
	return rl.Cur, rl.Cur < want, nil
}

// selfCPU returns the CPU time (user+system) this process has used.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
