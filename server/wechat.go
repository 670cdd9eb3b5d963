package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"kehou/jobs"
	"kehou/models"
	"kehou/wechat"
	"kehou/wechat/pay"
)

// newWeChatClient builds the WeChat client, or nil when WeChat is not
// configured (dev without WECHAT_APPID): parent login then answers 503.
func newWeChatClient(cfg Config) *wechat.Client {
	if cfg.WeChatAppID == "" || cfg.WeChatSecret == "" {
		return nil
	}
	return wechat.New(wechat.Config{AppID: cfg.WeChatAppID, Secret: cfg.WeChatSecret, BaseURL: cfg.WeChatAPIBase,
		Templates: cfg.WeChatTemplates, MiniProgramState: cfg.WeChatState})
}

// startWeChatFake (WECHAT_FAKE=1, dev only) serves the fake WeChat server on
// cfg.WeChatFakeAddr; the returned func stops it.
func startWeChatFake(cfg Config, log *slog.Logger, payFake *pay.Fake) (func(), error) {
	if !cfg.WeChatFake {
		return func() {}, nil
	}
	ln, err := net.Listen("tcp", cfg.WeChatFakeAddr)
	if err != nil {
		return nil, fmt.Errorf("wechat fake: %w", err)
	}
	srv := &http.Server{Handler: withPay(wechat.NewFake(cfg.WeChatAppID, cfg.WeChatSecret), payFake, log), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	log.Warn("WECHAT_FAKE=1: serving a fake WeChat API (dev only)", "addr", ln.Addr().String(), "appid", cfg.WeChatAppID)
	return func() { _ = srv.Close() }, nil
}

// startOutboxWorker starts delivering the outbox through client; the
// returned func stops the worker and waits for its batch in flight, so call
// it before closing the database.
func startOutboxWorker(db *models.DB, client *wechat.Client, log *slog.Logger) func() {
	if client == nil {
		log.Warn("WeChat not configured: notifications stay in the outbox")
		return func() {}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	w := &jobs.OutboxWorker{DB: db, Sender: client, Log: log}
	go func() { defer close(done); w.Run(ctx) }()
	return func() { cancel(); <-done }
}

// wechatFakeCmd is `kehou wechat-fake`: the fake WeChat server alone, on
// WECHAT_FAKE_ADDR, for the mini-program app id WECHAT_APPID (the demo one
// by default). Point a kehou at it with WECHAT_API_BASE.
func wechatFakeCmd(ctx context.Context, cfg Config, log *slog.Logger, args []string, stdout io.Writer) error {
	if cfg.Production() {
		return errors.New("wechat-fake is for development only")
	}
	if len(args) > 0 {
		return errUsage
	}
	appID, secret := cfg.WeChatAppID, cfg.WeChatSecret
	if appID == "" {
		appID = demoAppID
	}
	if secret == "" {
		secret = demoSecret
	}
	ln, err := net.Listen("tcp", cfg.WeChatFakeAddr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: wechat.NewFake(appID, secret), ReadHeaderTimeout: 5 * time.Second}
	shown := "<your WECHAT_SECRET>"
	if secret == demoSecret {
		shown = secret // the demo secret of a fake is no secret
	}
	fmt.Fprintf(stdout, "fake WeChat API on http://%s (appid %s); run kehou with WECHAT_API_BASE=http://%s WECHAT_APPID=%s WECHAT_SECRET=%s\n",
		ln.Addr(), appID, ln.Addr(), appID, shown)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		return srv.Close()
	}
}
