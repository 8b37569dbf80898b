package httpapi

import (
	"bufio"
	"context"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/lattice-platform/lattice/pkg/fault"
	"github.com/lattice-platform/lattice/pkg/platform/apimw"
	"github.com/lattice-platform/lattice/services/resource/app"
	"github.com/lattice-platform/lattice/services/resource/domain"
	"github.com/lattice-platform/lattice/services/resource/oapi"
)

func toFile(f domain.File) oapi.File {
	out := oapi.File{Id: apimw.UUID(f.ID), ResourceId: apimw.UUID(f.ResourceID), Name: f.Name, ContentType: f.ContentType,
		Size: f.Size, Sha256: f.SHA256, CreatedAt: f.CreatedAt, Status: oapi.FileStatus(f.Status)}
	if f.RejectedReason != "" {
		out.RejectedReason = &f.RejectedReason
	}
	return out
}

// UploadFile streams a raw or multipart upload into the use case. The
// first 512 bytes are sniffed here, at the edge, with the standard
// library's algorithm (net/http's DetectContentType).
func (s *Server) UploadFile(ctx context.Context, req oapi.UploadFileRequestObject) (oapi.UploadFileResponseObject, error) {
	c, err := s.caller(ctx)
	if err != nil {
		return nil, err
	}
	var name string
	var body io.Reader
	switch {
	case req.MultipartBody != nil:
		for {
			part, err := req.MultipartBody.NextPart()
			if errors.Is(err, io.EOF) {
				return nil, fault.InvalidField("file", "the form has no file part")
			}
			if err != nil {
				return nil, decodeFailure(err)
			}
			if part.FormName() == "file" {
				name, body = part.FileName(), part
				break
			}
		}
	case req.Body == nil:
		return nil, fault.New(fault.UnsupportedMedia, "send the file as application/octet-stream (with name) or as the file part of multipart/form-data")
	default:
		if req.Params.Name == nil || *req.Params.Name == "" {
			return nil, fault.InvalidField("name", "is required for a raw upload")
		}
		name, body = *req.Params.Name, req.Body
	}
	buf := bufio.NewReaderSize(body, 512)
	head, err := buf.Peek(512)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return nil, decodeFailure(err)
	}
	f, err := s.app.AddFile(ctx, c, req.Id.String(), app.Upload{Name: name, Sniffed: http.DetectContentType(head), Body: buf})
	if err != nil {
		return nil, err
	}
	return oapi.UploadFile201JSONResponse{Body: toFile(f),
		Headers: oapi.UploadFile201ResponseHeaders{Location: "/v1/resources/" + f.ResourceID + "/files/" + f.ID}}, nil
}

// decodeFailure reports a broken upload stream: over the body cap, or a
// malformed multipart body.
func decodeFailure(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return fault.New(fault.TooLarge, "the upload exceeds "+strconv.FormatInt(mbe.Limit, 10)+" bytes")
	}
	return fault.Wrap(fault.Invalid, "the upload body is malformed", err)
}

// ListFiles lists a resource's files.
func (s *Server) ListFiles(ctx context.Context, req oapi.ListFilesRequestObject) (oapi.ListFilesResponseObject, error) {
	c, err := s.caller(ctx)
	if err != nil {
		return nil, err
	}
	files, err := s.app.Files(ctx, c, req.Id.String())
	if err != nil {
		return nil, err
	}
	out := oapi.FileList{Items: make([]oapi.File, len(files))}
	for i, f := range files {
		out.Items[i] = toFile(f)
	}
	return oapi.ListFiles200JSONResponse(out), nil
}

// GetFile returns a file's record.
func (s *Server) GetFile(ctx context.Context, req oapi.GetFileRequestObject) (oapi.GetFileResponseObject, error) {
	c, err := s.caller(ctx)
	if err != nil {
		return nil, err
	}
	f, err := s.app.File(ctx, c, req.Id.String(), req.FileId.String())
	if err != nil {
		return nil, err
	}
	return oapi.GetFile200JSONResponse(toFile(f)), nil
}

