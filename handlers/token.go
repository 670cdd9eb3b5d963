package handlers

import (
	"errors"
	"strconv"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"kehou/models"
)

// AccessTTL is the life of an access token (short: a stolen one is of little
// use, and role changes take effect within it).
const AccessTTL = 15 * time.Minute

// AccessLeeway is how far past its exp (and before its iat) an access token
// is still accepted. kehou signs and checks its own tokens, so the only
// clocks that meet are its instances', which NTP keeps well within a
// second: 5 s covers that with room. A client never compares clocks — it
// refreshes on expires_in, and a token that arrives after its exp answers
// 401 token_expired, which costs one refresh, not the login. A longer
// leeway (it was 30 s: tokens were accepted 22 s past exp) only lengthens
// what a stolen token is worth.
const AccessLeeway = 5 * time.Second

// Tokens signs and verifies access tokens: HS256 only, with kid, iss, aud and
// exp required.
type Tokens struct {
	Secret   []byte
	KeyID    string
	Issuer   string
	Audience string
	TTL      time.Duration
	parser   *jwt.Parser
	verified *verifiedTokens
	// now is the clock of the parser and of the verified-token cache.
	now func() time.Time
}

// Claims are kehou's access-token claims.
type Claims struct {
	Role     models.Role `json:"role"`
	SchoolID int64       `json:"sid,omitempty"`
	RegionID int64       `json:"rid,omitempty"`
	// Version is the user's token version at signing (see
	// RequireAuth's revocation check).
	Version int64 `json:"ver,omitempty"`
	jwt.RegisteredClaims
}

// NewTokens builds a Tokens.
func NewTokens(secret []byte, keyID string) *Tokens {
	t := &Tokens{Secret: secret, KeyID: keyID, Issuer: "kehou", Audience: "kehou-api", TTL: AccessTTL,
		verified: newVerifiedTokens(), now: time.Now}
	t.parser = jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithIssuer(t.Issuer),
		jwt.WithAudience(t.Audience),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(AccessLeeway),
		jwt.WithTimeFunc(func() time.Time { return t.now() }),
	)
	return t
}

// Sign issues an access token for a.
func (t *Tokens) Sign(a models.Actor, now time.Time) (string, error) {
	c := Claims{Role: a.Role, SchoolID: a.SchoolID, RegionID: a.RegionID, Version: a.TokenVersion,
		RegisteredClaims: jwt.RegisteredClaims{
			Subject:   strconv.FormatInt(a.UserID, 10),
			Issuer:    t.Issuer,
			Audience:  jwt.ClaimStrings{t.Audience},
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(t.TTL)),
		}}
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, c)
	tok.Header["kid"] = t.KeyID
	return tok.SignedString(t.Secret)
}

var errBadKID = errors.New("unknown kid")

// Verify parses an access token and returns its actor, or
// models.ErrTokenExpired for a token kehou signed whose only fault is its
// age (the client refreshes), and models.ErrInvalidToken for anything else
// wrong with it (the client logs in again).
func (t *Tokens) Verify(s string) (models.Actor, error) {
	if t.verified != nil {
		if a, ok := t.verified.get(s, t.now()); ok {
			return a, nil
		}
	}
	var c Claims
	_, err := t.parser.ParseWithClaims(s, &c, func(tok *jwt.Token) (any, error) {
		if kid, _ := tok.Header["kid"].(string); kid != t.KeyID {
			return nil, errBadKID
		}
		return t.Secret, nil
	})
	if err != nil && !onlyExpired(err) {
		return models.Actor{}, models.ErrInvalidToken
	}
	id, perr := strconv.ParseInt(c.Subject, 10, 64)
	if perr != nil || id <= 0 || !c.Role.Valid() {
		return models.Actor{}, models.ErrInvalidToken
	}
	if err != nil {
		return models.Actor{}, models.ErrTokenExpired
	}
	a := models.Actor{UserID: id, Role: c.Role, SchoolID: c.SchoolID, RegionID: c.RegionID, TokenVersion: c.Version}
	if t.verified != nil && c.ExpiresAt != nil {
		// Cached until exp, not exp + the parser's leeway: the cache never
		// accepts a token the parser would refuse.
		t.verified.put(s, a, c.ExpiresAt.Time, t.now())
	}
	return a, nil
}

// onlyExpired reports whether err says a token's signature and every claim
// but exp checked out: the parser verifies the signature before it checks
// claims, and it reports every failing claim, so an expired token with a
// wrong audience or issuer is still invalid, not merely expired.
func onlyExpired(err error) bool {
	if !errors.Is(err, jwt.ErrTokenExpired) {
		return false
	}
	for _, other := range []error{jwt.ErrTokenMalformed, jwt.ErrTokenUnverifiable, jwt.ErrTokenSignatureInvalid,
		jwt.ErrTokenRequiredClaimMissing, jwt.ErrTokenInvalidAudience, jwt.ErrTokenUsedBeforeIssued,
		jwt.ErrTokenInvalidIssuer, jwt.ErrTokenInvalidSubject, jwt.ErrTokenNotValidYet, jwt.ErrTokenInvalidId} {
		if errors.Is(err, other) {
			return false
		}
	}
	return true
}
