package redis

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// ServerCounters are a Redis server's running totals of what scripts run
// by their digest (EVALSHA, as the rate limiter runs them) cost it: the
// serial resource every gateway replica shares when its limits live in
// Redis. Benchmarks read them before and after a load.
type ServerCounters struct {
	ScriptRuns int64         // EVALSHA calls
	ScriptTime time.Duration // spent in them
	CPU        time.Duration // the server's user and system CPU, network included
}

// Sub is c less an earlier reading.
func (c ServerCounters) Sub(earlier ServerCounters) ServerCounters {
	return ServerCounters{ScriptRuns: c.ScriptRuns - earlier.ScriptRuns, ScriptTime: c.ScriptTime - earlier.ScriptTime, CPU: c.CPU - earlier.CPU}
}

// ReadServerCounters reads INFO commandstats and cpu.
func ReadServerCounters(ctx context.Context, rdb *goredis.Client) (ServerCounters, error) {
	info := rdb.InfoMap(ctx, "commandstats", "cpu")
	if err := info.Err(); err != nil {
		return ServerCounters{}, Unavailable(err)
	}
	var c ServerCounters
	// "calls=…,usec=…,usec_per_call=…"; empty before any script has run.
	for field := range strings.SplitSeq(info.Item("Commandstats", "cmdstat_evalsha"), ",") {
		k, v, _ := strings.Cut(field, "=")
		var err error
		switch k {
		case "calls":
			c.ScriptRuns, err = strconv.ParseInt(v, 10, 64)
		case "usec":
			var usec int64
			usec, err = strconv.ParseInt(v, 10, 64)
			c.ScriptTime = time.Duration(usec) * time.Microsecond
		}
		if err != nil {
			return ServerCounters{}, fmt.Errorf("INFO commandstats: %s: %w", k, err)
		}
	}
	for _, k := range []string{"used_cpu_user", "used_cpu_sys"} {
		s, err := strconv.ParseFloat(info.Item("CPU", k), 64)
		if err != nil {
			return ServerCounters{}, fmt.Errorf("INFO cpu: %s: %w", k, err)
		}
		c.CPU += time.Duration(s * float64(time.Second))
	}
	return c, nil
}