// DeleteFile removes a file.
func (s *Server) DeleteFile(ctx context.Context, req oapi.DeleteFileRequestObject) (oapi.DeleteFileResponseObject, error) {
	c, err := s.caller(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.app.DeleteFile(ctx, c, req.Id.String(), req.FileId.String()); err != nil {
		return nil, err
	}
	return oapi.DeleteFile204Response{}, nil
}

// DownloadFile serves a file's bytes with http.ServeContent, which handles
// Range, If-Range and conditional requests; the content is read lazily, one
// ranged read per requested range.
func (s *Server) DownloadFile(ctx context.Context, req oapi.DownloadFileRequestObject) (oapi.DownloadFileResponseObject, error) {
	c, err := s.caller(ctx)
	if err != nil {
		return nil, err
	}
	f, err := s.app.File(ctx, c, req.Id.String(), req.FileId.String())
	if err != nil {
		return nil, err
	}
	// http.ServeContent reads only the method and these headers.
	return fileContent{ctx: ctx, app: s.app, file: f, req: &http.Request{Method: http.MethodGet, Header: conditionsFrom(ctx)}}, nil
}

type fileContent struct {
	ctx  context.Context
	app  *app.Service
	file domain.File
	req  *http.Request
}

func (fc fileContent) VisitDownloadFileResponse(w http.ResponseWriter) error {
	h := w.Header()
	h.Set("Content-Type", fc.file.ContentType)
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": fc.file.Name}))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("ETag", `"`+fc.file.SHA256+`"`)
	h.Set("Cache-Control", "private, no-cache")
	content := &lazyBlob{ctx: fc.ctx, app: fc.app, file: fc.file}
	defer content.Close()
	http.ServeContent(w, fc.req, "", fc.file.CreatedAt, content)
	return nil
}

// lazyBlob is an io.ReadSeeker over a stored file that opens the blob at
// the current offset on the first read after a seek.
type lazyBlob struct {
	ctx  context.Context
	app  *app.Service
	file domain.File
	off  int64
	rc   io.ReadCloser
}

func (b *lazyBlob) Seek(offset int64, whence int) (int64, error) {
	var abs int64
	switch whence {
	case io.SeekStart:
		abs = offset
	case io.SeekCurrent:
		abs = b.off + offset
	case io.SeekEnd:
		abs = b.file.Size + offset
	}
	if abs < 0 {
		return 0, errors.New("negative position")
	}
	if abs != b.off {
		b.Close()
	}
	b.off = abs
	return abs, nil
}

func (b *lazyBlob) Read(p []byte) (int, error) {
	if b.off >= b.file.Size {
		return 0, io.EOF
	}
	if b.rc == nil {
		rc, err := b.app.OpenFile(b.ctx, b.file, b.off, b.file.Size-b.off)
		if err != nil {
			return 0, err
		}
		b.rc = rc
	}
	n, err := b.rc.Read(p)
	b.off += int64(n)
	return n, err
}

func (b *lazyBlob) Close() error {
	if b.rc == nil {
		return nil
	}
	err := b.rc.Close()
	b.rc = nil
	return err
}

type conditionsKey struct{}

// conditionHeaders are the request headers a download answers to: ranges
// and preconditions.
var conditionHeaders = []string{"Range", "If-Range", "If-Match", "If-None-Match", "If-Modified-Since", "If-Unmodified-Since"}

// keepConditions carries a download's range and precondition headers to
// its handler, which sees only a context (the strict server declares only
// Range), so the request itself never travels in the context.
func keepConditions(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet || !strings.Contains(r.URL.Path, "/files/") {
			next.ServeHTTP(w, r)
			return
		}
		h := http.Header{}
		for _, k := range conditionHeaders {
			if v := r.Header.Values(k); len(v) > 0 {
				h[k] = v
			}
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), conditionsKey{}, h)))
	})
}

func conditionsFrom(ctx context.Context) http.Header {
	h, _ := ctx.Value(conditionsKey{}).(http.Header)
	if h == nil {
		h = http.Header{}
	}
	return h
}
