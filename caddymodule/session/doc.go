// Package session verifies Helpdesk session tokens and reads them from
// requests.
//
// A session token is a JSON Web Token in JWS compact serialization. A
// [Verifier] pins one signing algorithm and key, checks the token's
// signature and its registered time, issuer and audience claims, and maps
// the identity claims named by a [Mapping] onto [Claims]. A [Source] finds
// the token in a request's cookie or Authorization header and strips those
// credentials before the request travels on to an upstream.
//
// Errors returned by [Verifier.Verify] and [Source.Token] wrap exactly one
// of the sentinel errors of this package, so callers can classify them with
// [errors.Is]. No error ever contains a token, a secret or a cookie.
package session
