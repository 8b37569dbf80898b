package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/lattice-platform/lattice/bench/internal/latency"
	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// An open-loop load (-rate): each target is offered the same requests a
// second, sent on schedule whether or not earlier answers have come back.
// wrk's closed loop drives each target at its own saturation, where a
// P99 is mostly queueing and follows the throughput (16 connections over
// fewer requests a second wait longer each); at one fixed rate below every
// target's capacity the P99s compare what each adds to a request. The
// sender is vegeta's attacker in a process of its own (this program
// started again, as the floors are), so that it shares nothing with the
// harness's upstream but the cores.

// attackEnv makes this program an open-loop load generator instead (see
// runAttack); its value is an attackSpec in JSON.
const attackEnv = "BENCH_GATEWAY_ATTACK"

// attackSpec is one open-loop run. The token is in a 0600 file, off the
// command line and out of the environment.
type attackSpec struct {
	URL       string        `json:"url"`
	Rate      int           `json:"rate"`
	Duration  time.Duration `json:"duration"`
	TokenFile string        `json:"token_file"`
	// Timeout bounds each request (attackTimeout when 0): an answer
	// later than this is a failure, and the run is refused.
	Timeout time.Duration `json:"timeout,omitempty"`
}

// attackReport is what the generator prints of a run.
type attackReport struct {
	Sent     int `json:"sent"`
	Answered int `json:"answered"` // with a 2xx
	// SentRate is the rate the requests went out at, which is the rate
	// asked for unless the generator itself fell behind.
	SentRate float64 `json:"sent_rate"`
	// Failures are the first few answers that were not 2xx, and errors.
	Failures []string      `json:"failures,omitempty"`
	P50      time.Duration `json:"p50"`
	P99      time.Duration `json:"p99"`
	P999     time.Duration `json:"p999"`
	Max      time.Duration `json:"max"`
	// WorstSecondP99 is the highest P99 of the requests sent in one
	// second of the run, the WorstSecond (from 1): a tail made in a burst
	// shows here far above the run's P99, one spread evenly hardly.
	WorstSecondP99 time.Duration `json:"worst_second_p99"`
	WorstSecond    int           `json:"worst_second"`
	// SettledP99 is the P99 of the requests sent after the first second:
	// the steady state, without the start of a run on a target that has
	// been idle (its connections opened, its pools and heap grown again).
	SettledP99 time.Duration `json:"settled_p99"`
}

// attackTimeout is the bound on each request that the harness's runs use.
const attackTimeout = 5 * time.Second

// runAttack is the generator's side: it offers spec's rate to spec's URL
// for spec's duration and writes an attackReport to out.
func runAttack(spec string, out io.Writer) error {
	var s attackSpec
	if err := json.Unmarshal([]byte(spec), &s); err != nil {
		return fmt.Errorf("%s: %w", attackEnv, err)
	}
	if s.Rate <= 0 || s.Duration <= 0 {
		return fmt.Errorf("%s: a rate and a duration above zero", attackEnv)
	}
	token, err := os.ReadFile(s.TokenFile)
	if err != nil {
		return err
	}
	tr := vegeta.NewStaticTargeter(vegeta.Target{Method: http.MethodGet, URL: s.URL,
		Header: http.Header{"Authorization": {"Bearer " + string(bytes.TrimSpace(token))}}})
	// Its own transport: no proxy from the environment, as many
	// keep-alive connections as the load asks for (an open loop opens
	// another whenever every one is busy), and all closed at the end.
	transport := &http.Transport{DialContext: (&net.Dialer{KeepAlive: 30 * time.Second}).DialContext, MaxIdleConnsPerHost: vegeta.DefaultConnections}
	defer transport.CloseIdleConnections()
	a := vegeta.NewAttacker(vegeta.Client(&http.Client{Timeout: cmp.Or(s.Timeout, attackTimeout), Transport: transport}), vegeta.MaxBody(64<<10))
	t := tally{start: time.Now()}
	hits := uint64(s.Rate) * uint64(s.Duration) / uint64(time.Second)
	for res := range a.Attack(tr, exactly{Pacer: vegeta.Rate{Freq: s.Rate, Per: time.Second}, hits: hits}, 0, "") {
		t.add(res)
	}
	return json.NewEncoder(out).Encode(t.report())
}

// exactly paces as its Pacer does, and stops after hits requests. An
// attack given a duration stops when the duration is up instead, and on a
// busy machine that can come before the rate's last request has gone:
// one request fewer than asked. A generator that falls behind still shows
// in the rate the report gives (SentRate).
type exactly struct {
	vegeta.Pacer
	hits uint64
}

func (p exactly) Pace(elapsed time.Duration, hits uint64) (time.Duration, bool) {
	if hits >= p.hits {
		return 0, true
	}
	return p.Pacer.Pace(elapsed, hits)
}

// tally gathers an attack's results: every latency, for exact
// quantiles (80,000 a second for 10 s is 6 MiB), and each second's apart.
type tally struct {
	start       time.Time // the attack's: the seconds are counted from it
	r           attackReport
	first, last time.Time // the earliest and latest sending; results come in the order they end
	all         []time.Duration
	seconds     [][]time.Duration // by the second of the run they were sent in
}

