// Package sigv4 checks AWS Signature Version 4 on requests to the local
// stand-ins, as AWS checks IAM callers: the local stack's own clients sign
// with credentials made fresh at every start, so the operations AWS reserves
// for IAM principals (Cognito's Admin* calls, the AWS IoT control plane) are
// refused to anyone else on the machine.
package sigv4

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// MaxSkew is how far a request's X-Amz-Date may be from the verifier's
// clock, as AWS allows.
const MaxSkew = 5 * time.Minute

const (
	algorithm  = "AWS4-HMAC-SHA256"
	dateFormat = "20060102T150405Z"
)

// Verifier checks requests signed for one service in one region with one
// set of credentials.
type Verifier struct {
	Credentials aws.Credentials
	Region      string
	Service     string // the signing name, e.g. "cognito-idp" or "iot"
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Refusal is AWS's answer to a request Verify refused: the error type
// (exception name) and message. AWS tells three cases apart: no signature
// at all, an access key it does not know (UnrecognizedClientException,
// before any signature is computed), and a known key whose signature does
// not match.
func Refusal(err error) (errType, message string) {
	switch {
	case errors.Is(err, ErrUnsigned):
		return "MissingAuthenticationTokenException", "Missing Authentication Token"
	case errors.Is(err, ErrUnknownAccessKey):
		return "UnrecognizedClientException", "The security token included in the request is invalid."
	}
	return "InvalidSignatureException", "The request signature we calculated does not match the signature you provided."
}

// ErrUnsigned is returned for a request with no signature at all.
var ErrUnsigned = errors.New("the request is not signed")

// ErrUnknownAccessKey is returned for a request signed with an access key
// the Verifier does not hold.
var ErrUnknownAccessKey = errors.New("the access key is not known")

// Verify checks r, whose body has been read into body, and returns nil only
// if it carries a valid signature by the Verifier's credentials for its
// region and service, made within MaxSkew of now, over the body it carries.
// A Verifier without credentials refuses every request.
func (v Verifier) Verify(r *http.Request, body []byte) error {
	auth := r.Header.Get("Authorization")
	if auth == "" {
		return ErrUnsigned
	}
	if v.Credentials.AccessKeyID == "" || v.Credentials.SecretAccessKey == "" {
		return errors.New("no credentials are accepted")
	}
	rest, ok := strings.CutPrefix(auth, algorithm+" ")
	if !ok {
		return errors.New("the signature is not " + algorithm)
	}
	fields := map[string]string{}
	for f := range strings.SplitSeq(rest, ",") {
		k, val, _ := strings.Cut(strings.TrimSpace(f), "=")
		fields[k] = val
	}
	scope := strings.Split(fields["Credential"], "/")
	if len(scope) != 5 || scope[4] != "aws4_request" {
		return errors.New("the signature's credential scope is malformed")
	}
	if subtle.ConstantTimeCompare([]byte(scope[0]), []byte(v.Credentials.AccessKeyID)) != 1 {
		return ErrUnknownAccessKey
	}
	if scope[2] != v.Region || scope[3] != v.Service {
		return fmt.Errorf("the signature is for %s in %s, not %s in %s", scope[3], scope[2], v.Service, v.Region)
	}
	at, err := time.Parse(dateFormat, r.Header.Get("X-Amz-Date"))
	if err != nil || scope[1] != at.Format("20060102") {
		return errors.New("the request's X-Amz-Date is missing or does not match the credential scope")
	}
	now := time.Now
	if v.Now != nil {
		now = v.Now
	}
	if skew := now().Sub(at); skew > MaxSkew || skew < -MaxSkew {
		return errors.New("the signature is too old or too far in the future")
	}

	if h := r.Header.Get("X-Amz-Content-Sha256"); h != "" && h != payloadHash(body) {
		return errors.New("the body is not the one signed")
	}

	// Sign a copy that carries only what the caller signed, and compare.
	signed := strings.Split(fields["SignedHeaders"], ";")
	// The copy is only ever signed, never sent.
	u := *r.URL
	c := &http.Request{Method: r.Method, URL: &u, Host: r.Host, Header: http.Header{}}
	for _, h := range signed {
		switch h {
		case "host":
		case "content-length":
			c.ContentLength = int64(len(body))
		default:
			c.Header[http.CanonicalHeaderKey(h)] = r.Header.Values(h)
		}
	}
	if err := Sign(c, body, v.Credentials, v.Region, v.Service, at); err != nil {
		return fmt.Errorf("the request cannot be signed again: %w", err)
	}
	if subtle.ConstantTimeCompare([]byte(c.Header.Get("Authorization")), []byte(auth)) != 1 {
		return errors.New("the signature does not match")
	}
	return nil
}

// Sign signs r, whose body is body, as the AWS SDKs do: what Verify checks.
// The stand-ins' tests sign their hand-made requests with it.
func Sign(r *http.Request, body []byte, creds aws.Credentials, region, service string, at time.Time) error {
	return v4.NewSigner().SignHTTP(context.Background(), creds, r, payloadHash(body), service, region, at)
}

// payloadHash is the hex SHA-256 of a body, as Signature Version 4 signs it.
func payloadHash(body []byte) string {
	sum := sha256.Sum256(body)
	return hex.EncodeToString(sum[:])
}
