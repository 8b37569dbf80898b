package authstore_test

import (
	"testing"

	"github.com/google/uuid"
)

func newID(t *testing.T) string {
	t.Helper()
	return uuid.Must(uuid.NewV7()).String()
}
