package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/lattice-platform/lattice/pkg/adapters/natsjs"
	"github.com/lattice-platform/lattice/pkg/platform/tlsfiles"
)

// OperatorIdentity is the NATS user without restrictions: the operator's
// certificate (lattice certs issue --service operator), for provisioning
// and inspection, never given to a service.
const OperatorIdentity = "operator"

// cmdNATS prints the NATS server's users: one per service in the
// registry, allowed only what its description says it does on the bus.
func cmdNATS(args []string, stdout io.Writer) error {
	if len(args) != 1 || args[0] != "authorization" {
		return errors.New("usage: lattice nats authorization")
	}
	_, err := fmt.Fprint(stdout, natsjs.Authorization(natsUsers()))
	return err
}

func natsUsers() []natsjs.AuthorizedUser {
	users := make([]natsjs.AuthorizedUser, 0, len(registry)+1)
	for _, t := range registry {
		users = append(users, natsjs.AuthorizedUser{Name: tlsfiles.SPIFFEPrefix + t.Name, Grants: t.Bus})
	}
	return append(users, natsjs.AuthorizedUser{Name: tlsfiles.SPIFFEPrefix + OperatorIdentity, All: true})
}
