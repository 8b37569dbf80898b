package clickhouse

import "context"

// ExecForTest runs a statement, waiting for any mutation it starts; the
// tamper tests use it to change rows behind the adapter's back.
func ExecForTest(ctx context.Context, c *Client, stmt string) error {
	if err := c.exec(ctx, stmt); err != nil {
		return err
	}
	return c.waitMutations(ctx, "audit_log")
}
