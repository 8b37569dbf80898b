package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// attackOnce runs the generator against url at rate for d with token and
// reads its report.
func attackOnce(t *testing.T, url string, rate int, d time.Duration, token string) attackReport {
	t.Helper()
	return attackWith(t, attackSpec{URL: url, Rate: rate, Duration: d}, token)
}

// attackWith runs the generator for spec, its token file written with
// token, and reads its report.
func attackWith(t *testing.T, spec attackSpec, token string) attackReport {
	t.Helper()
	spec.TokenFile = filepath.Join(t.TempDir(), "token")
	require.NoError(t, os.WriteFile(spec.TokenFile, []byte(token+"\n"), 0o600))
	raw, err := json.Marshal(spec)
	require.NoError(t, err)
	var out bytes.Buffer
	require.NoError(t, runAttack(string(raw), &out))
	var rep attackReport
	require.NoError(t, json.Unmarshal(out.Bytes(), &rep))
	return rep
}

// TestRunAttackOffersTheRate: the generator sends the rate asked for, for
// the time asked for, each request with the token, and reports every
// answer; a target's refusals are reported as failures and the run is
// then refused.
func TestRunAttackOffersTheRate(t *testing.T) {
	var seen, bad, refuse atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := seen.Add(1)
		if r.Header.Get("Authorization") != "Bearer tok" {
			bad.Add(1)
		}
		if n <= refuse.Load() {
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte(`{"ok":true}`))
	}))
	defer srv.Close()

	rep := attackOnce(t, srv.URL, 200, time.Second, "tok")
	require.Equal(t, 200, rep.Sent, "200 a second for a second")
	require.Equal(t, 200, rep.Answered)
	require.EqualValues(t, 200, seen.Load())
	require.Zero(t, bad.Load(), "every request carries the token, trimmed")
	require.InDelta(t, 200, rep.SentRate, 20, "sent on schedule")
	require.Positive(t, rep.P50)
	require.GreaterOrEqual(t, rep.P99, rep.P50)
	require.GreaterOrEqual(t, rep.Max, rep.P999)
	require.GreaterOrEqual(t, rep.P999, rep.P99)
	require.NoError(t, rep.check(200))

	seen.Store(0)
	refuse.Store(3)
	rep = attackOnce(t, srv.URL, 100, time.Second, "tok")
	require.Equal(t, 100, rep.Sent)
	require.Equal(t, 97, rep.Answered)
	require.Equal(t, []string{"503 Service Unavailable", "503 Service Unavailable", "503 Service Unavailable"}, rep.Failures)
	require.ErrorContains(t, rep.check(100), "3 of 100 requests failed, e.g. 503 Service Unavailable; 503")
}

// TestRunAttackTimesOutALateAnswer: an answer later than the timeout is a
// failure, and the run is refused; the generator does not wait for it.
func TestRunAttackTimesOutALateAnswer(t *testing.T) {
	release := make(chan struct{})
	var seen atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if seen.Add(1) == 1 {
			<-release // the first answer never comes in time
		}
		_, _ = w.Write([]byte(`{"ok":true}`))
	}))
	defer srv.Close()
	defer close(release) // before the server closes: it waits for its handlers

	rep := attackWith(t, attackSpec{URL: srv.URL, Rate: 50, Duration: time.Second, Timeout: 200 * time.Millisecond}, "tok")
	require.Equal(t, 50, rep.Sent)
	require.Equal(t, 49, rep.Answered)
	require.Len(t, rep.Failures, 1)
	require.Contains(t, rep.Failures[0], "Client.Timeout exceeded")
	require.GreaterOrEqual(t, rep.Max, 200*time.Millisecond)
	require.Less(t, rep.Max, attackTimeout, "cut off at its own timeout")
	require.ErrorContains(t, rep.check(50), "1 of 50 requests failed")
}

// TestRunAttackRefusesABadSpec: a rate or duration of zero, a spec that
// is not JSON, or a token file that is missing is an error, not a run.
func TestRunAttackRefusesABadSpec(t *testing.T) {
	var out bytes.Buffer
	require.ErrorContains(t, runAttack("not json", &out), attackEnv)
	require.ErrorContains(t, runAttack(`{"url":"http://127.0.0.1:9","rate":0,"duration":1000000000}`, &out), "above zero")
	require.ErrorContains(t, runAttack(`{"url":"http://127.0.0.1:9","rate":1,"duration":0}`, &out), "above zero")
	require.Error(t, runAttack(`{"url":"http://127.0.0.1:9","rate":1,"duration":1000000000,"token_file":"`+filepath.Join(t.TempDir(), "none")+`"}`, &out))
	require.Zero(t, out.Len(), "no report")
}

