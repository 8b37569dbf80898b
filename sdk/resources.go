package lattice

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"iter"
	"net/http"
	"strconv"

	"github.com/google/uuid"

	"github.com/lattice-platform/lattice/sdk/api/resources"
)

// ETag is a resource's version as its entity tag (`"3"`): what Get,
// Create and Update return, and what Update, Replace and Delete send in
// If-Match so that they apply only to the version the caller has seen.
type ETag string

// ConflictError is the answer to an Update, Replace or Delete whose ETag
// is no longer the resource's: someone changed it first. Read it again,
// decide again, and retry with the new ETag (Modify does this).
type ConflictError struct {
	ID   uuid.UUID
	Sent ETag
	// Problem is the server's answer (412 precondition-failed).
	Problem *Problem
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("lattice: resource %s changed since version %s: %s", e.ID, e.Sent, e.Problem.Detail)
}

// Unwrap gives the Problem, so that IsConflict and errors.As(*Problem) work.
func (e *ConflictError) Unwrap() error { return e.Problem }

// ResourcesClient calls the resource service: resources, their versions
// and their files.
type ResourcesClient struct {
	// API has every operation of openapi/resource.yaml.
	API *resources.ClientWithResponses
}

// Create makes a resource and returns it with its ETag. The call carries
// an Idempotency-Key (generated, or WithIdempotencyKey's), so a retry
// after a lost answer returns the first resource instead of a second one.
func (c *ResourcesClient) Create(ctx context.Context, in resources.ResourceInput) (*resources.Resource, ETag, error) {
	resp, err := c.API.CreateResourceWithResponse(ctx, &resources.CreateResourceParams{}, in)
	if err != nil {
		return nil, "", err
	}
	return tagged(resp.JSON201, resp.HTTPResponse)
}

// Get reads a resource and its ETag.
func (c *ResourcesClient) Get(ctx context.Context, id uuid.UUID) (*resources.Resource, ETag, error) {
	resp, err := c.API.GetResourceWithResponse(ctx, id)
	if err != nil {
		return nil, "", err
	}
	return tagged(resp.JSON200, resp.HTTPResponse)
}

// Update applies a JSON merge patch (RFC 7396) to the version etag names.
// When the resource has changed since, it returns a *ConflictError.
func (c *ResourcesClient) Update(ctx context.Context, id uuid.UUID, etag ETag, patch resources.ResourcePatch) (*resources.Resource, ETag, error) {
	m := resources.IfMatch(etag)
	resp, err := c.API.PatchResourceWithApplicationMergePatchPlusJSONBodyWithResponse(ctx, id, &resources.PatchResourceParams{IfMatch: &m}, patch)
	if err != nil {
		return nil, "", conflictOf(id, etag, err)
	}
	return tagged(resp.JSON200, resp.HTTPResponse)
}

// Replace sets every field of the version etag names (PUT). When the
// resource has changed since, it returns a *ConflictError.
func (c *ResourcesClient) Replace(ctx context.Context, id uuid.UUID, etag ETag, in resources.ResourceInput) (*resources.Resource, ETag, error) {
	m := resources.IfMatch(etag)
	resp, err := c.API.ReplaceResourceWithResponse(ctx, id, &resources.ReplaceResourceParams{IfMatch: &m}, in)
	if err != nil {
		return nil, "", conflictOf(id, etag, err)
	}
	return tagged(resp.JSON200, resp.HTTPResponse)
}

// Delete deletes the version etag names ("*": whatever the version).
// When the resource has changed since, it returns a *ConflictError.
func (c *ResourcesClient) Delete(ctx context.Context, id uuid.UUID, etag ETag) error {
	m := resources.IfMatch(etag)
	_, err := c.API.DeleteResourceWithResponse(ctx, id, &resources.DeleteResourceParams{IfMatch: &m})
	return conflictOf(id, etag, err)
}

// maxModifyAttempts bounds Modify's read-decide-write rounds: past it,
// the resource is changing faster than the caller can follow.
const maxModifyAttempts = 5

// Modify is a read-modify-write that survives concurrent writers: it reads
// the resource, asks change for a patch, and applies it at the version
// read; when another writer got there first it reads again and asks again,
// a few times at most. change must not have side effects, since it may
// run more than once.
func (c *ResourcesClient) Modify(ctx context.Context, id uuid.UUID, change func(*resources.Resource) (resources.ResourcePatch, error)) (*resources.Resource, ETag, error) {
	var err error
	for range maxModifyAttempts {
		var r *resources.Resource
		var etag ETag
		if r, etag, err = c.Get(ctx, id); err != nil {
			return nil, "", err
		}
		patch, cerr := change(r)
		if cerr != nil {
			return nil, "", cerr
		}
		var updated *resources.Resource
		if updated, etag, err = c.Update(ctx, id, etag, patch); err == nil {
			return updated, etag, nil
		}
		if _, ok := errors.AsType[*ConflictError](err); !ok {
			return nil, "", err
		}
	}
	return nil, "", err
}

