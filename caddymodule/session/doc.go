// Package session verifies Helpdesk session tokens and reads them from
// requests.
//
// A session token is a JSON Web Token in JWS compact serialization. A
// [Verifier] checks the token's signature with keys and algorithms pinned
// when it is made: an HMAC secret ([NewHMAC]), a public key whose type fixes
// the algorithms ([NewPublicKey]), or the keys of a JSON Web Key Set fetched
// from a URL, refreshed when stale and refetched, rate-limited, for unknown
// key ids ([NewJWKS]). It then checks the registered time, issuer and
// audience claims, and maps the identity claims named by a [Mapping] onto
// [Claims]. Verified tokens are cached, by hash, until they expire. A
// [Source] finds the token in a request's cookie or Authorization header and
// strips those credentials before the request travels on to an upstream.
//
// Errors returned by [Verifier.Verify] and [Source.Token] wrap exactly one
// of the sentinel errors of this package, so callers can classify them with
// [errors.Is]. No error ever contains a token, a secret or a cookie.
package session
