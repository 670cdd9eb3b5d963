package main

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"kehou/wechat/pay"
)

// benchPay is the WeChat Pay the notify scenarios pay through: kehou's own
// fake (wechat/pay.Fake, the real protocol) on a port of the bench process,
// for a merchant made up here, and the WECHATPAY_* settings that point the
// server under test at it. The fake takes the server's prepay calls and the
// parents' payments; the bench delivers the notifications itself, in one
// burst, built and signed by the fake (Fake.Notification).
type benchPay struct {
	fake *pay.Fake
	srv  *http.Server
	// env is the server's WECHATPAY_* for this merchant (and KEHOU_ENV=dev:
	// production refuses a WeChat Pay other than WeChat Pay's own host).
	env []string
}

// startBenchPay makes a merchant (key files in dir) of the mini-program
// appID and serves a fake WeChat Pay for it on a free local port.
func startBenchPay(dir, appID string) (*benchPay, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	apiv3 := randomHex(16)
	serial := strings.ToUpper(randomHex(20))
	fake, err := pay.NewFake("1900000109", appID, apiv3, serial, &key.PublicKey)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	keyFile, pubFile := filepath.Join(dir, "wxpay-merchant-key.pem"), filepath.Join(dir, "wxpay-platform-pub.pem")
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		return nil, err
	}
	if err := os.WriteFile(pubFile, fake.PublicKeyPEM(), 0o600); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: fake, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	// The bench delivers every notification itself: the fake posts none.
	fake.SetNotifyMode(pay.NotifyDrop)
	return &benchPay{fake: fake, srv: srv, env: []string{"KEHOU_ENV=dev",
		"WECHATPAY_MCHID=" + fake.MchID, "WECHATPAY_SERIAL_NO=" + serial, "WECHATPAY_PRIVATE_KEY_FILE=" + keyFile,
		"WECHATPAY_APIV3_KEY=" + apiv3, "WECHATPAY_PUBLIC_KEY_FILE=" + pubFile, "WECHATPAY_PUBLIC_KEY_ID=" + fake.PublicKeyID,
		// Never posted to (the fake's notifications are off), but WeChat
		// Pay wants one in every prepay.
		"WECHATPAY_NOTIFY_URL=http://127.0.0.1/api/v1/pay/wechat/notify",
		"WECHATPAY_API_BASE=http://" + ln.Addr().String()}}, nil
}

// Close stops the fake.
func (p *benchPay) Close() { _ = p.srv.Close() }
