package app

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	"github.com/lattice-platform/lattice/pkg/fault"
	"github.com/lattice-platform/lattice/pkg/ports"
	"github.com/lattice-platform/lattice/services/processing/domain"
)

// GetJob returns a job the caller may see: an admin sees every job, anyone
// else the jobs of resources they may read. Others get ErrJobNotFound, so
// a job never reveals a resource.
func (s *Service) GetJob(ctx context.Context, c domain.Caller, id string) (domain.Job, error) {
	if err := c.RequireRead(); err != nil {
		return domain.Job{}, err
	}
	j, err := s.deps.Jobs.Get(ctx, id)
	if err != nil {
		return domain.Job{}, err
	}
	if err := s.checkRead(ctx, c, j.ResourceID); err != nil {
		return domain.Job{}, err
	}
	return j, nil
}

func (s *Service) checkRead(ctx context.Context, c domain.Caller, resourceID string) error {
	if c.Admin() {
		return nil
	}
	if resourceID == "" {
		return domain.ErrJobNotFound
	}
	err := s.deps.Access.CheckRead(ctx, c.Bearer, resourceID)
	if fault.Of(err, fault.NotFound) {
		return domain.ErrJobNotFound
	}
	return err
}

// ListJobs pages through jobs. Listing across resources needs the admin
// scope; with a resource filter, reading that resource is enough.
func (s *Service) ListJobs(ctx context.Context, c domain.Caller, f JobFilter, after string, limit int) ([]domain.Job, error) {
	if err := c.RequireRead(); err != nil {
		return nil, err
	}
	if !c.Admin() {
		if f.ResourceID == "" {
			return nil, fault.New(fault.Forbidden, "listing jobs across resources needs "+domain.ScopeAdmin+"; filter by resource_id")
		}
		if err := s.deps.Access.CheckRead(ctx, c.Bearer, f.ResourceID); err != nil {
			if fault.Of(err, fault.NotFound) {
				return []domain.Job{}, nil
			}
			return nil, err
		}
	}
	return s.deps.Jobs.List(ctx, f, after, limit)
}

// RetryJob queues a dead or cancelled job again (admin).
func (s *Service) RetryJob(ctx context.Context, c domain.Caller, id string) (domain.Job, error) {
	if err := c.RequireAdmin(); err != nil {
		return domain.Job{}, err
	}
	if err := s.audit(ctx, c, "job.retry", "job/"+id, nil); err != nil {
		return domain.Job{}, err
	}
	j, err := s.deps.Jobs.Update(ctx, id, func(j domain.Job) (domain.Job, error) { return j.Retry(s.deps.Clock.Now()) })
	if err != nil {
		return domain.Job{}, err
	}
	// A fresh dedup key: the first message of this job was consumed long ago.
	return j, s.deps.Queue.Enqueue(ctx, string(j.Kind), j.ID, fmt.Sprintf("%s:retry:%d", j.ID, j.UpdatedAt.UnixNano()))
}

// CancelJob stops a job that has not finished (admin). A running attempt
// completes, but its result no longer marks the job succeeded.
func (s *Service) CancelJob(ctx context.Context, c domain.Caller, id string) (domain.Job, error) {
	if err := c.RequireAdmin(); err != nil {
		return domain.Job{}, err
	}
	if err := s.audit(ctx, c, "job.cancel", "job/"+id, nil); err != nil {
		return domain.Job{}, err
	}
	return s.deps.Jobs.Update(ctx, id, func(j domain.Job) (domain.Job, error) { return j.Cancel(s.deps.Clock.Now()) })
}

// EnqueueReindex queues a reindex of one resource — its body and every
// file it holds (admin).
func (s *Service) EnqueueReindex(ctx context.Context, c domain.Caller, resourceID string) (domain.Job, error) {
	if err := c.RequireAdmin(); err != nil {
		return domain.Job{}, err
	}
	if _, err := uuid.Parse(resourceID); err != nil {
		return domain.Job{}, fault.InvalidField("resource_id", "must be a resource id")
	}
	now := s.deps.Clock.Now()
	j := domain.Job{ID: uuid.Must(uuid.NewV7()).String(), Kind: domain.KindReindex, ResourceID: resourceID,
		State: domain.Queued, MaxAttempts: s.opts.MaxAttempts, CreatedAt: now, UpdatedAt: now, NextAttemptAt: now}
	if err := s.audit(ctx, c, "job.reindex", "resource/"+resourceID, map[string]any{"job": j.ID}); err != nil {
		return domain.Job{}, err
	}
	if err := s.deps.Jobs.Create(ctx, j); err != nil {
		return domain.Job{}, err
	}
	return j, s.deps.Queue.Enqueue(ctx, string(j.Kind), j.ID, j.ID)
}

// audit records an admin action before it is carried out: an action that
// cannot be recorded is refused.
func (s *Service) audit(ctx context.Context, c domain.Caller, action, target string, details map[string]any) error {
	if err := s.deps.Audit.Record(ctx, ports.AuditEntry{Actor: c.Subject, Action: action, Target: target, Details: details}); err != nil {
		return fault.Wrap(fault.Unavailable, "the audit log cannot record this action now; retry shortly", err)
	}
	return nil
}
