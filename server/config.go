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

	"kehou/models"
	"kehou/wechat"
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
	// WeChatTemplates maps a notification kind to its subscribe-message
	// template (WECHAT_TEMPLATE_*); kinds without one are not sent.
	WeChatTemplates map[string]wechat.Template
	// WeChatState is the miniprogram_state of subscribe messages.
	WeChatState string
	// WeChatFake (dev only) starts the fake WeChat server on WeChatFakeAddr
	// beside kehou and points WeChatAPIBase at it.
	WeChatFake     bool
	WeChatFakeAddr string
	// Pay is the WeChat Pay merchant (WECHATPAY_*, config_pay.go).
	Pay       PayConfig
	LogFormat string // text | json
	LogLevel  string
	// PprofAddr (KEHOU_PPROF_ADDR, dev only) is a loopback address where
	// serve exposes Go's profiling endpoints (the load program's -pprof).
	PprofAddr string
	// LoginRateLimit is how many password-login attempts one client address
	// may make per minute across all instances (LOGIN_RATE_LIMIT, default
	// 60: generous, since a school's staff share an address and the
	// per-username lock is what stops guessing).
	LoginRateLimit int
	// EnrollQueueLimit bounds the enrollments queued for the write path per
	// instance (ENROLL_QUEUE_LIMIT, 0 = no bound; unset, -1 here: two full
	// batches of the write path, models.DB.EnrollQueueDefault, 128); past it
	// the answer is 429 busy with Retry-After.
	EnrollQueueLimit int

	// MaxChildrenPerGuardian bounds the students of one school one
	// guardian phone or parent account covers (MAX_CHILDREN_PER_GUARDIAN,
	// default models.DefaultMaxChildrenPerGuardian, 6).
	MaxChildrenPerGuardian int

	BodyLimit       int
	ReadTimeout     time.Duration
	WriteTimeout    time.Duration
	ShutdownTimeout time.Duration
	// RequestTimeout is the deadline of each API request's context
	// (REQUEST_TIMEOUT, a Go duration, default 30s): work still running
	// then (a query, a wait for the enrollment writer) is abandoned.
	RequestTimeout time.Duration

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
	c.LoginRateLimit = 60
	if s := strings.TrimSpace(getenv("LOGIN_RATE_LIMIT")); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return c, fmt.Errorf("config: LOGIN_RATE_LIMIT must be a positive integer, not %q", s)
		}
		c.LoginRateLimit = n
	}
	c.MaxChildrenPerGuardian = models.DefaultMaxChildrenPerGuardian
	if s := strings.TrimSpace(getenv("MAX_CHILDREN_PER_GUARDIAN")); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 100 {
			return c, fmt.Errorf("config: MAX_CHILDREN_PER_GUARDIAN must be an integer from 1 to 100, not %q", s)
		}
		c.MaxChildrenPerGuardian = n
	}
	c.EnrollQueueLimit = -1
	if s := strings.TrimSpace(getenv("ENROLL_QUEUE_LIMIT")); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return c, fmt.Errorf("config: ENROLL_QUEUE_LIMIT must be a whole number ≥ 0, not %q", s)
		}
		c.EnrollQueueLimit = n
	}
	c.RequestTimeout = 30 * time.Second
	if s := strings.TrimSpace(getenv("REQUEST_TIMEOUT")); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 {
			return c, fmt.Errorf("config: REQUEST_TIMEOUT must be a positive duration (e.g. 30s), not %q", s)
		}
		c.RequestTimeout = d
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
	if err := loadWeChat(&c, get); err != nil {
		return c, err
	}
	if err := loadWeChatPay(&c, get); err != nil {
		return c, err
	}
	if c.PprofAddr = get("KEHOU_PPROF_ADDR", ""); c.PprofAddr != "" {
		if c.Production() {
			return c, errors.New("config: KEHOU_PPROF_ADDR is for development only; it cannot be set with KEHOU_ENV=production")
		}
		host, _, err := net.SplitHostPort(c.PprofAddr)
		if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
			return c, fmt.Errorf("config: KEHOU_PPROF_ADDR must be a loopback address such as 127.0.0.1:6060, not %q", c.PprofAddr)
		}
	}
	if c.Production() && (c.WeChatAppID == "" || c.WeChatSecret == "") {
		return c, errors.New("config: KEHOU_ENV=production needs WECHAT_APPID and WECHAT_SECRET")
	}
	return c, nil
}

// The demo mini-program of the fake WeChat server (dev only).
const (
	demoAppID  = "wxkehoudemo"
	demoSecret = "kehou-demo-secret"
)

// loadWeChat reads the WECHAT_* template and fake settings.
func loadWeChat(c *Config, get func(k, def string) string) error {
	c.WeChatState = get("WECHAT_MINIPROGRAM_STATE", "formal")
	switch c.WeChatState {
	case "formal", "trial", "developer":
	default:
		return fmt.Errorf("config: WECHAT_MINIPROGRAM_STATE must be formal, trial or developer, not %q", c.WeChatState)
	}
	// Each kind's template comes from its row of models.NotifyKinds:
	// "TEMPLATE_ID" or "TEMPLATE_ID|payload_key=template_key,…".
	c.WeChatTemplates = map[string]wechat.Template{}
	for _, k := range models.NotifyKinds {
		spec := get(k.TemplateEnv, "")
		if spec == "" {
			continue
		}
		t := wechat.Template{Page: k.Page, Subscription: k.Subscription, Fields: models.DefaultTemplateFields}
		id, mapping, hasMapping := strings.Cut(spec, "|")
		t.ID = strings.TrimSpace(id)
		if t.ID == "" {
			return fmt.Errorf("config: %s: empty template id", k.TemplateEnv)
		}
		if hasMapping {
			t.Fields = map[string]string{}
			for _, pair := range strings.Split(mapping, ",") {
				key, v, ok := strings.Cut(strings.TrimSpace(pair), "=")
				if !ok || strings.TrimSpace(key) == "" || strings.TrimSpace(v) == "" {
					return fmt.Errorf("config: %s: mapping %q is not payload_key=template_key", k.TemplateEnv, pair)
				}
				t.Fields[strings.TrimSpace(key)] = strings.TrimSpace(v)
			}
		}
		c.WeChatTemplates[k.Kind] = t
	}
	switch v := get("WECHAT_FAKE", ""); v {
	case "", "0", "false":
	case "1", "true":
		c.WeChatFake = true
	default:
		return fmt.Errorf("config: WECHAT_FAKE must be 1 or 0, not %q", v)
	}
	c.WeChatFakeAddr = get("WECHAT_FAKE_ADDR", "127.0.0.1:8090")
	if !c.WeChatFake {
		return nil
	}
	if c.Production() {
		return errors.New("config: WECHAT_FAKE is for development only; it cannot run with KEHOU_ENV=production")
	}
	host, port, err := net.SplitHostPort(c.WeChatFakeAddr)
	if err != nil {
		return fmt.Errorf("config: WECHAT_FAKE_ADDR: %w", err)
	}
	if host == "" {
		host = "127.0.0.1"
	}
	c.WeChatAPIBase = "http://" + net.JoinHostPort(host, port)
	if c.WeChatAppID == "" {
		c.WeChatAppID = demoAppID
	}
	if c.WeChatSecret == "" {
		c.WeChatSecret = demoSecret
	}
	return nil
}
