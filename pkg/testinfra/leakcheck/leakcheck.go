// Package leakcheck fails a test binary that leaves goroutines running
// (go.uber.org/goleak), ignoring the few that libraries keep for the life
// of the process. It imports nothing heavier than goleak, so packages
// without test infrastructure use it directly.
package leakcheck

import (
	"fmt"
	"net/http"
	"os"
	"testing"

	"go.uber.org/goleak"
)

// ignored are goroutines that live as long as the process by the library's
// design, whatever the test does.
var ignored = []goleak.Option{
	// hashicorp/golang-lru's expirable LRU starts a janitor per cache and
	// offers no way to stop it (tokenverify's caches).
	goleak.IgnoreAnyFunction("github.com/hashicorp/golang-lru/v2/expirable.NewLRU[...].func1"),
	// bleve's shared analysis worker pool, started once per process.
	goleak.IgnoreAnyFunction("github.com/blevesearch/bleve_index_api.AnalysisWorker"),
	// nats.go v1.55 (jetstream/publish.go): the async-publish reconnect
	// watcher can read its status channel after the connection cleared it
	// and then waits on a nil channel for ever, past Close.
	goleak.IgnoreAnyFunction("github.com/nats-io/nats.go/jetstream.(*jetStream).resetPendingAcksOnReconnect"),
	// fasthttp's idle-connection cleaner (pkg/adapters/fastupstream) sleeps
	// out its idle timeout after the last connection has closed, then
	// ends; it holds no connection, and time.Sleep cannot be woken.
	goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.(*HostClient).connsCleaner"),
	// fasthttp's process-wide helpers, each started once by the first
	// server or default-dialer client and never stopped: the clock for the
	// Date header and the default dialer's address-cache cleaner
	// (bench/gateway's fasthttp floors).
	goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.updateServerDate.func1"),
	goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.(*TCPDialer).tcpAddrsClean"),
	// A fasthttp server's worker-pool cleaner (pkg/platform/fastfront)
	// sleeps its idle-worker period (10 s) between rounds and sees the
	// server's Stop only after it; the workers themselves end at Stop.
	goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.(*workerPool).Start.func2"),
	// OpenTelemetry's and glog-style global flushers.
	goleak.IgnoreAnyFunction("go.opencensus.io/stats/view.(*worker).start"),
}

// Find returns the leaked goroutines as an error, or nil; idle keep-alive
// connections of the default client are closed first.
func Find(extra ...goleak.Option) error {
	http.DefaultClient.CloseIdleConnections()
	return goleak.Find(append(ignored, extra...)...)
}

// Main is TestMain for a package whose code starts goroutines.
func Main(m *testing.M) {
	code := m.Run()
	if code == 0 {
		if err := Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goroutines leaked:", err)
			code = 1
		}
	}
	os.Exit(code)
}
