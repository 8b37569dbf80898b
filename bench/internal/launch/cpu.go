package launch

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// CPUSample is the machine's and every process's CPU time so far, its
// exited children's included, from /proc (Linux); empty elsewhere.
type CPUSample struct {
	at      time.Time
	idle    uint64 // machine idle ticks
	total   uint64 // machine ticks
	process map[int]uint64
	kernel  map[int]uint64 // the part of process spent in the kernel
}

// clockTicks is USER_HZ, 100 on every Linux this runs on.
const clockTicks = 100

// ReadCPU samples the machine's and every process's CPU time.
func ReadCPU() CPUSample {
	s := CPUSample{at: time.Now(), process: map[int]uint64{}, kernel: map[int]uint64{}}
	if raw, err := os.ReadFile("/proc/stat"); err == nil {
		line, _, _ := strings.Cut(string(raw), "\n")
		for i, f := range strings.Fields(line)[1:] {
			v, _ := strconv.ParseUint(f, 10, 64)
			s.total += v
			if i == 3 || i == 4 { // idle, iowait
				s.idle += v
			}
		}
	}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		raw, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		f := strings.Fields(string(raw[strings.LastIndexByte(string(raw), ')')+2:]))
		if len(f) < 13 {
			continue
		}
		// utime and stime, and cutime and cstime: the CPU of the children
		// it has waited for, such as the platform's extraction children,
		// which live too briefly to be sampled themselves.
		var t, k uint64
		for _, i := range []int{11, 12, 13, 14} {
			v, _ := strconv.ParseUint(f[i], 10, 64)
			t += v
			if i == 12 || i == 14 { // stime, cstime
				k += v
			}
		}
		s.process[pid], s.kernel[pid] = t, k
	}
	return s
}

// Spent is the CPU, in cores, that each group of processes used between s
// and later, and the share of the machine left idle. group names a
// process's group from its name (its entry in known, else its
// command name); processes it names "" are left out.
func (s CPUSample) Spent(later CPUSample, group func(name string) string, known map[int]string) (cores map[string]float64, idle float64) {
	cores = perSecond(s, later, s.Used(later, group, known))
	if later.total == s.total {
		return cores, 0
	}
	return cores, float64(later.idle-s.idle) / float64(later.total-s.total)
}

// Used is the CPU time that each group of processes used between s and
// later, grouped as Spent groups them.
func (s CPUSample) Used(later CPUSample, group func(name string) string, known map[int]string) map[string]time.Duration {
	return usedOf(s, later, func(c CPUSample) map[int]uint64 { return c.process }, group, known)
}

// SpentInKernel is the part of Spent's cores that each group spent in
// the kernel (system calls, and the network stack's work done in them):
// what any proxy pays for the same traffic, set apart from its own code.
func (s CPUSample) SpentInKernel(later CPUSample, group func(name string) string, known map[int]string) map[string]float64 {
	return perSecond(s, later, usedOf(s, later, func(c CPUSample) map[int]uint64 { return c.kernel }, group, known))
}

// perSecond turns the CPU time each group used between s and later into
// cores; none when no time or no machine tick passed between them.
func perSecond(s, later CPUSample, used map[string]time.Duration) map[string]float64 {
	cores := map[string]float64{}
	wall := later.at.Sub(s.at)
	if wall <= 0 || later.total == s.total {
		return cores
	}
	for g, d := range used {
		cores[g] = float64(d) / float64(wall)
	}
	return cores
}

// usedOf is the CPU time, in the ticks that ticks selects, that each group
// used between s and later.
func usedOf(s, later CPUSample, ticks func(CPUSample) map[int]uint64, group func(name string) string, known map[int]string) map[string]time.Duration {
	used := map[string]time.Duration{}
	before := ticks(s)
	for pid, t := range ticks(later) {
		name := known[pid]
		if name == "" {
			comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
			name = strings.TrimSpace(string(comm))
		}
		if g := group(name); g != "" {
			used[g] += time.Duration(t-before[pid]) * time.Second / clockTicks
		}
	}
	return used
}

// Cores prints the groups in order, those that used at least 0.01 cores.
func Cores(use map[string]float64, order []string) string {
	var parts []string
	for _, n := range order {
		if v := use[n]; v >= 0.01 {
			parts = append(parts, fmt.Sprintf("%s %.2f", n, v))
		}
	}
	return strings.Join(parts, ", ")
}
