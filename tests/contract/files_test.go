package contract_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/adapters/s3blob"
	"github.com/lattice-platform/lattice/pkg/testinfra"
	"github.com/lattice-platform/lattice/services/resource/oapi"
	"github.com/lattice-platform/lattice/services/resource/resourcesvc"
)

func withS3(t *testing.T) platformOption {
	return func(c *resourcesvc.Config) {
		srv := testinfra.S3Server(t)
		store, err := s3blob.New(context.Background(), s3blob.Config{Endpoint: srv.Endpoint, Bucket: srv.Bucket, AccessKey: srv.AccessKey, SecretKey: srv.SecretKey})
		require.NoError(t, err)
		c.Blobs = store
		c.MaxFileSize = 1 << 20
	}
}

func multipartBody(t *testing.T, filename string, content []byte) (string, *bytes.Buffer) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, err := mw.CreateFormFile("file", filename)
	require.NoError(t, err)
	_, err = fw.Write(content)
	require.NoError(t, err)
	require.NoError(t, mw.Close())
	return mw.FormDataContentType(), &buf
}

// TestFilesOnS3 uploads, lists, downloads (whole and by range) and deletes
// files stored on a real S3 server.
func TestFilesOnS3(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := startPlatform(t, withS3(t))
	_, key := p.apiKeyFor(t, "files@example.com", false)
	_, otherKey := p.apiKeyFor(t, "stranger@example.com", false)
	res, err := p.client.CreateResourceWithResponse(ctx, &oapi.CreateResourceParams{}, newInput("With files", oapi.Private), resBearer(key))
	require.NoError(t, err)
	rid := res.JSON201.Id

	notes := []byte("# Notes\n\nLattice stores *files* too.\n")
	name := "../../etc/notes\x00.md"
	raw, err := p.client.UploadFileWithBodyWithResponse(ctx, rid, &oapi.UploadFileParams{Name: &name}, "application/octet-stream", bytes.NewReader(notes), resBearer(key))
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, raw.StatusCode(), string(raw.Body))
	sum := sha256.Sum256(notes)
	require.Equal(t, hex.EncodeToString(sum[:]), raw.JSON201.Sha256)
	require.EqualValues(t, len(notes), raw.JSON201.Size)
	require.Equal(t, "notes.md", raw.JSON201.Name, "path and control characters are stripped")
	require.Equal(t, "text/markdown", raw.JSON201.ContentType)

	png := append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte{0}, 2000)...)
	ctype, body := multipartBody(t, "pixel.txt", png)
	form, err := p.client.UploadFileWithBodyWithResponse(ctx, rid, &oapi.UploadFileParams{}, ctype, body, resBearer(key))
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, form.StatusCode(), string(form.Body))
	require.Equal(t, "image/png", form.JSON201.ContentType, "sniffed bytes win over the name for binary types")

	list, err := p.client.ListFilesWithResponse(ctx, rid, resBearer(key))
	require.NoError(t, err)
	require.Len(t, list.JSON200.Items, 2)
	hidden, err := p.client.ListFilesWithResponse(ctx, rid, resBearer(otherKey))
	require.NoError(t, err)
	require.Equal(t, http.StatusNotFound, hidden.StatusCode(), "files of a private resource are not found for others")

	dl, err := p.client.DownloadFile(ctx, rid, raw.JSON201.Id, &oapi.DownloadFileParams{}, resBearer(key))
	require.NoError(t, err)
	got, _ := io.ReadAll(dl.Body)
	dl.Body.Close()
	require.Equal(t, http.StatusOK, dl.StatusCode)
	require.Equal(t, notes, got)
	require.Equal(t, "text/markdown", dl.Header.Get("Content-Type"))
	require.Equal(t, `attachment; filename=notes.md`, dl.Header.Get("Content-Disposition"))
	require.Equal(t, "nosniff", dl.Header.Get("X-Content-Type-Options"))

	rng := "bytes=2-6"
	part, err := p.client.DownloadFile(ctx, rid, raw.JSON201.Id, &oapi.DownloadFileParams{Range: &rng}, resBearer(key))
	require.NoError(t, err)
	got, _ = io.ReadAll(part.Body)
	part.Body.Close()
	require.Equal(t, http.StatusPartialContent, part.StatusCode)
	require.Equal(t, "Notes", string(got))
	require.Equal(t, fmt.Sprintf("bytes 2-6/%d", len(notes)), part.Header.Get("Content-Range"))
	bad := "bytes=100-200"
	unsat, err := p.client.DownloadFile(ctx, rid, raw.JSON201.Id, &oapi.DownloadFileParams{Range: &bad}, resBearer(key))
	require.NoError(t, err)
	unsat.Body.Close()
	require.Equal(t, http.StatusRequestedRangeNotSatisfiable, unsat.StatusCode)

	del, err := p.client.DeleteFileWithResponse(ctx, rid, raw.JSON201.Id, resBearer(key))
	require.NoError(t, err)
	require.Equal(t, http.StatusNoContent, del.StatusCode())
	gone, err := p.client.GetFileWithResponse(ctx, rid, raw.JSON201.Id, resBearer(key))
	require.NoError(t, err)
	require.Equal(t, http.StatusNotFound, gone.StatusCode())

	// After the grace period the purge removes the bytes and the row.
	files, _, err := p.resource.App.Purge(ctx, -1)
	require.NoError(t, err)
	require.Equal(t, 1, files)

	p.requireEvents(t, []string{"resource.created", "file.uploaded", "file.uploaded", "file.deleted"})
}

