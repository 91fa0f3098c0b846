package session

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"time"
)

// maxNumericDate is 9999-12-31T23:59:59Z, the latest date accepted in a
// NumericDate claim.
const maxNumericDate = 253402300799

// decodePayload decodes the verified claims set, keeping numbers as
// json.Number so that large numeric ids survive exactly.
func decodePayload(raw []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var payload map[string]any
	if err := dec.Decode(&payload); err != nil || payload == nil {
		return nil, fmt.Errorf("claims are not a json object: %w", ErrMalformed)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("data after claims: %w", ErrMalformed)
	}
	return payload, nil
}

// times holds the registered time claims of a token. nbf and iat are zero
// when absent.
type times struct {
	exp, nbf, iat time.Time
}

// check checks the time claims at time now, allowing leeway of clock skew:
// "exp" first, then "nbf" and "iat". Cached tokens go through the same
// check, so they expire exactly like uncached ones.
func (t times) check(now time.Time, leeway time.Duration) error {
	if !now.Before(t.exp.Add(leeway)) {
		return fmt.Errorf("expired at %s: %w", t.exp.Format(time.RFC3339), ErrExpired)
	}
	for _, c := range []struct {
		name string
		t    time.Time
	}{{"nbf", t.nbf}, {"iat", t.iat}} {
		if !c.t.IsZero() && now.Add(leeway).Before(c.t) {
			return fmt.Errorf("%s is %s: %w", c.name, c.t.Format(time.RFC3339), ErrNotYetValid)
		}
	}
	return nil
}

// checkRegistered checks the registered claims "exp", "nbf", "iat", "iss"
// and "aud" of payload at time now, and returns the time claims. "exp" is
// read and checked before "nbf" and "iat" are read.
func (v *Verifier) checkRegistered(payload map[string]any, now time.Time) (times, error) {
	var t times
	exp, ok, err := numericDate(payload, "exp")
	if err != nil {
		return times{}, err
	}
	if !ok {
		return times{}, ErrNoExpiry
	}
	t.exp = exp
	if err := t.check(now, v.opts.Leeway); err != nil {
		return times{}, err
	}
	if t.nbf, _, err = numericDate(payload, "nbf"); err != nil {
		return times{}, err
	}
	if t.iat, _, err = numericDate(payload, "iat"); err != nil {
		return times{}, err
	}
	if err := t.check(now, v.opts.Leeway); err != nil {
		return times{}, err
	}
	if v.opts.Issuer != "" {
		if iss, _ := payload["iss"].(string); iss != v.opts.Issuer {
			return times{}, fmt.Errorf("iss %s, want %q: %w", claimText(payload["iss"]), v.opts.Issuer, ErrIssuer)
		}
	}
	if v.opts.Audience != "" && !hasAudience(payload["aud"], v.opts.Audience) {
		return times{}, fmt.Errorf("aud %s, want %q: %w", claimText(payload["aud"]), v.opts.Audience, ErrAudience)
	}
	return t, nil
}

// maxClaimText bounds a claim's value as an error quotes it.
const maxClaimText = 200

// claimText quotes a claim's value for an error: its JSON, at most
// maxClaimText bytes of it, "none" when it is absent.
func claimText(v any) string {
	if v == nil {
		return "none"
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return "unreadable"
	}
	if len(raw) > maxClaimText {
		return string(raw[:maxClaimText]) + "…"
	}
	return string(raw)
}

// numericDate reads the NumericDate claim name (RFC 7519 §2), which may have
// a fractional part. ok is false when the claim is absent or null.
func numericDate(payload map[string]any, name string) (t time.Time, ok bool, err error) {
	switch v := payload[name].(type) {
	case nil:
		return time.Time{}, false, nil
	case json.Number:
		f, err := strconv.ParseFloat(v.String(), 64)
		if err != nil || f < 0 || f > maxNumericDate {
			break
		}
		sec, frac := math.Modf(f)
		return time.Unix(int64(sec), int64(frac*1e9)).UTC(), true, nil
	}
	return time.Time{}, false, fmt.Errorf("invalid %s claim: %w", name, ErrMalformed)
}

// hasAudience reports whether aud, a string or an array, contains want.
func hasAudience(aud any, want string) bool {
	switch aud := aud.(type) {
	case string:
		return aud == want
	case []any:
		for _, a := range aud {
			if s, ok := a.(string); ok && s == want {
				return true
			}
		}
	}
	return false
}
