package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// healthcheck is `kehou healthcheck`: GETs /healthz of the server on this
// machine (LISTEN_ADDR's port) and fails unless it answers 200. It is the
// Docker HEALTHCHECK, since the slim image has no curl.
func healthcheck(ctx context.Context, cfg Config, _ *slog.Logger, args []string, stdout io.Writer) error {
	if len(args) != 0 {
		return errUsage
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	url := "http://" + localAddr(cfg.ListenAddr) + "/healthz"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 1<<10))
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck: %s answered %d", url, res.StatusCode)
	}
	fmt.Fprintln(stdout, "ok")
	return nil
}

// localAddr turns a listen address (":8080", "0.0.0.0:8080", "[::]:8080",
// "10.0.0.5:8080") into one to dial from this machine.
func localAddr(listen string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return "127.0.0.1:8080"
	}
	switch host {
	case "", "0.0.0.0", "::":
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

// portOf returns ":PORT" of a listen address, for printed examples.
func portOf(listen string) string {
	if _, port, err := net.SplitHostPort(listen); err == nil {
		return ":" + port
	}
	return ":8080"
}
