package session

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/go-jose/go-jose/v4"
)

// Bounds on the size of an RSA modulus, in bits. Smaller keys are too weak;
// larger ones only make every verification slower.
const (
	minRSABits = 2048
	maxRSABits = 8192
)

// Algorithms by key type. A public key verifies only the algorithms of its
// type, and an elliptic curve key only the one of its curve, so that a token
// can never choose how its key is used (RFC 8725 §3.1).
var (
	rsaAlgs  = []jose.SignatureAlgorithm{jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.PS384, jose.PS512}
	p256Algs = []jose.SignatureAlgorithm{jose.ES256}
	p384Algs = []jose.SignatureAlgorithm{jose.ES384}
	p521Algs = []jose.SignatureAlgorithm{jose.ES512}
	edAlgs   = []jose.SignatureAlgorithm{jose.EdDSA}
)

// publicAlgs lists every algorithm a public key may verify: those of RSA,
// elliptic curve and Ed25519 keys. HMAC and "none" are never among them.
var publicAlgs = slices.Concat(rsaAlgs, p256Algs, p384Algs, p521Algs, edAlgs)

// NewPublicKey returns a Verifier for tokens signed with the private half of
// the public key in pemData: a PEM block of type "PUBLIC KEY" (PKIX), "RSA
// PUBLIC KEY" (PKCS #1) or "CERTIFICATE", and nothing else. The key type pins
// the algorithms: an RSA key of at least 2048 bits verifies RS256, RS384,
// RS512, PS256, PS384 and PS512; an elliptic curve key ES256 on P-256,
// ES384 on P-384 and ES512 on P-521; an Ed25519 key EdDSA.
//
// algs, when not empty, narrows that set further. Naming an algorithm the
// key cannot verify, such as HS256 or "none", is an error. Tokens with an
// HMAC algorithm are always rejected, so a public key can never be misused
// as an HMAC secret.
func NewPublicKey(pemData []byte, algs []string, opts Options) (*Verifier, error) {
	key, err := parsePublicKeyPEM(pemData)
	if err != nil {
		return nil, err
	}
	keyAlgs, kind, err := algsForKey(key)
	if err != nil {
		return nil, err
	}
	allowed, err := narrowAlgs(keyAlgs, algs, kind)
	if err != nil {
		return nil, err
	}
	return newVerifier(allowed, key, nil, opts)
}

// parsePublicKeyPEM returns the public key of the one PEM block in data.
// Errors name the block type at most, never its content.
func parsePublicKeyPEM(data []byte) (any, error) {
	block, rest := pem.Decode(data)
	if block == nil {
		return nil, errors.New("no pem block found")
	}
	if next, _ := pem.Decode(rest); next != nil {
		return nil, errors.New("pem data holds more than one block, want exactly one public key or certificate")
	}
	switch block.Type {
	case "PUBLIC KEY":
		key, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			return nil, errors.New("invalid pkix public key")
		}
		return key, nil
	case "RSA PUBLIC KEY":
		key, err := x509.ParsePKCS1PublicKey(block.Bytes)
		if err != nil {
			return nil, errors.New("invalid pkcs #1 rsa public key")
		}
		return key, nil
	case "CERTIFICATE":
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, errors.New("invalid certificate")
		}
		return cert.PublicKey, nil
	}
	if strings.Contains(block.Type, "PRIVATE") {
		return nil, fmt.Errorf("pem block %q holds a private key: configure the public key only", printableBlockType(block.Type))
	}
	return nil, fmt.Errorf("pem block %q is not a public key or certificate", printableBlockType(block.Type))
}

// printableBlockType returns a PEM block type for an error message, cut to a
// sensible length.
func printableBlockType(t string) string {
	if len(t) > 32 {
		return t[:32] + "…"
	}
	return t
}

// algsForKey returns the algorithms key may verify and the name of its
// kind for messages ("rsa", "P-256", "ed25519"), or an error for a key type,
// curve or size that is not supported.
func algsForKey(key any) ([]jose.SignatureAlgorithm, string, error) {
	switch k := key.(type) {
	case *rsa.PublicKey:
		if n := k.N.BitLen(); n < minRSABits || n > maxRSABits {
			return nil, "", fmt.Errorf("rsa key of %d bits: want %d to %d bits", n, minRSABits, maxRSABits)
		}
		return rsaAlgs, "rsa", nil
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256():
			return p256Algs, "P-256", nil
		case elliptic.P384():
			return p384Algs, "P-384", nil
		case elliptic.P521():
			return p521Algs, "P-521", nil
		}
		return nil, "", errors.New("unsupported elliptic curve: want P-256, P-384 or P-521")
	case ed25519.PublicKey:
		return edAlgs, "ed25519", nil
	}
	return nil, "", fmt.Errorf("unsupported key type %T: want rsa, ecdsa or ed25519", key)
}

// narrowAlgs returns the algorithms of allowed that algs names, or all of
// allowed when algs is empty. An algorithm outside allowed is an error; kind
// names what allowed belongs to.
func narrowAlgs(allowed []jose.SignatureAlgorithm, algs []string, kind string) ([]jose.SignatureAlgorithm, error) {
	if len(algs) == 0 {
		return allowed, nil
	}
	var out []jose.SignatureAlgorithm
	for _, a := range algs {
		alg := jose.SignatureAlgorithm(a)
		if !slices.Contains(allowed, alg) {
			return nil, fmt.Errorf("algorithm %q cannot be used with %s keys: want one of %s", a, kind, joinAlgs(allowed))
		}
		if !slices.Contains(out, alg) {
			out = append(out, alg)
		}
	}
	return out, nil
}

// joinAlgs lists algs for a message.
func joinAlgs(algs []jose.SignatureAlgorithm) string {
	s := make([]string, len(algs))
	for i, a := range algs {
		s[i] = string(a)
	}
	return strings.Join(s, ", ")
}
