package domain_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/pkg/fault"
	"github.com/lattice-platform/lattice/services/resource/domain"
)

func valid() domain.Resource {
	return domain.Resource{Title: " Title ", ContentType: "text/plain", Visibility: domain.Private,
		Tags: []string{"B", "a", " b "}, Metadata: map[string]string{"team": "core"}}
}

func TestValidateNormalises(t *testing.T) {
	t.Parallel()
	r := valid()
	require.NoError(t, r.Validate())
	require.Equal(t, "Title", r.Title)
	require.Equal(t, []string{"a", "b"}, r.Tags, "trimmed, lower-cased, sorted, deduplicated")
}

func TestValidateRejects(t *testing.T) {
	t.Parallel()
	for name, mutate := range map[string]func(*domain.Resource){
		"empty title":        func(r *domain.Resource) { r.Title = "  " },
		"long title":         func(r *domain.Resource) { r.Title = strings.Repeat("é", 301) },
		"big body":           func(r *domain.Resource) { r.Body = strings.Repeat("x", domain.MaxBodyBytes+1) },
		"invalid UTF-8":      func(r *domain.Resource) { r.Body = "\xff" },
		"content type":       func(r *domain.Resource) { r.ContentType = "text/html" },
		"visibility":         func(r *domain.Resource) { r.Visibility = "secret" },
		"tag with space":     func(r *domain.Resource) { r.Tags = []string{"two words"} },
		"too many tags":      func(r *domain.Resource) { r.Tags = manyTags(21) },
		"metadata key":       func(r *domain.Resource) { r.Metadata = map[string]string{"bad key": "v"} },
		"metadata value":     func(r *domain.Resource) { r.Metadata = map[string]string{"k": strings.Repeat("v", 1025)} },
		"too many meta keys": func(r *domain.Resource) { r.Metadata = manyKeys(51) },
	} {
		r := valid()
		mutate(&r)
		require.True(t, fault.Of(r.Validate(), fault.Invalid), name)
	}
}

func manyTags(n int) []string {
	var out []string
	for i := range n {
		out = append(out, fmt.Sprintf("t%d", i))
	}
	return out
}

func manyKeys(n int) map[string]string {
	m := map[string]string{}
	for i := range n {
		m[strings.Repeat("k", i%60+1)+string(rune('a'+i%26))] = "v"
	}
	for len(m) < n {
		m["x"+strings.Repeat("y", len(m))] = "v"
	}
	return m
}

func TestPatchMergeSemantics(t *testing.T) {
	t.Parallel()
	r := valid()
	r.Metadata = map[string]string{"keep": "1", "drop": "2"}
	title, newVal := "New", "3"
	got := domain.Patch{Title: &title, Metadata: map[string]*string{"drop": nil, "add": &newVal}}.Apply(r)
	require.Equal(t, "New", got.Title)
	require.Equal(t, map[string]string{"keep": "1", "add": "3"}, got.Metadata)
	require.Equal(t, r.Body, got.Body, "absent fields are untouched")
	require.Equal(t, map[string]string{"keep": "1", "drop": "2"}, r.Metadata, "the original is not modified")

	cleared := domain.Patch{ClearMetadata: true}.Apply(r)
	require.Empty(t, cleared.Metadata)
}

func TestAccessRules(t *testing.T) {
	t.Parallel()
	owner := domain.Caller{Subject: "o", Scopes: []string{domain.ScopeRead, domain.ScopeWrite}}
	other := domain.Caller{Subject: "x", Scopes: []string{domain.ScopeRead, domain.ScopeWrite}}
	readOnlyOwner := domain.Caller{Subject: "o", Scopes: []string{domain.ScopeRead}}
	noScopes := domain.Caller{Subject: "n"}
	admin := domain.Caller{Subject: "a", Scopes: []string{domain.ScopeAdmin}}
	anon := domain.Caller{}
	for _, vis := range []domain.Visibility{domain.Private, domain.Internal, domain.Public} {
		r := domain.Resource{OwnerID: "o", Visibility: vis}
		require.True(t, owner.CanRead(r))
		require.True(t, admin.CanRead(r))
		require.Equal(t, vis != domain.Private, other.CanRead(r), vis)
		require.Equal(t, vis == domain.Public, anon.CanRead(r), vis)
		require.Equal(t, vis == domain.Public, noScopes.CanRead(r), "without the read scope: only public, %s", vis)
		require.NoError(t, owner.CheckWrite(r))
		require.NoError(t, admin.CheckWrite(r))
		require.True(t, fault.Of(readOnlyOwner.CheckWrite(r), fault.Forbidden))
		if vis == domain.Private {
			require.ErrorIs(t, other.CheckWrite(r), domain.ErrNotFound, "existence does not leak")
		} else {
			require.True(t, fault.Of(other.CheckWrite(r), fault.Forbidden))
		}
	}
	require.True(t, fault.Of(anon.CheckWrite(domain.Resource{OwnerID: "o", Visibility: domain.Public}), fault.Unauthenticated))
	require.True(t, fault.Of(anon.CheckCreate(), fault.Unauthenticated))
	require.True(t, fault.Of(readOnlyOwner.CheckCreate(), fault.Forbidden))
	require.NoError(t, owner.CheckCreate())
}

func TestSanitizeFileName(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"report.pdf":               "report.pdf",
		"../../etc/passwd":         "passwd",
		`C:\Users\ada\notes.md`:    "notes.md",
		"..hidden":                 "hidden",
		"bad\x00name\x1f.txt":      "badname.txt",
		"quote\"d.txt":             "quoted.txt",
		"rtl\u202etxt.exe":         "rtltxt.exe",
		"  spaced name.txt  ":      "spaced name.txt",
		strings.Repeat("é", 200):   strings.Repeat("é", 127),
		"ünïcödé ✓.txt":            "ünïcödé ✓.txt",
		"dir/with/trailing/x.json": "x.json",
	} {
		got, err := domain.SanitizeFileName(in)
		require.NoError(t, err, in)
		require.Equal(t, want, got, in)
	}
	for _, in := range []string{"", "/", "../", "...", "\x00"} {
		_, err := domain.SanitizeFileName(in)
		require.True(t, fault.Of(err, fault.Invalid), "%q", in)
	}
}

func TestFileType(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ sniffed, name, want string }{
		{"text/plain; charset=utf-8", "a.md", "text/markdown"},
		{"text/plain; charset=utf-8", "a.CSV", "text/csv"},
		{"text/plain; charset=utf-8", "a.json", "application/json"},
		{"text/plain; charset=utf-8", "a.txt", "text/plain"},
		{"text/plain; charset=utf-8", "a.exe", "text/plain"},
		{"image/png", "a.md", "image/png"},
		{"application/pdf", "x", "application/pdf"},
		{"text/html; charset=utf-8", "page.html", "text/html"},
	} {
		got, err := domain.FileType(tc.sniffed, tc.name)
		require.NoError(t, err, tc)
		require.Equal(t, tc.want, got, tc)
	}
	for _, sniffed := range []string{"application/octet-stream", "application/zip", "application/x-gzip", "video/mp4"} {
		_, err := domain.FileType(sniffed, "a.txt")
		require.ErrorIs(t, err, domain.ErrFileTypeRejected, sniffed)
	}
}
