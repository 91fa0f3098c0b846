package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"time"
)

// authSecretEnv names the environment variable the auth service reads the
// HS256 secret from: an argument would show in every process listing.
const authSecretEnv = "HELPDESK_BENCH_AUTH_SECRET"

// The identity headers the auth service answers with, under the gateway's
// default names; the forward_auth anchor copies them to the upstream.
var authIdentityHeaders = []string{
	"X-Helpdesk-User-Id", "X-Helpdesk-User-Name", "X-Helpdesk-User-Email",
	"X-Helpdesk-User-Role", "X-Helpdesk-Division-Id",
}

// serveAuth serves the auth service of the forward_auth anchor on addr,
// prints the address it listens on, and serves until the process is killed.
func serveAuth(addr, secret string) error {
	if secret == "" {
		return fmt.Errorf("no secret in $%s", authSecretEnv)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listening: %w", err)
	}
	fmt.Fprintln(os.Stdout, ln.Addr().String())
	srv := &http.Server{Handler: newAuthService(secret), ReadHeaderTimeout: 10 * time.Second}
	return srv.Serve(ln)
}

// authService is what a forward_auth anchor at its best asks: it verifies
// the session cookie, an HS256 JWT, with the standard library alone, and
// answers 200 with the identity headers, or 401. Any method and path.
type authService struct {
	secret []byte
	now    func() time.Time
}

// newAuthService returns an auth service verifying tokens signed with
// secret, as the gateway's hmac_secret takes it: the bytes of the string.
func newAuthService(secret string) *authService {
	return &authService{secret: []byte(secret), now: time.Now}
}

func (a *authService) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	claims, err := a.verify(c.Value)
	if err != nil {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	h := w.Header()
	for i, v := range [...]string{claims.Sub, claims.Name, claims.Email, strings.ToLower(claims.Role), claims.Division.String()} {
		if v != "" {
			h[authIdentityHeaders[i]] = []string{v}
		}
	}
	w.WriteHeader(http.StatusOK)
}

// sessionClaims are the claims of a bench session the auth service reads.
type sessionClaims struct {
	Sub      string      `json:"sub"`
	Name     string      `json:"name"`
	Email    string      `json:"email"`
	Role     string      `json:"role"`
	Division json.Number `json:"division_id"`
	Exp      *int64      `json:"exp"`
	Nbf      *int64      `json:"nbf"`
}

// Why verify refuses a token.
var (
	errMalformed = errors.New("not a compact JWS of three parts")
	errAlgorithm = errors.New("not signed with HS256")
	errSignature = errors.New("bad signature")
	errExpired   = errors.New("expired, or without an expiry")
	errNotYet    = errors.New("not valid yet")
)

// verify checks that token is an HS256 JWT signed with the secret, with an
// expiry in the future and no not-before in the future, and returns its
// claims.
func (a *authService) verify(token string) (sessionClaims, error) {
	var claims sessionClaims
	header64, rest, ok1 := strings.Cut(token, ".")
	payload64, sig64, ok2 := strings.Cut(rest, ".")
	if !ok1 || !ok2 || strings.IndexByte(sig64, '.') >= 0 {
		return claims, errMalformed
	}
	header, err := base64.RawURLEncoding.DecodeString(header64)
	if err != nil {
		return claims, errMalformed
	}
	var h struct {
		Alg string `json:"alg"`
	}
	if err := json.Unmarshal(header, &h); err != nil {
		return claims, errMalformed
	}
	if h.Alg != "HS256" {
		return claims, errAlgorithm
	}
	sig, err := base64.RawURLEncoding.DecodeString(sig64)
	if err != nil {
		return claims, errMalformed
	}
	mac := hmac.New(sha256.New, a.secret)
	mac.Write([]byte(token[:len(header64)+1+len(payload64)]))
	if !hmac.Equal(mac.Sum(nil), sig) {
		return claims, errSignature
	}
	payload, err := base64.RawURLEncoding.DecodeString(payload64)
	if err != nil {
		return claims, errMalformed
	}
	if err := json.Unmarshal(payload, &claims); err != nil {
		return claims, errMalformed
	}
	now := a.now().Unix()
	if claims.Exp == nil || now >= *claims.Exp {
		return claims, errExpired
	}
	if claims.Nbf != nil && now < *claims.Nbf {
		return claims, errNotYet
	}
	return claims, nil
}
