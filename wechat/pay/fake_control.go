package pay

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"
)

// RequestPayment is what WeChat does when the mini-program calls
// wx.requestPayment with p: it checks paySign against the merchant key
// (over the appid, time stamp, nonce and package lines) and pays the
// order of the prepay_id.
func (f *Fake) RequestPayment(p PayParams) (string, error) {
	sig, err := base64.StdEncoding.DecodeString(p.PaySign)
	if err != nil || p.SignType != "RSA" {
		return "", errors.New("fake wechat pay: requestPayment: bad paySign or signType")
	}
	digest := sha256.Sum256([]byte(f.AppID + "\n" + p.TimeStamp + "\n" + p.NonceStr + "\n" + p.Package + "\n"))
	if rsa.VerifyPKCS1v15(f.MerchantKey, crypto.SHA256, digest[:], sig) != nil {
		return "", errors.New("fake wechat pay: requestPayment: paySign does not verify")
	}
	f.mu.Lock()
	no, ok := f.prepays[strings.TrimPrefix(p.Package, "prepay_id=")]
	f.mu.Unlock()
	if !ok {
		return "", errors.New("fake wechat pay: requestPayment: unknown prepay_id")
	}
	return f.Pay(no)
}

// controlRoutes serve the control API: the payer's side and the knobs of
// tests and the demo. Not part of WeChat Pay's protocol.
func (f *Fake) controlRoutes(m *http.ServeMux) {
	m.HandleFunc("GET /_fake/pay/public-key", func(w http.ResponseWriter, r *http.Request) {
		controlJSON(w, http.StatusOK, map[string]string{"public_key_id": f.PublicKeyID, "public_key_pem": string(f.PublicKeyPEM())})
	})
	m.HandleFunc("POST /_fake/pay/request-payment", func(w http.ResponseWriter, r *http.Request) {
		var p PayParams
		if err := json.NewDecoder(r.Body).Decode(&p); err != nil {
			controlJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
			return
		}
		f.answer(w, func() (string, error) { return f.RequestPayment(p) })
	})
	m.HandleFunc("POST /_fake/pay/orders/{no}/pay", func(w http.ResponseWriter, r *http.Request) {
		f.answer(w, func() (string, error) { return f.Pay(r.PathValue("no")) })
	})
	m.HandleFunc("POST /_fake/pay/orders/{no}/resend", func(w http.ResponseWriter, r *http.Request) {
		f.answer(w, func() (string, error) { return "", f.Resend(r.PathValue("no")) })
	})
	m.HandleFunc("POST /_fake/pay/notify-mode", func(w http.ResponseWriter, r *http.Request) {
		var in struct{ Mode string }
		_ = json.NewDecoder(r.Body).Decode(&in)
		switch in.Mode {
		case NotifyNormal, NotifyDrop, NotifyDuplicate, NotifyForged, NotifyStale:
			f.SetNotifyMode(in.Mode)
			w.WriteHeader(http.StatusNoContent)
		default:
			controlJSON(w, http.StatusBadRequest, map[string]string{"error": "mode: normal|drop|duplicate|forged|stale"})
		}
	})
	m.HandleFunc("POST /_fake/pay/fail", func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			Endpoint string
			Codes    []string
		}
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.Endpoint == "" || len(in.Codes) == 0 {
			controlJSON(w, http.StatusBadRequest, map[string]string{"error": "want {endpoint, codes:[…]}"})
			return
		}
		f.Fail(in.Endpoint, in.Codes...)
		w.WriteHeader(http.StatusNoContent)
	})
	m.HandleFunc("POST /_fake/pay/advance", func(w http.ResponseWriter, r *http.Request) {
		var in struct{ Seconds int64 }
		_ = json.NewDecoder(r.Body).Decode(&in)
		f.Advance(time.Duration(in.Seconds) * time.Second)
		w.WriteHeader(http.StatusNoContent)
	})
	m.HandleFunc("GET /_fake/pay/notifications", func(w http.ResponseWriter, r *http.Request) {
		controlJSON(w, http.StatusOK, f.Sent())
	})
}

func (f *Fake) answer(w http.ResponseWriter, do func() (string, error)) {
	id, err := do()
	if err != nil {
		controlJSON(w, http.StatusConflict, map[string]string{"error": err.Error()})
		return
	}
	controlJSON(w, http.StatusOK, map[string]string{"transaction_id": id})
}

func controlJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