func (t *tally) add(res *vegeta.Result) {
	if t.first.IsZero() || res.Timestamp.Before(t.first) {
		t.first = res.Timestamp
	}
	if res.Timestamp.After(t.last) {
		t.last = res.Timestamp
	}
	t.r.Sent++
	t.all = append(t.all, res.Latency)
	sec := max(0, int(res.Timestamp.Sub(t.start)/time.Second))
	for len(t.seconds) <= sec {
		t.seconds = append(t.seconds, nil)
	}
	t.seconds[sec] = append(t.seconds[sec], res.Latency)
	if res.Error == "" && res.Code >= 200 && res.Code < 300 {
		t.r.Answered++
	} else if len(t.r.Failures) < 5 {
		// vegeta's error names an answer's status, or says why none came.
		what := res.Error
		if what == "" {
			what = strconv.Itoa(int(res.Code))
		}
		t.r.Failures = append(t.r.Failures, what)
	}
}

func (t *tally) report() attackReport {
	r := t.r
	if r.Sent > 1 && t.last.After(t.first) {
		r.SentRate = float64(r.Sent-1) / t.last.Sub(t.first).Seconds()
	}
	r.P50, r.P99, r.P999, r.Max = latency.Quantile(t.all, 0.50), latency.Quantile(t.all, 0.99), latency.Quantile(t.all, 0.999), latency.Quantile(t.all, 1)
	var settled []time.Duration
	for _, sec := range t.seconds[min(1, len(t.seconds)):] {
		settled = append(settled, sec...)
	}
	r.SettledP99 = latency.Quantile(settled, 0.99)
	for i, sec := range t.seconds {
		// A second with few requests (the run's last, cut short) says
		// little about its P99.
		if p := latency.Quantile(sec, 0.99); len(sec) >= 100 && p > r.WorstSecondP99 {
			r.WorstSecondP99, r.WorstSecond = p, i+1
		}
	}
	return r
}

// errShortRate refuses a run whose requests went out slower than asked.
var errShortRate = errors.New("the machine is too busy for this rate")

// attack measures the target called name at b.rate. A run the machine
// was too busy to send at that rate is measured once more (a neighbour's
// burst on a shared host, say), and refused only when that falls short
// too: its figures are never kept.
func (b *bench) attack(ctx context.Context, name, target, tokenFile string) (result, error) {
	return onceMoreIfShort(os.Stdout, name, func() (result, error) { return b.attackOnce(ctx, target, tokenFile) })
}

// onceMoreIfShort is run, and run again, saying so on w, when the first
// run's rate fell short.
func onceMoreIfShort(w io.Writer, name string, run func() (result, error)) (result, error) {
	r, err := run()
	if errors.Is(err, errShortRate) {
		fmt.Fprintf(w, "%s: %v; measured again\n", name, err)
		r, err = run()
	}
	return r, err
}

// attackOnce runs the generator once against target at b.rate and reads
// its report. Every request must have had a 2xx, and the requests must
// have gone out at the rate asked for: otherwise the run is refused.
func (b *bench) attackOnce(ctx context.Context, target, tokenFile string) (result, error) {
	spec, err := json.Marshal(attackSpec{URL: target, Rate: b.rate, Duration: b.duration, TokenFile: tokenFile})
	if err != nil {
		return result{}, err
	}
	cmd, err := selfAs(ctx, attackEnv, string(spec))
	if err != nil {
		return result{}, err
	}
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		return result{}, fmt.Errorf("the load generator: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	var rep attackReport
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		return result{}, fmt.Errorf("the load generator's report: %w", err)
	}
	if err := rep.check(b.rate); err != nil {
		return result{}, err
	}
	return result{
		rps: float64(rep.Answered) / b.duration.Seconds(), p50: us(rep.P50), p99: us(rep.P99), p999: us(rep.P999), max: us(rep.Max),
		worstSecondP99: us(rep.WorstSecondP99), worstSecond: rep.WorstSecond, settledP99: us(rep.SettledP99),
		wrkCores: (cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()).Seconds() / b.duration.Seconds(),
	}, nil
}

// us rounds d to the microsecond, as wrk prints its latencies.
func us(d time.Duration) time.Duration { return d.Round(time.Microsecond) }

// check refuses a run with a failed request, or whose requests went out
// slower than rate: then the generator, not the target, set the pace.
func (r attackReport) check(rate int) error {
	if r.Answered != r.Sent {
		return fmt.Errorf("%d of %d requests failed, e.g. %s", r.Sent-r.Answered, r.Sent, strings.Join(r.Failures, "; "))
	}
	if r.SentRate < 0.98*float64(rate) {
		return fmt.Errorf("the load generator sent %.0f requests a second of the %d asked for: %w", r.SentRate, rate, errShortRate)
	}
	return nil
}

// checkRate refuses what -rate cannot be combined with.
func checkRate(rate int, think time.Duration, fresh float64) error {
	switch {
	case rate < 0:
		return errors.New("-rate is a number of requests a second")
	case rate > 0 && think > 0:
		return errors.New("-rate and -think are two ways to pace the load: give one")
	case rate > 0 && fresh > 0:
		return errors.New("-rate sends one token; -fresh is measured with wrk's closed loop")
	}
	return nil
}
