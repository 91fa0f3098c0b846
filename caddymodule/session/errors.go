package session

import "errors"

// Sentinel errors. Every error returned by [Verifier.Verify] or
// [Source.Token] wraps exactly one of them.
var (
	// ErrMalformed reports a token that is not a JWS in compact
	// serialization: wrong number of parts, bad base64 or JSON, an
	// unsupported header, a JWE, or claims of the wrong type.
	ErrMalformed = errors.New("malformed token")

	// ErrTooLarge reports a token longer than the verifier's maximum size.
	// It is rejected before any parsing. ErrTooLarge is distinct from
	// ErrMalformed: errors.Is(err, ErrMalformed) is false for it.
	ErrTooLarge = errors.New("token too large")

	// ErrAlgorithm reports a token whose "alg" header is not the algorithm
	// the verifier is pinned to (including "none").
	ErrAlgorithm = errors.New("unexpected signing algorithm")

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
