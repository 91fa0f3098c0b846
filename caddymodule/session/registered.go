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

// checkRegistered checks the registered claims "exp", "nbf", "iat", "iss"
// and "aud" of payload at time now, and returns the expiry.
func (v *Verifier) checkRegistered(payload map[string]any, now time.Time) (time.Time, error) {
	leeway := v.opts.Leeway
	exp, ok, err := numericDate(payload, "exp")
	if err != nil {
		return time.Time{}, err
	}
	if !ok {
		return time.Time{}, ErrNoExpiry
	}
	if !now.Before(exp.Add(leeway)) {
		return time.Time{}, fmt.Errorf("expired at %s: %w", exp.Format(time.RFC3339), ErrExpired)
	}
	for _, name := range []string{"nbf", "iat"} {
		t, ok, err := numericDate(payload, name)
		if err != nil {
			return time.Time{}, err
		}
		if ok && now.Add(leeway).Before(t) {
			return time.Time{}, fmt.Errorf("%s is %s: %w", name, t.Format(time.RFC3339), ErrNotYetValid)
		}
	}
	if v.opts.Issuer != "" {
		if iss, _ := payload["iss"].(string); iss != v.opts.Issuer {
			return time.Time{}, ErrIssuer
		}
	}
	if v.opts.Audience != "" && !hasAudience(payload["aud"], v.opts.Audience) {
		return time.Time{}, ErrAudience
	}
	return exp, nil
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
