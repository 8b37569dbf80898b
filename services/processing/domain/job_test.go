package domain_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/services/processing/domain"
)

func TestJobLifecycle(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	b := domain.Backoff{Base: time.Second, Max: time.Minute}
	j := domain.Job{ID: "j", State: domain.Queued, MaxAttempts: 3}

	j, err := j.Start(now)
	require.NoError(t, err)
	require.Equal(t, domain.Running, j.State)
	require.Equal(t, 1, j.Attempts)
	_, err = j.Start(now)
	require.ErrorIs(t, err, domain.ErrJobNotRunnable)
	j = j.Report(140, now)
	require.Equal(t, 100, j.Progress)

	j = j.Fail("timeout", false, b, 0.5, now)
	require.Equal(t, domain.Queued, j.State)
	require.Equal(t, now.Add(750*time.Millisecond), j.NextAttemptAt, "half the base plus half the jitter")
	j, _ = j.Start(now)
	j = j.Fail("timeout", false, b, 0, now)
	require.Equal(t, now.Add(time.Second), j.NextAttemptAt, "doubled")
	j, _ = j.Start(now)
	j = j.Fail("timeout again", false, b, 0, now)
	require.Equal(t, domain.Dead, j.State, "attempts are used up")
	require.Equal(t, "timeout again", j.LastError)

	j, err = j.Retry(now)
	require.NoError(t, err)
	require.Equal(t, domain.Queued, j.State)
	require.Zero(t, j.Attempts)

	j, _ = j.Start(now)
	j = j.Succeed(now)
	require.Equal(t, 100, j.Progress)
	_, err = j.Cancel(now)
	require.ErrorIs(t, err, domain.ErrJobFinished)
	_, err = j.Retry(now)
	require.ErrorIs(t, err, domain.ErrJobNotRetrying)
}

func TestPermanentFailuresDoNotRetry(t *testing.T) {
	t.Parallel()
	j, _ := domain.Job{State: domain.Queued, MaxAttempts: 5}.Start(time.Now())
	j = j.Fail("not a PDF", true, domain.Backoff{Base: time.Second, Max: time.Minute}, 0, time.Now())
	require.Equal(t, domain.Dead, j.State)
}

func TestBackoffIsCapped(t *testing.T) {
	t.Parallel()
	b := domain.Backoff{Base: time.Second, Max: 30 * time.Second}
	require.Equal(t, 30*time.Second, b.Delay(100, 1))
	require.Equal(t, 15*time.Second, b.Delay(100, 0))
}
