package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/lattice-platform/lattice/pkg/platform/tlsfiles"
)

// cmdCerts mints a development CA and per-service certificates (for
// compose and tests; production certificates come from cert-manager).
func cmdCerts(args []string, stdout, stderr io.Writer) error {
	const usage = "usage: lattice certs init --dir D | lattice certs issue --dir D --service S [--host H]... [--days N]"
	if len(args) == 0 {
		return errors.New(usage)
	}
	fs := flag.NewFlagSet("certs "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("dir", "certs", "where the CA and certificates live")
	switch args[0] {
	case "init":
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		if err := tlsfiles.NewCA(*dir); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "CA written to %s/%s and %s/%s\n", *dir, tlsfiles.CACertFile, *dir, tlsfiles.CAKeyFile)
		return nil
	case "issue":
		service := fs.String("service", "", "the service the certificate names (spiffe://lattice/<service>)")
		days := fs.Int("days", 365, "validity in days")
		var hosts repeated
		fs.Var(&hosts, "host", "a DNS name or IP address the service is reached at (repeatable)")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		if *service == "" || *days <= 0 {
			return errors.New(usage)
		}
		if err := tlsfiles.Issue(*dir, *service, hosts, time.Duration(*days)*24*time.Hour); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "certificate for %s written to %s/%s.crt and %s/%s.key\n", *service, *dir, *service, *dir, *service)
		return nil
	}
	return errors.New(usage)
}
