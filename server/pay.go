package main

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"

	"kehou/wechat/pay"
)

// newPayClient builds the WeChat Pay client of cfg.Pay, or nil when
// payment through WeChat Pay is off.
func newPayClient(ctx context.Context, cfg Config) (*pay.Client, error) {
	if !cfg.Pay.Enabled() || cfg.Pay.Fake {
		return nil, nil
	}
	return pay.New(ctx, cfg.Pay.Client(cfg.WeChatAppID))
}

// fakePay (WECHAT_FAKE=1, dev only) makes the fake WeChat Pay that is
// served beside the fake WeChat, for a merchant made up now, and the
// client of that merchant pointed at it (payment notifications go to this
// kehou's own notify route).
func fakePay(ctx context.Context, cfg Config) (*pay.Fake, *pay.Client, error) {
	merchant, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, nil, err
	}
	key := make([]byte, 16)
	_, _ = rand.Read(key)
	apiv3 := fmt.Sprintf("%x", key)
	fake, err := pay.NewFake("1900000109", cfg.WeChatAppID, apiv3, "KEHOUDEMO0000000000000000000001", &merchant.PublicKey)
	if err != nil {
		return nil, nil, err
	}
	host, port, _ := net.SplitHostPort(cfg.ListenAddr)
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	client, err := pay.New(ctx, pay.Config{AppID: cfg.WeChatAppID, MchID: fake.MchID, SerialNo: fake.MerchantSerial,
		PrivateKey: merchant, APIv3Key: apiv3, PublicKeyID: fake.PublicKeyID, PublicKey: fake.PublicKey(),
		NotifyURL: "http://" + net.JoinHostPort(host, port) + "/api/v1/pay/wechat/notify",
		APIBase:   "http://" + strings.Replace(cfg.WeChatFakeAddr, "0.0.0.0", "127.0.0.1", 1)})
	return fake, client, err
}

// withPay serves the fake WeChat Pay's paths (/v3/, /_fake/pay/) beside
// the fake WeChat's on one address.
func withPay(wechat http.Handler, fake *pay.Fake, log *slog.Logger) http.Handler {
	if fake == nil {
		return wechat
	}
	log.Warn("WECHAT_FAKE=1: serving a fake WeChat Pay too (dev only)", "mchid", fake.MchID)
	mux := http.NewServeMux()
	mux.Handle("/v3/", fake)
	mux.Handle("/_fake/pay/", fake)
	mux.Handle("/", wechat)
	return mux
}
