package session_test

import (
	"testing"

	"github.com/go-jose/go-jose/v4"

	"github.com/helpdeskapps/gateway/caddymodule/session"
)

// BenchmarkVerify measures Verify of one valid token per algorithm, cold
// (cache disabled: every call checks the signature) and cached (the same
// token again and again).
func BenchmarkVerify(b *testing.B) {
	k := testKeys()
	opts := session.Options{Issuer: testIssuer, Audience: testAudience}
	for _, alg := range []struct {
		name  string
		make  func(opts session.Options) (*session.Verifier, error)
		token string
	}{
		{"HS256", func(o session.Options) (*session.Verifier, error) { return session.NewHMAC(secret32, "HS256", o) },
			mint(b, jose.HS256, secret32, claimsWith(nil))},
		{"RS256", func(o session.Options) (*session.Verifier, error) {
			return session.NewPublicKey(pkixPEM(b, &k.rsaA.PublicKey), nil, o)
		}, mint(b, jose.RS256, k.rsaA, claimsWith(nil))},
		{"ES256", func(o session.Options) (*session.Verifier, error) {
			return session.NewPublicKey(pkixPEM(b, &k.p256A.PublicKey), nil, o)
		}, mint(b, jose.ES256, k.p256A, claimsWith(nil))},
	} {
		for _, mode := range []struct {
			name      string
			cacheSize int
		}{{"cold", -1}, {"cached", 0}} {
			b.Run(alg.name+"/"+mode.name, func(b *testing.B) {
				o := opts
				o.CacheSize = mode.cacheSize
				v, err := alg.make(o)
				if err != nil {
					b.Fatal(err)
				}
				b.ReportAllocs()
				for b.Loop() {
					if _, err := v.Verify(alg.token, testNow); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
