package lattice

import (
	"bufio"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"testing"
)

// The SDK's lists of POSTs it retries and keys follow the published
// specs (this test runs in the repository, beside openapi/): a create
// that starts honouring Idempotency-Key, or a listed POST that is gone,
// fails here.
func TestRetriedPOSTsFollowTheSpecs(t *testing.T) {
	specs, err := filepath.Glob("../openapi/*.yaml")
	if err != nil || len(specs) < 6 {
		t.Fatalf("the specs are not beside the SDK: %v %v", specs, err)
	}
	pathLine := regexp.MustCompile(`^  (/\S*):\s*$`)
	methodLine := regexp.MustCompile(`^    (get|post|put|patch|delete):\s*$`)
	createdLine := regexp.MustCompile(`^        '20[12]':`)
	keyParam := regexp.MustCompile(`name: Idempotency-Key\b`)
	posts, keyed, creates := map[string]bool{}, map[string]bool{}, map[string]bool{}
	for _, spec := range specs {
		f, err := os.Open(spec)
		if err != nil {
			t.Fatal(err)
		}
		var path, method string
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			line := sc.Text()
			if m := pathLine.FindStringSubmatch(line); m != nil {
				path, method = m[1], ""
			} else if m := methodLine.FindStringSubmatch(line); m != nil {
				method = m[1]
				if method == "post" {
					posts[path] = true
				}
			} else if method == "post" && keyParam.MatchString(line) {
				keyed[path] = true
			} else if method == "post" && createdLine.MatchString(line) {
				creates[path] = true
			}
		}
		f.Close()
	}
	if len(posts) < 10 {
		t.Fatalf("only %d POST operations found: the scan no longer reads the specs", len(posts))
	}
	if got, want := slices.Sorted(maps.Keys(keyedPOSTs)), slices.Sorted(maps.Keys(keyed)); !slices.Equal(got, want) {
		t.Errorf("keyed POSTs %v, the specs' operations with Idempotency-Key %v", got, want)
	}
	for p := range idempotentPOSTs {
		if !posts[p] {
			t.Errorf("%s is retried but is no POST operation of the specs", p)
		}
	}
	for p := range keyed {
		if !idempotentPOSTs[p] {
			t.Errorf("%s honours Idempotency-Key but is not retried", p)
		}
	}
	if got, want := slices.Sorted(slices.Values(createPOSTs)), slices.Sorted(maps.Keys(creates)); !slices.Equal(got, want) {
		t.Errorf("creates %v, the specs' POSTs answering 201 or 202 %v", got, want)
	}
	for p := range creates {
		if !isCreate(p) {
			t.Errorf("%s does not match its own pattern", p)
		}
	}
	for path, want := range map[string]bool{"/v1/resources/abc/files": true, "/v1/resources//files": false, "/v1/resources/abc": false, "/v1/jobs": true, "/v1/jobs/x": false} {
		if isCreate(path) != want {
			t.Errorf("isCreate(%q) = %v", path, !want)
		}
	}
}
