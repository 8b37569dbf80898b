// Package resourceapi reads resources and files through the resource
// service's REST API with its generated client: the processing service's
// ContentSource (with a service token that may read everything) and its
// access check (with the caller's own token, so the resource service alone
// decides who may see what).
package resourceapi

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"

	"github.com/google/uuid"

	"github.com/lattice-platform/lattice/pkg/fault"
	"github.com/lattice-platform/lattice/pkg/ports"
	"github.com/lattice-platform/lattice/services/processing/app"
	"github.com/lattice-platform/lattice/services/resource/oapi"
)

// Client is the adapter.
type Client struct {
	api    *oapi.Client // with the service credential
	caller *oapi.Client // with none: each request carries the caller's
}

var (
	_ app.ContentSource    = (*Client)(nil)
	_ ports.ResourceAccess = (*Client)(nil)
)

// New talks to the resource service at baseURL: through service, which
// carries the service's credential (an oauth2 client-credentials client),
// and through plain for requests made with a caller's credential.
func New(baseURL string, service, plain *http.Client) (*Client, error) {
	api, err := oapi.NewClient(baseURL, oapi.WithHTTPClient(service))
	if err != nil {
		return nil, err
	}
	caller, err := oapi.NewClient(baseURL, oapi.WithHTTPClient(plain))
	if err != nil {
		return nil, err
	}
	return &Client{api: api, caller: caller}, nil
}

func parseID(what, id string) (uuid.UUID, error) {
	u, err := uuid.Parse(id)
	if err != nil {
		return u, fault.New(fault.NotFound, what+" not found")
	}
	return u, nil
}

// status turns an unexpected answer into an error of the right class:
// 404 is NotFound (deleted since), everything else may pass with a retry.
func status(what string, resp *http.Response) error {
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return fault.New(fault.NotFound, what+" not found")
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return fault.New(fault.Unavailable, fmt.Sprintf("the resource service refused the service credential (%d)", resp.StatusCode))
	default:
		return fault.New(fault.Unavailable, fmt.Sprintf("the resource service answered %d", resp.StatusCode))
	}
}

func unreachable(err error) error {
	return fault.Wrap(fault.Unavailable, "the resource service could not be reached", err)
}

// ResourceText returns the resource's title and body at its current version.
func (c *Client) ResourceText(ctx context.Context, resourceID string) (string, string, int64, error) {
	id, err := parseID("resource", resourceID)
	if err != nil {
		return "", "", 0, err
	}
	resp, err := c.api.GetResource(ctx, id)
	if err != nil {
		return "", "", 0, unreachable(err)
	}
	parsed, err := oapi.ParseGetResourceResponse(resp)
	if err != nil {
		return "", "", 0, unreachable(err)
	}
	if parsed.JSON200 == nil {
		return "", "", 0, status("resource", parsed.HTTPResponse)
	}
	r := parsed.JSON200
	return r.Title, r.Body, r.Version, nil
}

// FileContent streams a file's bytes.
func (c *Client) FileContent(ctx context.Context, resourceID, fileID string) (io.ReadCloser, string, error) {
	id, err := parseID("resource", resourceID)
	if err != nil {
		return nil, "", err
	}
	fid, err := parseID("file", fileID)
	if err != nil {
		return nil, "", err
	}
	resp, err := c.api.DownloadFile(ctx, id, fid, &oapi.DownloadFileParams{})
	if err != nil {
		return nil, "", unreachable(err)
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return nil, "", status("file", resp)
	}
	return resp.Body, resp.Header.Get("Content-Type"), nil
}

// FileIDs lists a resource's files that have not been rejected.
func (c *Client) FileIDs(ctx context.Context, resourceID string) ([]string, error) {
	id, err := parseID("resource", resourceID)
	if err != nil {
		return nil, err
	}
	resp, err := c.api.ListFiles(ctx, id)
	if err != nil {
		return nil, unreachable(err)
	}
	parsed, err := oapi.ParseListFilesResponse(resp)
	if err != nil {
		return nil, unreachable(err)
	}
	if parsed.JSON200 == nil {
		return nil, status("resource", parsed.HTTPResponse)
	}
	var out []string
	for _, f := range parsed.JSON200.Items {
		if f.Status != oapi.Rejected {
			out = append(out, f.Id.String())
		}
	}
	return out, nil
}

// CheckRead asks the resource service, with the caller's own bearer
// credential, whether the caller may read the resource: nil if so, a
// fault.NotFound error if not (existence is not revealed either way).
func (c *Client) CheckRead(ctx context.Context, bearer, resourceID string) error {
	id, err := parseID("resource", resourceID)
	if err != nil {
		return err
	}
	resp, err := c.caller.GetResource(ctx, id, func(_ context.Context, req *http.Request) error {
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		return nil
	})
	if err != nil {
		return unreachable(err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	switch resp.StatusCode {
	case http.StatusOK:
		return nil
	case http.StatusNotFound, http.StatusUnauthorized, http.StatusForbidden:
		return fault.New(fault.NotFound, "resource not found")
	default:
		return status("resource", resp)
	}
}

// Readable asks the resource service once, with the caller's own bearer
// credential, which of ids the caller may read.
func (c *Client) Readable(ctx context.Context, bearer string, ids []string) ([]string, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	body := oapi.AccessCheck{Ids: make([]uuid.UUID, len(ids))}
	for i, id := range ids {
		u, err := parseID("resource", id)
		if err != nil {
			return nil, err
		}
		body.Ids[i] = u
	}
	resp, err := c.caller.CheckResourceAccess(ctx, body, func(_ context.Context, req *http.Request) error {
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		return nil
	})
	if err != nil {
		return nil, unreachable(err)
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
		var res oapi.AccessCheckResult
		// 100 uuids fit in a few KiB; the cap only guards against a broken peer.
		if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&res); err != nil {
			return nil, fault.Wrap(fault.BadGateway, "the resource service answered an access check with garbage", err)
		}
		out := make([]string, len(res.Readable))
		for i, id := range res.Readable {
			out[i] = id.String()
		}
		return out, nil
	case http.StatusUnauthorized:
		return nil, nil // a credential the resource service refuses reads nothing
	}
	return nil, status("resource", resp)
}
