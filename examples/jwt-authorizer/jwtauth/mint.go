package jwtauth

import (
	"crypto/rsa"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// MintOptions describes a token to mint. Exactly one of HS256Secret and
// RS256PrivateKey must be set.
type MintOptions struct {
	Subject  string
	Groups   []string // omitted from the token when empty
	TTL      time.Duration
	Issuer   string // omitted when empty
	Audience string // omitted when empty
	Now      time.Time

	HS256Secret     []byte
	RS256PrivateKey *rsa.PrivateKey
}

// Mint signs a token with sub, groups, iat and exp (Now+TTL) claims, and iss
// and aud when set. It refuses what Authorizer would reject, so a minted
// token is never unusable by construction.
func Mint(o MintOptions) (string, error) {
	if o.Subject == "" {
		return "", errors.New("jwtauth: mint: subject is empty")
	}
	if err := checkSubject(o.Subject); err != nil {
		return "", fmt.Errorf("jwtauth: mint: subject: %w", err)
	}
	if o.TTL <= 0 {
		return "", fmt.Errorf("jwtauth: mint: ttl must be positive, got %s", o.TTL)
	}
	claims := jwt.MapClaims{
		"sub": o.Subject,
		"iat": o.Now.Unix(),
		"exp": o.Now.Add(o.TTL).Unix(),
	}
	if len(o.Groups) > 0 {
		claims["groups"] = o.Groups
	}
	if o.Issuer != "" {
		claims["iss"] = o.Issuer
	}
	if o.Audience != "" {
		claims["aud"] = o.Audience
	}
	var (
		method jwt.SigningMethod
		key    any
	)
	switch {
	case o.HS256Secret != nil && o.RS256PrivateKey != nil:
		return "", errors.New("jwtauth: mint: configure either an HS256 secret or an RS256 private key, not both")
	case o.HS256Secret != nil:
		if len(o.HS256Secret) < MinHS256SecretBytes {
			return "", fmt.Errorf("jwtauth: mint: HS256 secret must be at least %d bytes, got %d", MinHS256SecretBytes, len(o.HS256Secret))
		}
		method, key = jwt.SigningMethodHS256, o.HS256Secret
	case o.RS256PrivateKey != nil:
		if bits := o.RS256PrivateKey.N.BitLen(); bits < MinRSABits {
			return "", fmt.Errorf("jwtauth: mint: RS256 key must have at least %d bits, got %d", MinRSABits, bits)
		}
		method, key = jwt.SigningMethodRS256, o.RS256PrivateKey
	default:
		return "", errors.New("jwtauth: mint: no key: configure an HS256 secret or an RS256 private key")
	}
	s, err := jwt.NewWithClaims(method, claims).SignedString(key)
	if err != nil {
		return "", fmt.Errorf("jwtauth: mint: signing: %w", err)
	}
	return s, nil
}

// ParseRS256PublicKey reads a PEM "PUBLIC KEY" (PKIX), "RSA PUBLIC KEY"
// (PKCS #1) or certificate.
func ParseRS256PublicKey(pemBytes []byte) (*rsa.PublicKey, error) {
	k, err := jwt.ParseRSAPublicKeyFromPEM(pemBytes)
	if err != nil {
		return nil, fmt.Errorf("jwtauth: RS256 public key: %w", err)
	}
	return k, nil
}

// ParseRS256PrivateKey reads a PEM "RSA PRIVATE KEY" (PKCS #1) or
// "PRIVATE KEY" (PKCS #8).
func ParseRS256PrivateKey(pemBytes []byte) (*rsa.PrivateKey, error) {
	k, err := jwt.ParseRSAPrivateKeyFromPEM(pemBytes)
	if err != nil {
		return nil, fmt.Errorf("jwtauth: RS256 private key: %w", err)
	}
	return k, nil
}
