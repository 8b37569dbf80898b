package domain_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/services/auth/domain"
)

func TestThrottlePolicyWait(t *testing.T) {
	t.Parallel()
	last := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	slow := domain.ThrottlePolicy{Window: time.Hour, Free: 3, Base: time.Second, Max: 10 * time.Second}
	lock := domain.ThrottlePolicy{Window: time.Hour, Free: 5, Base: 15 * time.Minute, Max: 15 * time.Minute}
	tests := []struct {
		policy   domain.ThrottlePolicy
		failures int
		want     time.Duration // 0: no wait
	}{
		{slow, 0, 0}, {slow, 2, 0}, {slow, 3, time.Second}, {slow, 4, 2 * time.Second},
		{slow, 6, 8 * time.Second}, {slow, 7, 10 * time.Second}, {slow, 1 << 30, 10 * time.Second},
		{lock, 4, 0}, {lock, 5, 15 * time.Minute}, {lock, 50, 15 * time.Minute},
	}
	for _, tt := range tests {
		got := tt.policy.WaitUntil(domain.FailureCount{Failures: tt.failures, Last: last})
		if tt.want == 0 {
			require.True(t, got.IsZero(), "%d failures", tt.failures)
			continue
		}
		require.Equal(t, last.Add(tt.want), got, "%d failures", tt.failures)
	}
	require.Equal(t, domain.FailureCount{}, slow.Live(domain.FailureCount{Failures: 9, Last: last}, last.Add(time.Hour+time.Nanosecond)),
		"a count past its window is forgotten")
}

func TestLoginThrottleAdmit(t *testing.T) {
	t.Parallel()
	th := domain.DefaultLoginThrottle
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	recent := func(n int) domain.FailureCount { return domain.FailureCount{Failures: n, Last: now.Add(-time.Second)} }
	tests := []struct {
		name   string
		counts domain.LoginCounts
		refuse bool
		delay  time.Duration
	}{
		{name: "nothing failed", counts: domain.LoginCounts{}},
		{name: "a few failures cost nothing", counts: domain.LoginCounts{Pair: recent(4), Address: recent(4), Account: recent(4)}},
		{name: "the pair is locked", counts: domain.LoginCounts{Pair: recent(5), Address: recent(5), Account: recent(5)}, refuse: true},
		{name: "the address is slowed down", counts: domain.LoginCounts{Address: recent(12)}, refuse: true},
		{name: "an account under attack slows down a failing address", counts: domain.LoginCounts{Address: recent(1), Account: recent(12)}, refuse: true},
		{name: "an account under attack only delays a clean address", counts: domain.LoginCounts{Account: recent(12)}, delay: time.Second},
		{name: "however long the account's wait", counts: domain.LoginCounts{Account: recent(1000)}, delay: time.Second},
		{name: "old failures are forgotten", counts: domain.LoginCounts{
			Pair:    domain.FailureCount{Failures: 50, Last: now.Add(-16 * time.Minute)},
			Address: domain.FailureCount{Failures: 50, Last: now.Add(-16 * time.Minute)},
			Account: domain.FailureCount{Failures: 50, Last: now.Add(-16 * time.Minute)}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := th.Admit(tt.counts, now)
			require.Equal(t, tt.refuse, a.RefuseUntil.After(now), "refused until %v", a.RefuseUntil)
			require.Equal(t, tt.delay, a.Delay)
		})
	}
}
