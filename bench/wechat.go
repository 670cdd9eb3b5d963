package main

import (
	"net"
	"net/http"
	"time"

	"kehou/wechat"
)

// wechatFake is the WeChat server the bench runs for the kehou under test:
// it mints the codes a parent's phone would get from wx.login and
// getPhoneNumber, and answers the server's calls with the real protocol.
type wechatFake interface {
	// URL is the base URL the server uses as WECHAT_API_BASE.
	URL() string
	// LoginCode mints a wx.login code that resolves to openid.
	LoginCode(openid string) (string, error)
	// PhoneCode mints a getPhoneNumber code for the user openid that
	// resolves to phone.
	PhoneCode(openid, phone string) (string, error)
	// Close stops the fake.
	Close()
}

// benchWeChat is the fake WeChat server the bench runs for the kehou under
// test (wechat.Fake, the real protocol), on a port of the bench process: it
// mints the codes a parent's phone would get from wx.login and
// getPhoneNumber, and answers the server's jscode2session, stable_token and
// getuserphonenumber calls.
type benchWeChat struct {
	fake *wechat.Fake
	srv  *http.Server
	url  string
}

// startBenchWeChat serves a fake for appID/secret on a free local port.
func startBenchWeChat(appID, secret string) (wechatFake, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	f := wechat.NewFake(appID, secret)
	srv := &http.Server{Handler: f, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return &benchWeChat{fake: f, srv: srv, url: "http://" + ln.Addr().String()}, nil
}

// URL is the base URL the server uses as WECHAT_API_BASE.
func (w *benchWeChat) URL() string { return w.url }

// LoginCode mints a wx.login code that resolves to openid.
func (w *benchWeChat) LoginCode(openid string) (string, error) {
	return w.fake.LoginCode(openid, ""), nil
}

// PhoneCode mints a getPhoneNumber code that proves phone.
func (w *benchWeChat) PhoneCode(openid, phone string) (string, error) {
	return w.fake.PhoneCode(phone), nil
}

// Close stops the fake.
func (w *benchWeChat) Close() { _ = w.srv.Close() }
