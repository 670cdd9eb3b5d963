package main

import (
	"crypto/rsa"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strings"

	"github.com/wechatpay-apiv3/wechatpay-go/utils"

	"kehou/wechat/pay"
)

// PayConfig is the WeChat Pay merchant (WECHATPAY_*). Payment is off when
// none of it is set; a partial set is refused in production and in dev
// alike, since half a merchant can take money it cannot refund.
type PayConfig struct {
	MchID          string
	SerialNo       string
	PrivateKeyFile string
	APIv3Key       string
	PublicKeyFile  string
	PublicKeyID    string
	NotifyURL      string
	APIBase        string
	// The keys, read from their files once here.
	PrivateKey *rsa.PrivateKey
	PublicKey  *rsa.PublicKey
	// Fake (dev, WECHAT_FAKE=1 with no WECHATPAY_* set): serve the fake WeChat
	// Pay beside the fake WeChat with a merchant made up at start.
	Fake bool
}

// Enabled reports whether kehou takes payments through WeChat Pay.
func (p PayConfig) Enabled() bool { return p.MchID != "" || p.Fake }

// String names the merchant without its keys.
func (p PayConfig) String() string { return "PayConfig{mchid:" + p.MchID + "}" }

// LogValue names the merchant without its keys (slog ignores String).
func (p PayConfig) LogValue() slog.Value { return slog.GroupValue(slog.String("mchid", p.MchID)) }

// Client settings of p for the mini-program appID.
func (p PayConfig) Client(appID string) pay.Config {
	return pay.Config{AppID: appID, MchID: p.MchID, SerialNo: p.SerialNo, PrivateKey: p.PrivateKey, APIv3Key: p.APIv3Key,
		PublicKeyID: p.PublicKeyID, PublicKey: p.PublicKey, NotifyURL: p.NotifyURL, APIBase: p.APIBase}
}

// payVars are the WECHATPAY_* variables; all or none.
var payVars = []string{"WECHATPAY_MCHID", "WECHATPAY_SERIAL_NO", "WECHATPAY_PRIVATE_KEY_FILE", "WECHATPAY_APIV3_KEY",
	"WECHATPAY_PUBLIC_KEY_FILE", "WECHATPAY_PUBLIC_KEY_ID", "WECHATPAY_NOTIFY_URL"}

// loadWeChatPay reads the WECHATPAY_* settings into c.Pay.
func loadWeChatPay(c *Config, get func(k, def string) string) error {
	var missing []string
	set := 0
	for _, k := range payVars {
		if get(k, "") == "" {
			missing = append(missing, k)
		} else {
			set++
		}
	}
	p := PayConfig{MchID: get("WECHATPAY_MCHID", ""), SerialNo: get("WECHATPAY_SERIAL_NO", ""),
		PrivateKeyFile: get("WECHATPAY_PRIVATE_KEY_FILE", ""), APIv3Key: get("WECHATPAY_APIV3_KEY", ""),
		PublicKeyFile: get("WECHATPAY_PUBLIC_KEY_FILE", ""), PublicKeyID: get("WECHATPAY_PUBLIC_KEY_ID", ""),
		NotifyURL: get("WECHATPAY_NOTIFY_URL", ""), APIBase: get("WECHATPAY_API_BASE", pay.DefaultAPIBase)}
	switch {
	case set == 0 && c.WeChatFake:
		c.Pay = PayConfig{Fake: true}
		return nil
	case set == 0:
		return nil
	case set < len(payVars):
		return fmt.Errorf("config: WeChat Pay is half configured: %s missing (set all of WECHATPAY_* or none)", strings.Join(missing, ", "))
	}
	if len(p.APIv3Key) != 32 {
		return errors.New("config: WECHATPAY_APIV3_KEY must be the 32-byte APIv3 key")
	}
	if u, err := url.Parse(p.NotifyURL); err != nil || u.Host == "" || u.RawQuery != "" ||
		(u.Scheme != "https" && !(u.Scheme == "http" && !c.Production())) {
		return errors.New("config: WECHATPAY_NOTIFY_URL must be an https URL without a query (WeChat Pay requires it)")
	}
	key, err := os.ReadFile(p.PrivateKeyFile)
	if err != nil {
		return fmt.Errorf("config: WECHATPAY_PRIVATE_KEY_FILE: %w", err)
	}
	if p.PrivateKey, err = utils.LoadPrivateKey(string(key)); err != nil {
		return errors.New("config: WECHATPAY_PRIVATE_KEY_FILE holds no RSA private key in PEM")
	}
	pub, err := os.ReadFile(p.PublicKeyFile)
	if err != nil {
		return fmt.Errorf("config: WECHATPAY_PUBLIC_KEY_FILE: %w", err)
	}
	if p.PublicKey, err = utils.LoadPublicKey(string(pub)); err != nil {
		return errors.New("config: WECHATPAY_PUBLIC_KEY_FILE holds no RSA public key in PEM")
	}
	if c.Production() && p.APIBase != pay.DefaultAPIBase {
		return errors.New("config: WECHATPAY_API_BASE is for tests and the demo; production talks to WeChat Pay itself")
	}
	c.Pay = p
	return nil
}
