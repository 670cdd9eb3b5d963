package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"golang.org/x/term"

	"kehou/models"
)

// userAddInput is where `kehou user add` reads the password from when no
// --password is given (tests replace it).
var userAddInput io.Reader = os.Stdin

// userAdd is `kehou user add`: creates a staff user from the shell (the first
// platform admin comes from here). The password is read from standard input
// (typed at a prompt without echo on a terminal, or piped); --password is
// still accepted for scripts, with a warning, since every user of the
// machine can read a command line in ps.
func userAdd(ctx context.Context, cfg Config, log *slog.Logger, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("user add", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	username := fs.String("username", "", "login name")
	password := fs.String("password", "", "password (visible in ps: prefer standard input)")
	role := fs.String("role", "", "teacher | school_admin | bureau_admin | platform_admin")
	schoolID := fs.Int64("school-id", 0, "school of a teacher or school admin")
	regionID := fs.Int64("region-id", 0, "region of a bureau admin")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w\n%v", errUsage, err)
	}
	pw := *password
	passwordFlag := false
	fs.Visit(func(f *flag.Flag) { passwordFlag = passwordFlag || f.Name == "password" })
	if passwordFlag {
		log.Warn("user add: --password is visible to every user of this machine in ps and stays in the shell history; pipe the password on standard input instead")
	} else {
		var err error
		if pw, err = readPassword(userAddInput); err != nil {
			return err
		}
	}
	in := models.NewUser{Username: *username, Password: pw, Role: models.Role(*role)}
	if *schoolID != 0 {
		in.SchoolID = schoolID
	}
	if *regionID != 0 {
		in.RegionID = regionID
	}
	db, err := openDB(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer db.Close()
	u, err := models.CreateUser(ctx, db, models.SystemActor, in)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "created user %d (%s, %s)\n", u.ID, *u.Username, u.Role)
	return nil
}

// maxPasswordLine bounds the line read from a pipe (bcrypt reads 72 bytes).
const maxPasswordLine = 1024

// readPassword reads the password: at a terminal, typed twice at a prompt
// on standard error without echo; otherwise the first line of r.
func readPassword(r io.Reader) (string, error) {
	if f, ok := r.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(os.Stderr, "password: ")
		a, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(os.Stderr)
		if err != nil {
			return "", err
		}
		fmt.Fprint(os.Stderr, "again: ")
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(os.Stderr)
		if err != nil {
			return "", err
		}
		if string(a) != string(b) {
			return "", errors.New("user add: the passwords differ")
		}
		return string(a), nil
	}
	line, err := bufio.NewReaderSize(io.LimitReader(r, maxPasswordLine), maxPasswordLine).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", errors.New("user add: no password on standard input (type it at the prompt, or pipe it: printf '%s\\n' \"$PW\" | kehou user add …)")
	}
	return line, nil
}
