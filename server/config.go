package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"
)

// Config is everything kehou reads from the environment, read once here.
type Config struct {
	ListenAddr     string
	DatabaseURL    string
	Env            string // dev | production
	JWTSecret      []byte
	JWTKeyID       string
	TrustedProxies []string
	WeChatAppID    string
	WeChatSecret   string
	WeChatAPIBase  string
	LogFormat      string // text | json
	LogLevel       string
	// LoginRateLimit is how many login attempts one client address may make
	// per minute (LOGIN_RATE_LIMIT, default 20).
	LoginRateLimit int

	BodyLimit       int
	ReadTimeout     time.Duration
	WriteTimeout    time.Duration
	ShutdownTimeout time.Duration

	// SecretGenerated is true when dev mode made up a JWT secret.
	SecretGenerated bool
}

// Production reports whether KEHOU_ENV=production.
func (c Config) Production() bool { return c.Env == "production" }

// LoadConfig reads the configuration through getenv, applying defaults, and
// refuses a production configuration with missing or weak secrets.
func LoadConfig(getenv func(string) string) (Config, error) {
	get := func(k, def string) string {
		if v := strings.TrimSpace(getenv(k)); v != "" {
			return v
		}
		return def
	}
	c := Config{
		ListenAddr:      get("LISTEN_ADDR", ":8080"),
		DatabaseURL:     get("DATABASE_URL", "sqlite:data/kehou.db"),
		Env:             get("KEHOU_ENV", "dev"),
		JWTKeyID:        get("JWT_KEY_ID", "k1"),
		WeChatAppID:     get("WECHAT_APPID", ""),
		WeChatSecret:    get("WECHAT_SECRET", ""),
		WeChatAPIBase:   get("WECHAT_API_BASE", "https://api.weixin.qq.com"),
		LogLevel:        get("LOG_LEVEL", "info"),
		BodyLimit:       10 << 20,
		ReadTimeout:     15 * time.Second,
		WriteTimeout:    30 * time.Second,
		ShutdownTimeout: 20 * time.Second,
	}
	if c.Env != "dev" && c.Env != "production" {
		return c, fmt.Errorf("config: KEHOU_ENV must be dev or production, not %q", c.Env)
	}
	c.LogFormat = get("LOG_FORMAT", map[bool]string{true: "json", false: "text"}[c.Production()])
	c.LoginRateLimit = 20
	if s := strings.TrimSpace(getenv("LOGIN_RATE_LIMIT")); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return c, fmt.Errorf("config: LOGIN_RATE_LIMIT must be a positive integer, not %q", s)
		}
		c.LoginRateLimit = n
	}
	for _, p := range strings.Split(getenv("TRUSTED_PROXIES"), ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		if net.ParseIP(p) == nil {
			if _, _, err := net.ParseCIDR(p); err != nil {
				return c, fmt.Errorf("config: TRUSTED_PROXIES: %q is neither an address nor a CIDR", p)
			}
		}
		c.TrustedProxies = append(c.TrustedProxies, p)
	}
	secret := getenv("JWT_SECRET")
	switch {
	case secret != "" && len(secret) < 32:
		return c, errors.New("config: JWT_SECRET must be at least 32 bytes")
	case secret != "":
		c.JWTSecret = []byte(secret)
	case c.Production():
		return c, errors.New("config: KEHOU_ENV=production needs JWT_SECRET (at least 32 random bytes)")
	default:
		b := make([]byte, 32)
		if _, err := rand.Read(b); err != nil {
			return c, err
		}
		c.JWTSecret = []byte(hex.EncodeToString(b))
		c.SecretGenerated = true
	}
	if c.Production() && (c.WeChatAppID == "" || c.WeChatSecret == "") {
		return c, errors.New("config: KEHOU_ENV=production needs WECHAT_APPID and WECHAT_SECRET")
	}
	return c, nil
}
