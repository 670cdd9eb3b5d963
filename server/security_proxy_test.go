package main

import (
	"fmt"
	"strings"
	"testing"

	"kehou/models/modelstest"
)

// proxyServer is a test server whose TRUSTED_PROXIES is trusted (app.Test's
// peer address is 0.0.0.0).
func proxyServer(t *testing.T, trusted string) *testServer {
	t.Helper()
	url := modelstest.URL(t)
	cfg, err := LoadConfig(func(k string) string {
		switch k {
		case "JWT_SECRET":
			return testSecret
		case "DATABASE_URL":
			return url
		case "TRUSTED_PROXIES":
			return trusted
		}
		return ""
	})
	if err != nil {
		t.Fatal(err)
	}
	return newTestServerOn(t, modelstest.Open(t, url), cfg)
}

// TestLoginLimiterIgnoresSpoofedForwardedFor: the login limit keys on the
// client address the trusted proxies saw, so a client cannot dodge it by
// writing a new X-Forwarded-For on every guess — neither when it talks to
// the server directly (its peer is not a trusted proxy) nor through a
// trusted load balancer that appends the real address to the client's
// header.
func TestLoginLimiterIgnoresSpoofedForwardedFor(t *testing.T) {
	// A different username on every guess: the per-username lock is not
	// what answers here.
	bad := func(i int) map[string]string {
		return map[string]string{"username": fmt.Sprintf("nobody%d", i), "password": "wrong-pass1"}
	}
	cases := []struct {
		name    string
		trusted string
		xff     func(i int) string
	}{
		{"directClientSpoofs429", "10.9.9.9", func(i int) string { return fmt.Sprintf("198.51.100.%d", i) }},
		{"behindProxyClientSpoofsLeftmost429", "0.0.0.0", func(i int) string {
			return fmt.Sprintf("198.51.100.%d, 203.0.113.7", i)
		}},
		{"behindProxyWritingPortsSpoofs429", "0.0.0.0", func(i int) string {
			return fmt.Sprintf("198.51.100.%d:4000, 203.0.113.7:5060", i)
		}},
		{"behindTwoProxiesSpoofs429", "0.0.0.0,10.0.0.0/8", func(i int) string {
			return fmt.Sprintf("198.51.100.%d, 203.0.113.7, 10.1.2.3", i)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := proxyServer(t, tc.trusted)
			for i := range s.cfg.LoginRateLimit {
				if r := s.do("POST", "/api/v1/auth/login", "", bad(i), "X-Forwarded-For", tc.xff(i)); r.Status != 401 {
					t.Fatalf("login %d: got %d %s", i+1, r.Status, r.Body)
				}
			}
			s.do("POST", "/api/v1/auth/login", "", bad(200), "X-Forwarded-For", tc.xff(200)).want(t, 429, "rate_limited")
			if strings.Contains(s.logs.String(), "198.51.100.") {
				t.Fatal("the log names the client's made-up address")
			}
		})
	}
	t.Run("behindProxyOtherClientHasOwnBudget", func(t *testing.T) {
		s := proxyServer(t, "0.0.0.0")
		for i := range s.cfg.LoginRateLimit {
			s.do("POST", "/api/v1/auth/login", "", bad(i), "X-Forwarded-For", "203.0.113.7").want(t, 401)
		}
		s.do("POST", "/api/v1/auth/login", "", bad(-1), "X-Forwarded-For", "203.0.113.7").want(t, 429, "rate_limited")
		s.do("POST", "/api/v1/auth/login", "", bad(-2), "X-Forwarded-For", "203.0.113.8").want(t, 401, "invalid_credentials")
		s.do("POST", "/api/v1/auth/login", "", bad(-3), "X-Forwarded-For", "[2001:db8::1]:443").want(t, 401, "invalid_credentials")
	})
}
