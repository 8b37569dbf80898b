package proxy

import "testing"

// TestSameJSON: what the shadow comparison counts as the same answer.
func TestSameJSON(t *testing.T) {
	for _, c := range []struct {
		name      string
		a, b      string
		ignore    []string
		unordered []string
		same      bool
	}{
		{"ignored fields at any depth", `{"id":1,"items":[{"id":7,"t":"x"}]}`, `{"id":"u","items":[{"id":"v","t":"x"}]}`, []string{"id"}, nil, true},
		{"a kept field differs", `{"t":"x"}`, `{"t":"y"}`, nil, nil, false},
		{"an extra field", `{"t":"x"}`, `{"t":"x","content_type":"text/plain"}`, nil, nil, false},
		{"timestamps as instants", `{"at":"2026-11-29T12:00:00.5+00:00"}`, `{"at":"2026-11-29T12:00:00.500Z"}`, nil, nil, true},
		{"different instants", `{"at":"2026-11-29T12:00:00+01:00"}`, `{"at":"2026-11-29T12:00:00Z"}`, nil, nil, false},
		{"unordered arrays as multisets", `{"tags":["b","a","a"]}`, `{"tags":["a","b","a"]}`, nil, []string{"tags"}, true},
		{"multisets count", `{"tags":["b","a","a"]}`, `{"tags":["a","b","b"]}`, nil, []string{"tags"}, false},
		{"other arrays keep their order", `{"items":["a","b"]}`, `{"items":["b","a"]}`, nil, []string{"tags"}, false},
		{"unordered objects, after ignoring", `{"items":[{"id":1,"n":"x"},{"id":2,"n":"y"}]}`, `{"items":[{"id":9,"n":"y"},{"id":8,"n":"x"}]}`, []string{"id"}, []string{"items"}, true},
		{"not JSON: bytes", `<p>`, `<p>`, nil, nil, true},
		{"not JSON, differing", `<p>`, `<b>`, nil, nil, false},
	} {
		if got := sameJSON([]byte(c.a), []byte(c.b), c.ignore, c.unordered); got != c.same {
			t.Errorf("%s: sameJSON = %v, want %v", c.name, got, c.same)
		}
	}
}
