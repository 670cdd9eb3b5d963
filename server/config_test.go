package main

import (
	"strings"
	"testing"
)

func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestLoadConfig(t *testing.T) {
	strong := strings.Repeat("s", 32)
	cases := []struct {
		name    string
		env     map[string]string
		wantErr string
		check   func(t *testing.T, c Config)
	}{
		{name: "devDefaults", env: map[string]string{}, check: func(t *testing.T, c Config) {
			if c.ListenAddr != ":8080" || c.DatabaseURL != "sqlite:data/kehou.db" || !c.SecretGenerated || len(c.JWTSecret) < 32 || c.EnrollQueueLimit != -1 ||
				c.MaxChildrenPerGuardian != 6 {
				t.Fatalf("defaults: %+v", c)
			}
		}},
		{name: "productionNoSecret", env: map[string]string{"KEHOU_ENV": "production", "WECHAT_APPID": "a", "WECHAT_SECRET": "b"}, wantErr: "JWT_SECRET"},
		{name: "productionNoWeChat", env: map[string]string{"KEHOU_ENV": "production", "JWT_SECRET": strong}, wantErr: "WECHAT_APPID"},
		{name: "shortSecret", env: map[string]string{"JWT_SECRET": "short"}, wantErr: "at least 32"},
		{name: "badEnv", env: map[string]string{"KEHOU_ENV": "staging"}, wantErr: "KEHOU_ENV"},
		{name: "badProxy", env: map[string]string{"TRUSTED_PROXIES": "10.0.0.1, nonsense"}, wantErr: "TRUSTED_PROXIES"},
		{name: "badRateLimit", env: map[string]string{"LOGIN_RATE_LIMIT": "-3"}, wantErr: "LOGIN_RATE_LIMIT"},
		{name: "badEnrollQueue", env: map[string]string{"ENROLL_QUEUE_LIMIT": "many"}, wantErr: "ENROLL_QUEUE_LIMIT"},
		{name: "pprofProductionRefused", env: map[string]string{"KEHOU_ENV": "production", "JWT_SECRET": strong, "WECHAT_APPID": "a", "WECHAT_SECRET": "b",
			"KEHOU_PPROF_ADDR": "127.0.0.1:6060"}, wantErr: "KEHOU_PPROF_ADDR"},
		{name: "pprofNotLoopback", env: map[string]string{"KEHOU_PPROF_ADDR": "0.0.0.0:6060"}, wantErr: "loopback"},
		{name: "pprofDev", env: map[string]string{"KEHOU_PPROF_ADDR": "127.0.0.1:6060"}, check: func(t *testing.T, c Config) {
			if c.PprofAddr != "127.0.0.1:6060" {
				t.Fatalf("PprofAddr = %q", c.PprofAddr)
			}
		}},
		{name: "badGuardianCap", env: map[string]string{"MAX_CHILDREN_PER_GUARDIAN": "0"}, wantErr: "MAX_CHILDREN_PER_GUARDIAN"},
		{name: "guardianCap", env: map[string]string{"MAX_CHILDREN_PER_GUARDIAN": "4"}, check: func(t *testing.T, c Config) {
			if c.MaxChildrenPerGuardian != 4 {
				t.Fatalf("MaxChildrenPerGuardian = %d", c.MaxChildrenPerGuardian)
			}
		}},
		{name: "productionOK", env: map[string]string{"KEHOU_ENV": "production", "JWT_SECRET": strong, "WECHAT_APPID": "a", "WECHAT_SECRET": "b",
			"TRUSTED_PROXIES": "10.0.0.0/8,192.168.1.5", "LOGIN_RATE_LIMIT": "100"}, check: func(t *testing.T, c Config) {
			if c.SecretGenerated || c.LogFormat != "json" || len(c.TrustedProxies) != 2 || c.LoginRateLimit != 100 || c.PprofAddr != "" {
				t.Fatalf("production: %+v", c)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := LoadConfig(envOf(tc.env))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want it to mention %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, c)
		})
	}
}
