package session

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// segment decodes one part of a compact serialization. Strict decoding
// rejects non-zero padding bits, so each token has a single spelling.
var segment = base64.RawURLEncoding.Strict()

// header holds the protected header parameters that select how a token is
// verified.
type header struct {
	// alg is the "alg" parameter; never empty.
	alg string
	// kid is the "kid" parameter; "" when absent. It is only ever used to
	// look a key up in a map.
	kid string
}

// parseHeader checks that token is a JWS in compact serialization whose
// three parts are canonical unpadded base64url, and returns its protected
// header. Header parameters that change how the token must be processed
// ("crit", "b64") are rejected, since none is supported.
func parseHeader(token string) (header, error) {
	for i := 0; i < len(token); i++ {
		if !isSegmentByte(token[i]) {
			return header{}, fmt.Errorf("invalid character: %w", ErrMalformed)
		}
	}
	switch n := strings.Count(token, "."); {
	case n == 4:
		return header{}, fmt.Errorf("encrypted tokens are not supported: %w", ErrMalformed)
	case n != 2:
		return header{}, fmt.Errorf("%d parts, want 3: %w", n+1, ErrMalformed)
	}
	h, rest, _ := strings.Cut(token, ".")
	p, s, _ := strings.Cut(rest, ".")
	if h == "" || p == "" {
		return header{}, fmt.Errorf("empty header or payload: %w", ErrMalformed)
	}
	raw, err := segment.DecodeString(h)
	if err != nil {
		return header{}, fmt.Errorf("header: invalid base64url: %w", ErrMalformed)
	}
	if _, err := segment.DecodeString(p); err != nil {
		return header{}, fmt.Errorf("payload: invalid base64url: %w", ErrMalformed)
	}
	if _, err := segment.DecodeString(s); err != nil {
		return header{}, fmt.Errorf("signature: invalid base64url: %w", ErrMalformed)
	}
	params, err := headerParams(raw)
	if err != nil {
		return header{}, fmt.Errorf("header: %w: %w", err, ErrMalformed)
	}
	for _, name := range []string{"crit", "b64"} {
		if _, ok := params[name]; ok {
			return header{}, fmt.Errorf("unsupported header parameter %s: %w", name, ErrMalformed)
		}
	}
	var hdr header
	if err := json.Unmarshal(params["alg"], &hdr.alg); err != nil || hdr.alg == "" {
		return header{}, fmt.Errorf("header has no alg: %w", ErrMalformed)
	}
	if kid, ok := params["kid"]; ok {
		if err := json.Unmarshal(kid, &hdr.kid); err != nil {
			return header{}, fmt.Errorf("header kid is not a string: %w", ErrMalformed)
		}
	}
	return hdr, nil
}

// headerParams returns the parameters of a JOSE header, which must be a
// JSON object that names each parameter once (RFC 7515 §4): JSON parsers
// differ on which of two values wins, and the verifier must not read one
// while the signature library reads the other.
func headerParams(raw []byte) (map[string]json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, errors.New("not a json object")
	}
	params := make(map[string]json.RawMessage)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, errors.New("not a json object")
		}
		name := tok.(string) // object keys are strings
		if _, dup := params[name]; dup {
			return nil, errors.New("a parameter named twice")
		}
		var value json.RawMessage
		if err := dec.Decode(&value); err != nil {
			return nil, errors.New("not a json object")
		}
		params[name] = value
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		return nil, errors.New("not a json object")
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("data after the json object")
	}
	return params, nil
}

func isSegmentByte(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
		c == '-' || c == '_' || c == '.'
}

// printableAlg returns alg for an error message when it looks like a JOSE
// algorithm name, and a placeholder otherwise, so that arbitrary header text
// never reaches a log line.
func printableAlg(alg string) string {
	if len(alg) > 16 {
		return "(invalid)"
	}
	for i := 0; i < len(alg); i++ {
		c := alg[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '+') {
			return "(invalid)"
		}
	}
	return alg
}
