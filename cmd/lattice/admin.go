package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/lattice-platform/lattice/pkg/platform/config"
	"github.com/lattice-platform/lattice/pkg/platform/observe"
	"github.com/lattice-platform/lattice/pkg/target"
	"github.com/lattice-platform/lattice/services/auth/app"
	"github.com/lattice-platform/lattice/services/auth/authsvc"
	"github.com/lattice-platform/lattice/services/auth/domain"
)

// cmdMigrate creates and migrates the databases of the chosen services.
func cmdMigrate(ctx context.Context, args []string, stderr io.Writer, lookup func(string) (string, bool)) error {
	services, cfg, err := newTargetFlags("migrate", stderr).parse(args, lookup)
	if err != nil {
		return err
	}
	for _, name := range services {
		migrate := cfg.Targets[name].Migrate
		if migrate == nil {
			fmt.Fprintln(stderr, name+": no store to migrate")
			continue
		}
		if err := migrate(ctx); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		fmt.Fprintln(stderr, name+": migrated")
	}
	return nil
}

// cmdUser runs user administration. The password comes from standard input
// so it never appears in shell history or the process list.
func cmdUser(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, lookup func(string) (string, bool)) error {
	if len(args) == 0 || args[0] != "create-admin" {
		return errors.New("usage: lattice user create-admin --email E --name N < password-file")
	}
	fs := flag.NewFlagSet("user create-admin", flag.ContinueOnError)
	fs.SetOutput(stderr)
	email := fs.String("email", "", "the admin's email")
	name := fs.String("name", "Administrator", "display name")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("read password: %w", err)
	}
	password := strings.TrimRight(line, "\r\n")
	svc, err := openAuth(ctx, stderr, lookup)
	if err != nil {
		return err
	}
	defer svc.Close()
	u, err := svc.App.CreateAdmin(ctx, app.SignUpInput{Email: *email, Password: password, DisplayName: *name})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "created admin %s (%s)\n", u.Email, u.ID)
	return nil
}

// openAuth builds the auth service for an operator command.
func openAuth(ctx context.Context, stderr io.Writer, lookup func(string) (string, bool)) (*authsvc.Service, error) {
	env := &config.Env{Lookup: lookup}
	cfg := authsvc.LoadConfig(env, target.ReadSettings(env, registry))
	if err := env.Err(); err != nil {
		return nil, fmt.Errorf("configuration: %w", err)
	}
	return authsvc.New(ctx, cfg, observe.NewLogger(stderr, slog.LevelWarn, authsvc.Name))
}

// repeated is a flag that may be given several times.
type repeated []string

func (r *repeated) String() string     { return strings.Join(*r, ",") }
func (r *repeated) Set(v string) error { *r = append(*r, v); return nil }

// cmdClient registers OAuth clients.
func cmdClient(ctx context.Context, args []string, stdout, stderr io.Writer, lookup func(string) (string, bool)) error {
	if len(args) == 0 || args[0] != "create" {
		return errors.New("usage: lattice client create --name N --type confidential|public [--redirect-uri U] [--grant G] [--scope S] (bracketed flags repeat)")
	}
	fs := flag.NewFlagSet("client create", flag.ContinueOnError)
	fs.SetOutput(stderr)
	name := fs.String("name", "", "display name")
	typ := fs.String("type", "confidential", "confidential or public")
	var redirects, grants, scopes repeated
	fs.Var(&redirects, "redirect-uri", "an exact redirect URI (repeatable)")
	fs.Var(&grants, "grant", "authorization_code, client_credentials or refresh_token (repeatable)")
	fs.Var(&scopes, "scope", "a scope the client may request (repeatable)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	svc, err := openAuth(ctx, stderr, lookup)
	if err != nil {
		return err
	}
	defer svc.Close()
	nc, err := svc.App.RegisterClient(ctx, app.ClientInput{
		Name: *name, Type: domain.ClientType(*typ), RedirectURIs: redirects, GrantTypes: grants, Scopes: scopes,
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "client_id=%s\n", nc.Client.ID)
	if nc.Secret != "" {
		fmt.Fprintf(stdout, "client_secret=%s\n", nc.Secret)
	}
	return nil
}

// cmdKeys rotates the signing key.
func cmdKeys(ctx context.Context, args []string, stdout, stderr io.Writer, lookup func(string) (string, bool)) error {
	if len(args) == 0 || args[0] != "rotate" {
		return errors.New("usage: lattice keys rotate")
	}
	svc, err := openAuth(ctx, stderr, lookup)
	if err != nil {
		return err
	}
	defer svc.Close()
	k, err := svc.App.RotateKeys(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "active signing key: %s\n", k.ID)
	return nil
}
