package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"

	"kehou/models"
)

// userAdd is `kehou user add`: creates a staff user from the shell (the first
// platform admin comes from here).
func userAdd(ctx context.Context, cfg Config, log *slog.Logger, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("user add", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	username := fs.String("username", "", "login name")
	password := fs.String("password", "", "password (8-72 chars, letters and digits)")
	role := fs.String("role", "", "teacher | school_admin | bureau_admin | platform_admin")
	schoolID := fs.Int64("school-id", 0, "school of a teacher or school admin")
	regionID := fs.Int64("region-id", 0, "region of a bureau admin")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w\n%v", errUsage, err)
	}
	in := models.NewUser{Username: *username, Password: *password, Role: models.Role(*role)}
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
