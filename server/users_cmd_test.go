package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"kehou/models"
	"kehou/models/modelstest"
)

// TestUserAddPasswordFromStdin: `kehou user add` takes the password from
// standard input, so it never appears in ps; --password still works for
// scripts but warns.
func TestUserAddPasswordFromStdin(t *testing.T) {
	url := modelstest.URL(t)
	env := envFor("DATABASE_URL", url)
	db := modelstest.Open(t, url)
	old := userAddInput
	t.Cleanup(func() { userAddInput = old })
	addUser := func(stdin string, args ...string) (string, error) {
		userAddInput = strings.NewReader(stdin)
		var stderr bytes.Buffer
		err := run(context.Background(), append([]string{"user", "add"}, args...), env, &bytes.Buffer{}, &stderr)
		return stderr.String(), err
	}
	t.Run("stdinCreates", func(t *testing.T) {
		logs, err := addUser("Passw0rd1\n", "--username", "stdin_admin", "--role", "platform_admin")
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(logs, "--password") {
			t.Fatalf("warned without --password: %s", logs)
		}
		if _, err := models.Authenticate(context.Background(), db, models.Credentials{Username: "stdin_admin", Password: "Passw0rd1"}); err != nil {
			t.Fatalf("login with the piped password: %v", err)
		}
	})
	t.Run("crlfStripped", func(t *testing.T) {
		if _, err := addUser("Passw0rd2\r\n", "--username", "crlf_admin", "--role", "platform_admin"); err != nil {
			t.Fatal(err)
		}
		if _, err := models.Authenticate(context.Background(), db, models.Credentials{Username: "crlf_admin", Password: "Passw0rd2"}); err != nil {
			t.Fatalf("login: %v", err)
		}
	})
	t.Run("emptyStdinRefused", func(t *testing.T) {
		if _, err := addUser("", "--username", "nopw_admin", "--role", "platform_admin"); err == nil || !strings.Contains(err.Error(), "standard input") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("flagWarns", func(t *testing.T) {
		logs, err := addUser("", "--username", "flag_admin", "--password", "Passw0rd3", "--role", "platform_admin")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(logs, "--password") || !strings.Contains(logs, "ps") {
			t.Fatalf("no warning on stderr: %q", logs)
		}
	})
}
