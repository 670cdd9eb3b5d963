package main

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// payEnv is a whole WECHATPAY_* set with key files in a temporary folder.
func payEnv(t *testing.T) map[string]string {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	priv := filepath.Join(dir, "apiclient_key.pem")
	pub := filepath.Join(dir, "pub_key.pem")
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	pubDer, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err := os.WriteFile(priv, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pub, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDer}), 0o644); err != nil {
		t.Fatal(err)
	}
	return map[string]string{"WECHATPAY_MCHID": "1900000109", "WECHATPAY_SERIAL_NO": "5157F09EFDC096DE15EBE81A47057A72",
		"WECHATPAY_PRIVATE_KEY_FILE": priv, "WECHATPAY_APIV3_KEY": "0123456789abcdef0123456789ABCDEF",
		"WECHATPAY_PUBLIC_KEY_FILE": pub, "WECHATPAY_PUBLIC_KEY_ID": "PUB_KEY_ID_0119000001092025",
		"WECHATPAY_NOTIFY_URL": "https://kehou.example.edu.cn/api/v1/pay/wechat/notify"}
}

func TestLoadConfigWeChatPay(t *testing.T) {
	full := payEnv(t)
	with := func(over map[string]string, drop ...string) map[string]string {
		m := map[string]string{}
		for k, v := range full {
			m[k] = v
		}
		for k, v := range over {
			m[k] = v
		}
		for _, k := range drop {
			delete(m, k)
		}
		return m
	}
	prod := map[string]string{"KEHOU_ENV": "production", "JWT_SECRET": strings.Repeat("s", 32), "WECHAT_APPID": "a", "WECHAT_SECRET": "b"}
	cases := []struct {
		name    string
		env     map[string]string
		wantErr string
		enabled bool
	}{
		{"off", map[string]string{}, "", false},
		{"whole", full, "", true},
		{"fakeInDev", map[string]string{"WECHAT_FAKE": "1"}, "", true},
		{"partial", with(nil, "WECHATPAY_APIV3_KEY", "WECHATPAY_PUBLIC_KEY_ID"), "WECHATPAY_APIV3_KEY, WECHATPAY_PUBLIC_KEY_ID missing", false},
		{"partialProduction", with(prod, "WECHATPAY_NOTIFY_URL"), "WECHATPAY_NOTIFY_URL missing", false},
		{"shortAPIv3Key", with(map[string]string{"WECHATPAY_APIV3_KEY": "short-secret-value"}), "32-byte", false},
		{"notifyWithQuery", with(map[string]string{"WECHATPAY_NOTIFY_URL": "https://a.cn/notify?x=1"}), "WECHATPAY_NOTIFY_URL", false},
		{"httpNotifyProduction", with(mergeMaps(prod, map[string]string{"WECHATPAY_NOTIFY_URL": "http://a.cn/notify"})), "https", false},
		{"missingKeyFile", with(map[string]string{"WECHATPAY_PRIVATE_KEY_FILE": "/nonexistent/key.pem"}), "WECHATPAY_PRIVATE_KEY_FILE", false},
		{"publicKeyAsPrivate", with(map[string]string{"WECHATPAY_PRIVATE_KEY_FILE": full["WECHATPAY_PUBLIC_KEY_FILE"]}), "no RSA private key", false},
		{"baseInProduction", with(mergeMaps(prod, map[string]string{"WECHATPAY_API_BASE": "http://127.0.0.1:9"})), "WECHATPAY_API_BASE", false},
		{"wholeProduction", with(prod), "", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := LoadConfig(envOf(tc.env))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				if strings.Contains(err.Error(), full["WECHATPAY_APIV3_KEY"]) {
					t.Fatalf("the error shows the APIv3 key: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.Pay.Enabled() != tc.enabled {
				t.Fatalf("Enabled = %v, want %v", c.Pay.Enabled(), tc.enabled)
			}
			if tc.enabled && !c.Pay.Fake && (c.Pay.PrivateKey == nil || c.Pay.PublicKey == nil) {
				t.Fatal("keys not loaded")
			}
			if s := c.Pay.String(); strings.Contains(s, full["WECHATPAY_APIV3_KEY"]) {
				t.Fatalf("String shows the APIv3 key: %s", s)
			}
		})
	}
}

func mergeMaps(a, b map[string]string) map[string]string {
	m := map[string]string{}
	for k, v := range a {
		m[k] = v
	}
	for k, v := range b {
		m[k] = v
	}
	return m
}
