package testinfra

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// CPUTime is the CPU time this process has used so far, user and system,
// its background goroutines included: benchmarks divide its growth by
// b.N for a cost per operation that work on other cores does not blur.
func CPUTime(tb testing.TB) time.Duration {
	tb.Helper()
	var ru syscall.Rusage
	require.NoError(tb, syscall.Getrusage(syscall.RUSAGE_SELF, &ru))
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// ProcessCPU is the CPU time another local process (a database server,
// say) has used so far, user and system, read from /proc; 0 when pid is 0
// or cannot be read, so a benchmark reports the server's share only when
// told which process it is.
func ProcessCPU(pid int) time.Duration {
	if pid <= 0 {
		return 0
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The fields after the command's closing parenthesis: utime and stime
	// are the 12th and 13th, in clock ticks of 1/100 s on Linux.
	fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
	if len(fields) < 13 {
		return 0
	}
	user, _ := strconv.ParseInt(fields[11], 10, 64)
	sys, _ := strconv.ParseInt(fields[12], 10, 64)
	return time.Duration(user+sys) * 10 * time.Millisecond
}

// CPUReport starts counting the CPU time this process uses and, when
// MARIADB_PID names the local MariaDB server's process, the server's too.
// The function it returns reports their growth per b.N operation as
// client-µs/op and server-µs/op; run such a benchmark alone, as the
// server's time is all its clients'.
func CPUReport(b *testing.B) (report func()) {
	b.Helper()
	serverPID, _ := strconv.Atoi(os.Getenv("MARIADB_PID"))
	client, server := CPUTime(b), ProcessCPU(serverPID)
	return func() {
		b.ReportMetric(float64((CPUTime(b)-client).Microseconds())/float64(b.N), "client-µs/op")
		if serverPID > 0 {
			b.ReportMetric(float64((ProcessCPU(serverPID)-server).Microseconds())/float64(b.N), "server-µs/op")
		}
	}
}
