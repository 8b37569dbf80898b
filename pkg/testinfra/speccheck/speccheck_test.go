package speccheck_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/lattice-platform/lattice/openapi"
	"github.com/lattice-platform/lattice/pkg/events"
	"github.com/lattice-platform/lattice/pkg/events/schema"
	"github.com/lattice-platform/lattice/pkg/ports"
	"github.com/lattice-platform/lattice/pkg/testinfra/speccheck"
)

func TestEveryEventTypeHasADataSchema(t *testing.T) {
	doc, err := openapi.Load("events")
	require.NoError(t, err)
	var types []string
	for _, v := range doc.Components.Schemas["CloudEvent"].Value.Properties["type"].Value.Enum {
		types = append(types, v.(string))
		require.Contains(t, speccheck.DataSchemas, v.(string))
	}
	for typ, name := range speccheck.DataSchemas {
		require.Contains(t, types, typ)
		require.Contains(t, doc.Components.Schemas, name)
	}
}

func TestAnEventIsValidatedAgainstItsTypesSchema(t *testing.T) {
	at := time.Date(2026, 11, 30, 1, 0, 0, 0, time.UTC)
	good, err := events.New("lattice/auth", schema.CloudEventTypeAuditRecorded, "u1", at,
		schema.AuditRecord{Actor: "u1", Action: "user.login", Target: "user/u1"})
	require.NoError(t, err)
	typ, err := speccheck.ValidateEvent(good)
	require.NoError(t, err)
	require.Equal(t, "audit.recorded", typ)

	// The same data under another type violates that type's schema.
	wrong, err := events.New("lattice/auth", schema.CloudEventTypeFileDeleted, "u1", at,
		schema.AuditRecord{Actor: "u1", Action: "user.login", Target: "user/u1"})
	require.NoError(t, err)
	_, err = speccheck.ValidateEvent(wrong)
	require.ErrorContains(t, err, "violates FileDeleted")

	for name, payload := range map[string]string{
		"not JSON":     `{`,
		"no envelope":  `{"actor":"u1"}`,
		"unknown type": strings.Replace(string(good.Payload), `"audit.recorded"`, `"audit.forged"`, 1),
	} {
		_, err := speccheck.ValidateEvent(ports.Event{ID: "x", Payload: []byte(payload)})
		require.Error(t, err, name)
	}
}
