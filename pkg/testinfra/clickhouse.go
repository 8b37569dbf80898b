package testinfra

import (
	"context"
	"strings"
	"testing"
)

var clickhouseContainer lazyContainer

// ClickHouse returns the HTTP URL of a ClickHouse server with a database
// name unique to t (created by the code under test): the server in
// TEST_CLICKHOUSE_URL (http://host:8123, no path), or a container of the
// local ClickHouse 18.16 image. No ClickHouse runs on the machine itself.
func ClickHouse(t testing.TB) string {
	t.Helper()
	base, src := pick("TEST_CLICKHOUSE_URL")
	switch src {
	case fromNowhere:
		unavailable(t, "a ClickHouse server", "TEST_CLICKHOUSE_URL")
	case fromContainer:
		base = clickhouseContainer.get(t, startClickHouse, "LATTICE_TC_CLICKHOUSE_IMAGE")
	}
	return strings.TrimSuffix(base, "/") + "/" + uniqueName(t)
}

func startClickHouse(ctx context.Context, image string) (string, error) {
	return startHTTPContainer(ctx, image, "8123/tcp", "/ping")
}