// List reads one page of the resources the caller may read.
func (c *ResourcesClient) List(ctx context.Context, params *resources.ListResourcesParams) (*resources.ResourcePage, error) {
	resp, err := c.API.ListResourcesWithResponse(ctx, params)
	if err != nil {
		return nil, err
	}
	return body(resp.JSON200, resp.HTTPResponse)
}

// All walks every resource filter matches, page by page (filter's Cursor
// is where it starts; nil: every resource the caller may read).
func (c *ResourcesClient) All(ctx context.Context, filter *resources.ListResourcesParams) iter.Seq2[resources.Resource, error] {
	var p resources.ListResourcesParams
	if filter != nil {
		p = *filter
	}
	return pages(ctx, func(ctx context.Context, cursor *string) ([]resources.Resource, *string, error) {
		if cursor != nil {
			p.Cursor = cursor
		}
		page, err := c.List(ctx, &p)
		if err != nil {
			return nil, nil, err
		}
		return page.Items, page.NextCursor, nil
	})
}

// Upload streams content as a file of the resource, named name. content
// is sent as it is read (nothing is buffered); an *os.File's size is sent
// as Content-Length. An upload is not retried: its body is read once.
func (c *ResourcesClient) Upload(ctx context.Context, id uuid.UUID, name string, content io.Reader) (*resources.File, error) {
	var editors []resources.RequestEditorFn
	if st, ok := content.(interface{ Stat() (fs.FileInfo, error) }); ok {
		if fi, err := st.Stat(); err == nil && fi.Mode().IsRegular() {
			editors = append(editors, func(_ context.Context, req *http.Request) error {
				req.ContentLength = fi.Size()
				return nil
			})
		}
	}
	resp, err := c.API.UploadFileWithBodyWithResponse(ctx, id, &resources.UploadFileParams{Name: &name}, "application/octet-stream", content, editors...)
	if err != nil {
		return nil, err
	}
	return body(resp.JSON201, resp.HTTPResponse)
}

// Download is a file's content as it arrives. Close it.
type Download struct {
	io.ReadCloser
	ContentType string
	// Size is the length of this body (-1 when the server did not say).
	Size int64
	// Offset is where the body starts in the file, and Total the file's
	// length: for a Range download (-1 when unknown).
	Offset, Total int64
}

// Download streams a file's content.
func (c *ResourcesClient) Download(ctx context.Context, id, fileID uuid.UUID) (*Download, error) {
	resp, err := c.API.DownloadFile(ctx, id, fileID, &resources.DownloadFileParams{})
	if err != nil {
		return nil, err
	}
	return &Download{ReadCloser: resp.Body, ContentType: resp.Header.Get("Content-Type"), Size: resp.ContentLength, Total: resp.ContentLength}, nil
}

// DownloadRange streams length bytes of a file from offset (length <= 0:
// to the end), with an HTTP Range request.
func (c *ResourcesClient) DownloadRange(ctx context.Context, id, fileID uuid.UUID, offset, length int64) (*Download, error) {
	if offset < 0 {
		return nil, errors.New("lattice: DownloadRange: negative offset")
	}
	spec := "bytes=" + strconv.FormatInt(offset, 10) + "-"
	if length > 0 {
		spec += strconv.FormatInt(offset+length-1, 10)
	}
	resp, err := c.API.DownloadFile(ctx, id, fileID, &resources.DownloadFileParams{Range: &spec})
	if err != nil {
		return nil, err
	}
	d := &Download{ReadCloser: resp.Body, ContentType: resp.Header.Get("Content-Type"), Size: resp.ContentLength, Offset: offset, Total: -1}
	if resp.StatusCode != http.StatusPartialContent {
		resp.Body.Close()
		return nil, fmt.Errorf("lattice: DownloadRange: the server answered %d, not 206 Partial Content", resp.StatusCode)
	}
	var first, last, total int64
	if _, err := fmt.Sscanf(resp.Header.Get("Content-Range"), "bytes %d-%d/%d", &first, &last, &total); err == nil {
		d.Offset, d.Total = first, total
	}
	return d, nil
}

// tagged returns a resource answer with its ETag.
func tagged(r *resources.Resource, resp *http.Response) (*resources.Resource, ETag, error) {
	r, err := body(r, resp)
	if err != nil {
		return nil, "", err
	}
	return r, ETag(resp.Header.Get("ETag")), nil
}

// conflictOf turns a 412 into a *ConflictError.
func conflictOf(id uuid.UUID, sent ETag, err error) error {
	if p, ok := errors.AsType[*Problem](err); ok && p.Status == http.StatusPreconditionFailed {
		return &ConflictError{ID: id, Sent: sent, Problem: p}
	}
	return err
}
