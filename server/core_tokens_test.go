package main

import (
	"crypto/rand"
	"crypto/rsa"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"kehou/handlers"
	"kehou/models"
	"kehou/models/modelstest"
)

// forge signs claims with method and key under header kid (nil: no kid).
func forge(t *testing.T, method jwt.SigningMethod, key any, kid any, c handlers.Claims) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, c)
	if kid != nil {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestForgedTokens401: every access token that is not exactly what kehou
// signs is refused with 401, before any handler runs.
func TestForgedTokens401(t *testing.T) {
	s := newTestServer(t)
	u := modelstest.Staff(t, s.db, models.RolePlatformAdmin, 0, 0)
	secret := []byte(testSecret)
	now := time.Now()
	claims := func(mod func(c *handlers.Claims)) handlers.Claims {
		c := handlers.Claims{Role: models.RolePlatformAdmin, RegisteredClaims: jwt.RegisteredClaims{
			Subject: strconv.FormatInt(u.ID, 10), Issuer: "kehou", Audience: jwt.ClaimStrings{"kehou-api"},
			IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(5 * time.Minute)),
		}}
		if mod != nil {
			mod(&c)
		}
		return c
	}
	expire := func(c *handlers.Claims) {
		c.IssuedAt, c.ExpiresAt = jwt.NewNumericDate(now.Add(-2*time.Hour)), jwt.NewNumericDate(now.Add(-time.Hour))
	}
	valid := forge(t, jwt.SigningMethodHS256, secret, s.cfg.JWTKeyID, claims(nil))
	// The forge itself is right: the same recipe, untampered, is accepted.
	s.do("GET", "/api/v1/me", valid, nil).want(t, 200)

	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	login := s.do("POST", "/api/v1/auth/login", "", map[string]string{"username": *u.Username, "password": modelstest.Password}).want(t, 200).JSON()
	refresh, _ := login["refresh_token"].(string)

	parts := strings.Split(valid, ".")
	sig := []byte(parts[2])
	i := len(sig) / 2
	if sig[i] == 'A' {
		sig[i] = 'B'
	} else {
		sig[i] = 'A'
	}
	flipped := parts[0] + "." + parts[1] + "." + string(sig)
	none := forge(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, s.cfg.JWTKeyID, claims(nil))

	cases := []struct {
		name  string
		token string
	}{
		{"algNone", none},
		{"algNoneNoSignature", strings.TrimSuffix(none, ".") + "."},
		{"flippedSignatureByte", flipped},
		{"wrongSecret", forge(t, jwt.SigningMethodHS256, []byte("another-secret-another-secret-0123"), s.cfg.JWTKeyID, claims(nil))},
		{"wrongAudience", forge(t, jwt.SigningMethodHS256, secret, s.cfg.JWTKeyID, claims(func(c *handlers.Claims) { c.Audience = jwt.ClaimStrings{"other-api"} }))},
		{"noAudience", forge(t, jwt.SigningMethodHS256, secret, s.cfg.JWTKeyID, claims(func(c *handlers.Claims) { c.Audience = nil }))},
		{"wrongIssuer", forge(t, jwt.SigningMethodHS256, secret, s.cfg.JWTKeyID, claims(func(c *handlers.Claims) { c.Issuer = "evil" }))},
		// Expired and forged at once: still invalid, never merely expired.
		{"expiredWrongSecret", forge(t, jwt.SigningMethodHS256, []byte("another-secret-another-secret-0123"), s.cfg.JWTKeyID, claims(expire))},
		{"expiredWrongAudience", forge(t, jwt.SigningMethodHS256, secret, s.cfg.JWTKeyID, claims(func(c *handlers.Claims) {
			expire(c)
			c.Audience = jwt.ClaimStrings{"other-api"}
		}))},
		{"expiredWrongKid", forge(t, jwt.SigningMethodHS256, secret, "k-other", claims(expire))},
		{"expiredUnknownRole", forge(t, jwt.SigningMethodHS256, secret, s.cfg.JWTKeyID, claims(func(c *handlers.Claims) {
			expire(c)
			c.Role = "superuser"
		}))},
		{"missingExp", forge(t, jwt.SigningMethodHS256, secret, s.cfg.JWTKeyID, claims(func(c *handlers.Claims) { c.ExpiresAt = nil }))},
		{"issuedInFuture", forge(t, jwt.SigningMethodHS256, secret, s.cfg.JWTKeyID, claims(func(c *handlers.Claims) { c.IssuedAt = jwt.NewNumericDate(now.Add(time.Hour)) }))},
		{"wrongKid", forge(t, jwt.SigningMethodHS256, secret, "k-other", claims(nil))},
		{"missingKid", forge(t, jwt.SigningMethodHS256, secret, nil, claims(nil))},
		{"numericKid", forge(t, jwt.SigningMethodHS256, secret, 1, claims(nil))},
		{"algHS512SameSecret", forge(t, jwt.SigningMethodHS512, secret, s.cfg.JWTKeyID, claims(nil))},
		{"algRS256", forge(t, jwt.SigningMethodRS256, rsaKey, s.cfg.JWTKeyID, claims(nil))},
		{"unknownRole", forge(t, jwt.SigningMethodHS256, secret, s.cfg.JWTKeyID, claims(func(c *handlers.Claims) { c.Role = "superuser" }))},
		{"nonNumericSubject", forge(t, jwt.SigningMethodHS256, secret, s.cfg.JWTKeyID, claims(func(c *handlers.Claims) { c.Subject = "admin" }))},
		{"refreshTokenAsAccess", refresh},
		{"garbage", "not-a-token"},
		{"threeGarbageParts", "a.b.c"},
		{"emptyBearer", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := s.do("GET", "/api/v1/me", "", nil, "Authorization", "Bearer "+c.token)
			if r.Status != 401 || (r.Code() != "invalid_token" && r.Code() != "unauthorized") {
				t.Fatalf("got %d %s, want 401", r.Status, r.Body)
			}
		})
	}
	// A token kehou signed that is only too old answers token_expired, so
	// the app refreshes instead of sending the user to log in again.
	t.Run("expired401TokenExpired", func(t *testing.T) {
		s.do("GET", "/api/v1/me", forge(t, jwt.SigningMethodHS256, secret, s.cfg.JWTKeyID, claims(expire)), nil).want(t, 401, "token_expired")
	})
	t.Run("noAuthorizationHeader", func(t *testing.T) {
		s.do("GET", "/api/v1/me", "", nil).want(t, 401, "unauthorized")
	})
	t.Run("basicScheme", func(t *testing.T) {
		s.do("GET", "/api/v1/me", "", nil, "Authorization", "Basic "+valid).want(t, 401, "unauthorized")
	})
}