// TestTallyFindsTheWorstSecond: the report's quantiles are over every
// request, and its worst second is the one whose own P99 is highest among
// the seconds with enough requests to have one.
func TestTallyFindsTheWorstSecond(t *testing.T) {
	start := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	tl := tally{start: start}
	send := func(at time.Duration, latency time.Duration, code uint16) {
		tl.add(&vegeta.Result{Timestamp: start.Add(at), Latency: latency, Code: code})
	}
	for i := range 100 { // second 1: all fast
		send(time.Duration(i)*10*time.Millisecond, time.Millisecond, 200)
	}
	for i := range 100 { // second 2: two slow ones make its P99
		latency := time.Millisecond
		if i >= 98 {
			latency = 50 * time.Millisecond
		}
		send(time.Second+time.Duration(i)*10*time.Millisecond, latency, 200)
	}
	for i := range 10 { // second 3: too few for a P99 of its own, however slow
		send(2*time.Second+time.Duration(i)*time.Millisecond, time.Second, 502)
	}
	send(0, time.Millisecond, 200) // one sent first ends last: results come as they end
	r := tl.report()
	require.Equal(t, 211, r.Sent)
	require.Equal(t, 201, r.Answered)
	require.Len(t, r.Failures, 5, "the first five failures only")
	require.Equal(t, "502", r.Failures[0])
	require.Equal(t, 2, r.WorstSecond)
	require.Equal(t, 50*time.Millisecond, r.WorstSecondP99)
	require.Equal(t, time.Millisecond, r.P50)
	require.Equal(t, time.Second, r.P99, "the ten slow ones are the last 5 %")
	require.Equal(t, time.Second, r.Max)
	require.InDelta(t, 210/2.009, r.SentRate, 0.01, "from the earliest sending to the latest")
	require.Equal(t, time.Second, r.SettledP99, "seconds 2 and 3: 110 requests, the ten slowest past the 99th")
	tl = tally{start: start}
	for i := range 200 { // a slow first second, then a quick one
		latency := 40 * time.Millisecond
		if i >= 100 {
			latency = time.Millisecond
		}
		send(time.Duration(i)*10*time.Millisecond, latency, 200)
	}
	r = tl.report()
	require.Equal(t, time.Millisecond, r.SettledP99, "the first second left out")
	require.Equal(t, 40*time.Millisecond, r.P99)
	require.Equal(t, 1, r.WorstSecond)
}

// TestAttackReportCheck: a run counts only when every request had a 2xx
// and they went out at the rate asked for.
func TestAttackReportCheck(t *testing.T) {
	require.NoError(t, attackReport{Sent: 100, Answered: 100, SentRate: 99}.check(100))
	require.ErrorContains(t, attackReport{Sent: 100, Answered: 100, SentRate: 90}.check(100), "sent 90 requests a second of the 100 asked for")
	require.ErrorContains(t, attackReport{Sent: 100, Answered: 99, SentRate: 100, Failures: []string{"0 timeout"}}.check(100), "1 of 100 requests failed, e.g. 0 timeout")
	require.ErrorIs(t, attackReport{Sent: 100, Answered: 100, SentRate: 90}.check(100), errShortRate)
	require.NotErrorIs(t, attackReport{Sent: 100, Answered: 99, SentRate: 100}.check(100), errShortRate)
}

// TestExactlyStopsAtItsHits: the pacer sends every request of the rate,
// one that is late (the machine was busy) at once, and stops after the
// last whatever the time.
func TestExactlyStopsAtItsHits(t *testing.T) {
	p := exactly{Pacer: vegeta.Rate{Freq: 200, Per: time.Second}, hits: 200}
	wait, stop := p.Pace(0, 0)
	require.False(t, stop)
	require.Equal(t, 5*time.Millisecond, wait, "vegeta's first request at 5 ms")
	wait, stop = p.Pace(990*time.Millisecond, 199)
	require.False(t, stop)
	require.Equal(t, 10*time.Millisecond, wait, "so the last is at 1 s, where an attack of 1 s may end first")
	wait, stop = p.Pace(1200*time.Millisecond, 199)
	require.False(t, stop, "past the duration, the last request still goes")
	require.Zero(t, wait)
	_, stop = p.Pace(1200*time.Millisecond, 200)
	require.True(t, stop)
	_, stop = p.Pace(500*time.Millisecond, 200)
	require.True(t, stop)
	require.InDelta(t, 200, p.Rate(0), 0.001)
}

// TestOnceMoreIfShort: a run sent too slowly is measured a second time,
// and said to be; a second short run, or a failed request, refuses it.
func TestOnceMoreIfShort(t *testing.T) {
	short := fmt.Errorf("sent 90 of 100: %w", errShortRate)
	failed := errors.New("1 of 100 requests failed")
	for _, tc := range []struct {
		name  string
		errs  []error // each run's outcome, in turn
		runs  int
		want  error
		again bool
	}{
		{"kept at once", []error{nil}, 1, nil, false},
		{"short, then kept", []error{short, nil}, 2, nil, true},
		{"short twice", []error{short, short}, 2, errShortRate, true},
		{"failed: not again", []error{failed}, 1, failed, false},
		{"short, then failed", []error{short, failed}, 2, failed, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var said bytes.Buffer
			runs := 0
			r, err := onceMoreIfShort(&said, "nginx", func() (result, error) {
				runs++
				return result{rps: float64(runs)}, tc.errs[runs-1]
			})
			require.Equal(t, tc.runs, runs)
			require.Equal(t, float64(runs), r.rps, "the last run's figures")
			if tc.want == nil {
				require.NoError(t, err)
			} else {
				require.ErrorIs(t, err, tc.want)
			}
			if tc.again {
				require.Equal(t, "nginx: sent 90 of 100: the machine is too busy for this rate; measured again\n", said.String())
			} else {
				require.Empty(t, said.String())
			}
		})
	}
}

// TestCheckRate: -rate is a positive rate, and not combined with the
// other ways to shape the load.
func TestCheckRate(t *testing.T) {
	require.NoError(t, checkRate(0, time.Millisecond, 0.05), "no -rate: wrk's options stand")
	require.NoError(t, checkRate(4000, 0, 0))
	require.ErrorContains(t, checkRate(-1, 0, 0), "-rate")
	require.ErrorContains(t, checkRate(4000, time.Millisecond, 0), "-think")
	require.ErrorContains(t, checkRate(4000, 0, 0.05), "-fresh")
}
