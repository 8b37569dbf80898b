package clickhouse

import "context"

// ExecForTest runs a statement, waiting for any mutation it starts; the
// tamper tests use it to change rows behind the adapter's back.
func ExecForTest(ctx context.Context, c *Client, stmt string) error {
	if err := c.exec(ctx, stmt); err != nil {
		return err
	}
	for _, table := range []string{"audit_log", "audit_checkpoints", "audit_signing_keys"} {
		if err := c.waitMutations(ctx, table); err != nil {
			return err
		}
	}
	return nil
}

// QuoteForTest is the adapter's string literal quoting.
func QuoteForTest(s string) string { return quote(s) }
