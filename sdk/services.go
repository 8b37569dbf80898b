package lattice

import (
	"context"
	"iter"

	"github.com/google/uuid"

	"github.com/lattice-platform/lattice/sdk/api/analytics"
	"github.com/lattice-platform/lattice/sdk/api/auth"
	"github.com/lattice-platform/lattice/sdk/api/composite"
	"github.com/lattice-platform/lattice/sdk/api/jobs"
	"github.com/lattice-platform/lattice/sdk/api/search"
)

// SearchClient calls the search service: full-text, vector and hybrid
// queries over the resources and files the caller may read.
type SearchClient struct {
	// API has every operation of openapi/search.yaml.
	API *search.ClientWithResponses
}

// Query runs one search and returns one page of hits.
func (c *SearchClient) Query(ctx context.Context, q search.SearchRequest) (*search.SearchResult, error) {
	resp, err := c.API.SearchWithResponse(ctx, q)
	if err != nil {
		return nil, err
	}
	return body(resp.JSON200, resp.HTTPResponse)
}

// All walks every hit of q, page by page (the service stops at its depth
// limit).
func (c *SearchClient) All(ctx context.Context, q search.SearchRequest) iter.Seq2[search.Hit, error] {
	return pages(ctx, func(ctx context.Context, cursor *string) ([]search.Hit, *string, error) {
		if cursor != nil {
			q.Cursor = cursor
		}
		page, err := c.Query(ctx, q)
		if err != nil {
			return nil, nil, err
		}
		return page.Hits, page.NextCursor, nil
	})
}

// JobsClient calls the processing service: the background jobs that
// extract, chunk and embed files.
type JobsClient struct {
	// API has every operation of openapi/processing.yaml.
	API *jobs.ClientWithResponses
}

// Get reads a job, with its state and progress.
func (c *JobsClient) Get(ctx context.Context, id uuid.UUID) (*jobs.Job, error) {
	resp, err := c.API.GetJobWithResponse(ctx, id)
	if err != nil {
		return nil, err
	}
	return body(resp.JSON200, resp.HTTPResponse)
}

// Enqueue starts a job (it is not retried: a retry could start two).
func (c *JobsClient) Enqueue(ctx context.Context, req jobs.JobRequest) (*jobs.Job, error) {
	resp, err := c.API.EnqueueJobWithResponse(ctx, req)
	if err != nil {
		return nil, err
	}
	return body(resp.JSON202, resp.HTTPResponse)
}

// All walks the jobs filter matches, page by page.
func (c *JobsClient) All(ctx context.Context, filter *jobs.ListJobsParams) iter.Seq2[jobs.Job, error] {
	var p jobs.ListJobsParams
	if filter != nil {
		p = *filter
	}
	return pages(ctx, func(ctx context.Context, cursor *string) ([]jobs.Job, *string, error) {
		if cursor != nil {
			p.Cursor = cursor
		}
		resp, err := c.API.ListJobsWithResponse(ctx, &p)
		if err != nil {
			return nil, nil, err
		}
		page, err := body(resp.JSON200, resp.HTTPResponse)
		if err != nil {
			return nil, nil, err
		}
		return page.Items, page.NextCursor, nil
	})
}

// AnalyticsClient calls the analytics service's usage reports.
type AnalyticsClient struct {
	// API has every operation of openapi/analytics.yaml (usage and audit).
	API *analytics.ClientWithResponses
}

// Usage reads a usage series: requests, errors, bytes and latency
// percentiles per interval.
func (c *AnalyticsClient) Usage(ctx context.Context, params *analytics.GetUsageParams) (*analytics.UsageSeries, error) {
	resp, err := c.API.GetUsageWithResponse(ctx, params)
	if err != nil {
		return nil, err
	}
	return body(resp.JSON200, resp.HTTPResponse)
}

// Summary reads the usage totals of a period.
func (c *AnalyticsClient) Summary(ctx context.Context, params *analytics.GetSummaryParams) (*analytics.Summary, error) {
	resp, err := c.API.GetSummaryWithResponse(ctx, params)
	if err != nil {
		return nil, err
	}
	return body(resp.JSON200, resp.HTTPResponse)
}

// AuditClient reads the analytics service's audit trail.
type AuditClient struct {
	// API has every operation of openapi/analytics.yaml (usage and audit).
	API *analytics.ClientWithResponses
}

// All walks the audit events filter matches, page by page.
func (c *AuditClient) All(ctx context.Context, filter *analytics.ListAuditEventsParams) iter.Seq2[analytics.AuditEvent, error] {
	var p analytics.ListAuditEventsParams
	if filter != nil {
		p = *filter
	}
	return pages(ctx, func(ctx context.Context, cursor *string) ([]analytics.AuditEvent, *string, error) {
		if cursor != nil {
			p.Cursor = cursor
		}
		resp, err := c.API.ListAuditEventsWithResponse(ctx, &p)
		if err != nil {
			return nil, nil, err
		}
		page, err := body(resp.JSON200, resp.HTTPResponse)
		if err != nil {
			return nil, nil, err
		}
		return page.Items, page.NextCursor, nil
	})
}

// Verify checks the audit trail's hash chain and signed checkpoints.
func (c *AuditClient) Verify(ctx context.Context, req analytics.VerifyRequest) (*analytics.Verification, error) {
	resp, err := c.API.VerifyAuditEventsWithResponse(ctx, req)
	if err != nil {
		return nil, err
	}
	return body(resp.JSON200, resp.HTTPResponse)
}

// AuthClient calls the auth service: users, sessions, API keys and OAuth
// clients.
type AuthClient struct {
	// API has every operation of openapi/auth.yaml.
	API *auth.ClientWithResponses
}

// Me reads the signed-in user.
func (c *AuthClient) Me(ctx context.Context) (*auth.User, error) {
	resp, err := c.API.GetMeWithResponse(ctx)
	if err != nil {
		return nil, err
	}
	return body(resp.JSON200, resp.HTTPResponse)
}

// CreateAPIKey makes an API key holding scopes; its secret is in this
// answer only.
func (c *AuthClient) CreateAPIKey(ctx context.Context, name string, scopes ...string) (*auth.APIKeyCreated, error) {
	resp, err := c.API.CreateAPIKeyWithResponse(ctx, auth.APIKeyCreateRequest{Name: name, Scopes: scopes})
	if err != nil {
		return nil, err
	}
	return body(resp.JSON201, resp.HTTPResponse)
}

// GatewayClient calls the gateway's own operations: composites over
// several services, and the migration routes.
type GatewayClient struct {
	// API has every operation of openapi/gateway.yaml.
	API *composite.ClientWithResponses
}

// Overview reads a resource with its jobs and usage counts in one call
// (each part the gateway could not get is named in the answer's errors).
func (c *GatewayClient) Overview(ctx context.Context, id uuid.UUID) (*composite.ResourceOverview, error) {
	resp, err := c.API.GetResourceOverviewWithResponse(ctx, id)
	if err != nil {
		return nil, err
	}
	return body(resp.JSON200, resp.HTTPResponse)
}
