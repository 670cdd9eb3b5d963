package main

import "errors"

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

// startBenchWeChat starts the fake for appID/secret.
func startBenchWeChat(appID, secret string) (wechatFake, error) {
	return nil, errors.New("bench: the WeChat fake is not on this branch yet")
}
