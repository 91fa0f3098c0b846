package caddymodule

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/caddyserver/caddy/v2"
	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/spf13/cobra"

	"github.com/helpdeskapps/gateway/caddymodule/assertion"
	"github.com/helpdeskapps/gateway/caddymodule/session"
)

func init() {
	caddycmd.RegisterCommand(caddycmd.Command{
		Name:  "helpdesk-token",
		Usage: "[--secret <secret> | --key <pem>] [--role agent] [--division <id>] [--sub <id>] [--name <name>] [--email <email>] [--ttl 1h] [--valid-from 0s] [--issuer <iss>] [--audience <aud>] [--alg <alg>] [--kid <kid>]",
		Short: "Mints a Helpdesk session token for development and tests",
		Long: `
Prints a signed Helpdesk session token (a JWT) with the claims the
helpdesk_apps session check reads by default: sub, name, email, role,
division_id, iat and exp.

The token is signed with an HMAC secret (--secret, or the environment
variable HD_SESSION_SECRET; HS256 unless --alg says HS384 or HS512), or
with a private key in a PEM file (--key: RSA for RS256 or --alg
RS384/RS512/PS256/PS384/PS512, ECDSA for ES256/ES384/ES512 by its curve,
Ed25519 for EdDSA).

--valid-from moves the token's iat and nbf from now, and its exp with
them: --valid-from 10m mints a token not valid yet for ten minutes, and
--valid-from -2h --ttl 1h one that expired an hour ago, for tests of
clocks and expiry.

It is meant for development and tests: a real Helpdesk issues its own
session tokens. For example:

	curl -H "Authorization: Bearer $(helpdesk-gateway helpdesk-token --issuer helpdesk-demo --role supervisor --division 1)" \
		http://localhost:8080/apps/_api/apps
`,
		CobraFunc: func(cmd *cobra.Command) {
			f := cmd.Flags()
			f.String("secret", "", "HMAC secret (default: $HD_SESSION_SECRET)")
			f.String("key", "", "PEM file with a private key, for RS*, PS*, ES* or EdDSA")
			f.String("alg", "", "signature algorithm (default: HS256 for a secret, by key type for a key)")
			f.String("kid", "", "key id to put in the token header")
			f.String("sub", "dev-user", "user id (sub)")
			f.String("name", "Dev User", "display name")
			f.String("email", "dev@example.com", "email address")
			f.String("role", "agent", "role: agent, supervisor, admin or owner")
			f.String("division", "", "division id (division_id); a whole number is written as a number")
			f.String("issuer", "", "issuer (iss)")
			f.String("audience", "", "audience (aud)")
			f.Duration("ttl", time.Hour, "how long the token is valid")
			f.Duration("valid-from", 0, "when the token becomes valid, from now (negative: in the past)")
			cmd.RunE = caddycmd.WrapCommandFuncForCobra(cmdHelpdeskToken)
		},
	})
}

// tokenRequest is what helpdesk-token is asked to mint.
type tokenRequest struct {
	Secret, KeyFile, Alg, KeyID          string
	Subject, Name, Email, Role, Division string
	Issuer, Audience                     string
	TTL                                  time.Duration
	// ValidFrom moves iat and nbf (and exp with them) from now.
	ValidFrom time.Duration
}

func cmdHelpdeskToken(fl caddycmd.Flags) (int, error) {
	req := tokenRequest{
		Secret: fl.String("secret"), KeyFile: fl.String("key"), Alg: fl.String("alg"), KeyID: fl.String("kid"),
		Subject: fl.String("sub"), Name: fl.String("name"), Email: fl.String("email"),
		Role: fl.String("role"), Division: fl.String("division"),
		Issuer: fl.String("issuer"), Audience: fl.String("audience"), TTL: fl.Duration("ttl"),
		ValidFrom: fl.Duration("valid-from"),
	}
	if req.Secret == "" && req.KeyFile == "" {
		req.Secret = os.Getenv("HD_SESSION_SECRET")
	}
	tok, err := mintToken(req, time.Now())
	if err != nil {
		return caddy.ExitCodeFailedStartup, err
	}
	fmt.Println(tok)
	return 0, nil
}

// mintToken signs the token req describes.
func mintToken(req tokenRequest, now time.Time) (string, error) {
	if (req.Secret == "") == (req.KeyFile == "") {
		return "", errors.New("give either --secret (or HD_SESSION_SECRET) or --key")
	}
	if req.TTL <= 0 {
		return "", errors.New("--ttl must be positive")
	}
	key, alg, err := signingKey(req)
	if err != nil {
		return "", err
	}
	opts := (&jose.SignerOptions{}).WithType("JWT")
	if req.KeyID != "" {
		opts = opts.WithHeader(jose.HeaderKey("kid"), req.KeyID)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, opts)
	if err != nil {
		return "", fmt.Errorf("signer: %w", err)
	}
	from := now.Add(req.ValidFrom)
	std := jwt.Claims{
		Subject:  req.Subject,
		Issuer:   req.Issuer,
		IssuedAt: jwt.NewNumericDate(from),
		Expiry:   jwt.NewNumericDate(from.Add(req.TTL)),
	}
	if req.ValidFrom != 0 {
		std.NotBefore = jwt.NewNumericDate(from)
	}
	if req.Audience != "" {
		std.Audience = jwt.Audience{req.Audience}
	}
	custom := map[string]any{"name": req.Name, "email": req.Email, "role": req.Role}
	if req.Division != "" {
		custom["division_id"] = req.Division
		if n, err := strconv.ParseInt(req.Division, 10, 64); err == nil {
			custom["division_id"] = n
		}
	}
	return jwt.Signed(signer).Claims(std).Claims(custom).Serialize()
}

// signingKey returns the key and algorithm req asks for.
func signingKey(req tokenRequest) (any, jose.SignatureAlgorithm, error) {
	if req.Secret != "" {
		alg := jose.SignatureAlgorithm(req.Alg)
		switch alg {
		case "":
			alg = jose.HS256
		case jose.HS256, jose.HS384, jose.HS512:
		default:
			return nil, "", fmt.Errorf("--alg %s: a secret signs HS256, HS384 or HS512", req.Alg)
		}
		// The gateway's own check, and its words.
		if _, err := session.NewHMAC([]byte(req.Secret), string(alg), session.Options{}); err != nil {
			return nil, "", fmt.Errorf("--secret: %w", err)
		}
		return []byte(req.Secret), alg, nil
	}
	data, err := os.ReadFile(req.KeyFile)
	if err != nil {
		return nil, "", err
	}
	key, err := assertion.ParsePrivateKey(data)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", req.KeyFile, err)
	}
	alg := jose.SignatureAlgorithm(req.Alg)
	switch k := key.(type) {
	case *rsa.PrivateKey:
		if alg == "" {
			alg = jose.RS256
		}
	case *ecdsa.PrivateKey:
		if alg == "" {
			alg = map[int]jose.SignatureAlgorithm{256: jose.ES256, 384: jose.ES384, 521: jose.ES512}[k.Curve.Params().BitSize]
		}
	case ed25519.PrivateKey:
		if alg == "" {
			alg = jose.EdDSA
		}
	default:
		return nil, "", fmt.Errorf("%s: unsupported key type %T", req.KeyFile, key)
	}
	return key, alg, nil
}
