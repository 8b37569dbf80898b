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
	"github.com/lattice-platform/lattice/services/auth/app"
	"github.com/lattice-platform/lattice/services/auth/authsvc"
)

// cmdMigrate creates and migrates the databases of the chosen services.
func cmdMigrate(ctx context.Context, args []string, stderr io.Writer, lookup func(string) (string, bool)) error {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	target := fs.String("target", "all", "which service's store to migrate")
	if err := fs.Parse(args); err != nil {
		return err
	}
	services, err := parseTarget(*target)
	if err != nil {
		return err
	}
	cfg, err := loadConfig(&config.Env{Lookup: lookup})
	if err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	for _, name := range services {
		if name == "auth" {
			// authsvc.New creates and migrates the database as it starts.
			svc, err := authsvc.New(ctx, cfg.Auth, slog.New(slog.DiscardHandler))
			if err != nil {
				return fmt.Errorf("auth: %w", err)
			}
			svc.Close()
			fmt.Fprintln(stderr, "auth: migrated")
		}
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
	cfg, err := loadConfig(&config.Env{Lookup: lookup})
	if err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	svc, err := authsvc.New(ctx, cfg.Auth, observe.NewLogger(stderr, slog.LevelWarn, authsvc.Name))
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