func TestFileUploadRejections(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := startPlatform(t, func(c *resourcesvc.Config) { c.MaxFileSize = 64 << 10 })
	_, key := p.apiKeyFor(t, "rejects@example.com", false)
	_, otherKey := p.apiKeyFor(t, "other-uploader@example.com", false)
	res, err := p.client.CreateResourceWithResponse(ctx, &oapi.CreateResourceParams{}, newInput("Target", oapi.Public), resBearer(key))
	require.NoError(t, err)
	rid := res.JSON201.Id
	upload := func(token, name string, content []byte) int {
		t.Helper()
		r, err := p.client.UploadFileWithBodyWithResponse(ctx, rid, &oapi.UploadFileParams{Name: &name}, "application/octet-stream", bytes.NewReader(content), resBearer(token))
		require.NoError(t, err)
		if r.StatusCode() >= 400 {
			require.Equal(t, "application/problem+json", r.HTTPResponse.Header.Get("Content-Type"))
		}
		return r.StatusCode()
	}
	require.Equal(t, http.StatusRequestEntityTooLarge, upload(key, "big.txt", bytes.Repeat([]byte("a"), 64<<10+1)))
	require.Equal(t, http.StatusCreated, upload(key, "exact.txt", bytes.Repeat([]byte("a"), 64<<10)))
	require.Equal(t, http.StatusUnsupportedMediaType, upload(key, "prog.exe", append([]byte("MZ\x90\x00"), make([]byte, 100)...)))
	require.Equal(t, http.StatusUnsupportedMediaType, upload(key, "archive.zip", []byte("PK\x03\x04 zipped")))
	require.Equal(t, http.StatusForbidden, upload(otherKey, "x.txt", []byte("not yours")))
	require.Equal(t, http.StatusUnauthorized, upload("garbage-token.a.b", "x.txt", []byte("x")))
	require.Equal(t, http.StatusBadRequest, upload(key, "", []byte("no name")))
	require.Equal(t, http.StatusBadRequest, upload(key, "/../", []byte("only a path")))

	p.transport.SkipRequestValidation = true // deliberately malformed forms
	ctype, body := multipartBody(t, "a.txt", []byte("x"))
	wrongPart := strings.Replace(body.String(), `name="file"`, `name="other"`, 1)
	r, err := p.client.UploadFileWithBodyWithResponse(ctx, rid, &oapi.UploadFileParams{}, ctype, strings.NewReader(wrongPart), resBearer(key))
	require.NoError(t, err)
	require.Equal(t, http.StatusBadRequest, r.StatusCode())
	r, err = p.client.UploadFileWithBodyWithResponse(ctx, rid, &oapi.UploadFileParams{}, "multipart/form-data; boundary=zzz", strings.NewReader("garbage"), resBearer(key))
	require.NoError(t, err)
	require.Equal(t, http.StatusBadRequest, r.StatusCode())
	name := "notes.md"
	r, err = p.client.UploadFileWithBodyWithResponse(ctx, rid, &oapi.UploadFileParams{Name: &name}, "text/markdown", strings.NewReader("# Notes"), resBearer(key))
	require.NoError(t, err)
	require.Equal(t, http.StatusUnsupportedMediaType, r.StatusCode(), "a body type the API does not take is a 415, not a crash")

	list, err := p.client.ListFilesWithResponse(ctx, rid, resBearer(key))
	require.NoError(t, err)
	require.Len(t, list.JSON200.Items, 1, "only the accepted upload is recorded")
}
