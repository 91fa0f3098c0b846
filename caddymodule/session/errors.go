package session

import "errors"

// Sentinel errors. Every error returned by [Verifier.Verify] or
// [Source.Token] wraps exactly one of them.
var (
	// ErrMalformed reports a token that is not a JWS in compact
	// serialization: wrong number of parts, bad base64 or JSON, an
	// unsupported header, a JWE, claims of the wrong type, or an identity
	// claim with a control character (other than tab).
	ErrMalformed = errors.New("malformed token")

	// ErrTooLarge reports a token longer than the verifier's maximum size.
	// It is rejected before any parsing. ErrTooLarge is distinct from
	// ErrMalformed: errors.Is(err, ErrMalformed) is false for it.
	ErrTooLarge = errors.New("token too large")

	// ErrAlgorithm reports a token whose "alg" header is not one of the
	// algorithms the verifier accepts (including "none"), or does not fit
	// the key that the token's "kid" names.
	ErrAlgorithm = errors.New("unexpected signing algorithm")

	// ErrUnknownKey reports a token whose key is not in the verifier's key
	// set: its "kid" names no usable key, even after a refetch that the rate
	// limit allowed.
	ErrUnknownKey = errors.New("unknown signing key")

	// ErrNoKeyID reports a token without a "kid" header checked against a
	// key set that holds more than one usable key.
	ErrNoKeyID = errors.New("token has no key id")

	// ErrKeysUnavailable reports that no key set could be fetched yet, so
	// no token can be checked. It points at the key set endpoint rather
	// than at the token.
	ErrKeysUnavailable = errors.New("key set unavailable")

	// ErrSignature reports a token whose signature does not verify.
	ErrSignature = errors.New("invalid signature")

	// ErrExpired reports a token whose "exp" lies in the past, beyond the
	// leeway.
	ErrExpired = errors.New("token expired")

	// ErrNoExpiry reports a token without an "exp" claim.
	ErrNoExpiry = errors.New("token has no expiry")

	// ErrNotYetValid reports a token whose "nbf" or "iat" lies in the
	// future, beyond the leeway.
	ErrNotYetValid = errors.New("token not yet valid")

	// ErrIssuer reports a token whose "iss" is not the expected issuer.
	ErrIssuer = errors.New("unexpected issuer")

	// ErrAudience reports a token whose "aud" does not contain the expected
	// audience.
	ErrAudience = errors.New("unexpected audience")

	// ErrNoSubject reports a token whose mapped user id claim is missing or
	// empty.
	ErrNoSubject = errors.New("missing user id claim")

	// ErrNoToken reports a request that carries no session token.
	ErrNoToken = errors.New("no session token")

	// ErrConflictingTokens reports a request that carries different session
	// tokens in different places.
	ErrConflictingTokens = errors.New("conflicting session tokens")
)
