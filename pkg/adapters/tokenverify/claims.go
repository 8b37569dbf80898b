package tokenverify

import (
	"encoding/base64"
	"math"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/valyala/fastjson"

	"github.com/lattice-platform/lattice/pkg/ports"
)

// Limits on what is decoded before a token's signature is checked, so a
// forged token cannot make the verifier work harder than a real one does
// (auth's tokens are about 450 bytes, with a 70-byte header).
const (
	maxTokenBytes  = 8 << 10
	maxHeaderBytes = 1 << 10
)

// parsers hold fastjson's parse trees between tokens: a parser reuses its
// values, so a token's JSON costs no allocation but the strings kept.
var parsers fastjson.ParserPool

// header is what the protected header must say: an EdDSA signature
// (anything else, "none" and HMAC included, is refused before a key is
// looked up), by a named key, on an access token.
type header struct {
	kid string
}

// parseHeader decodes and checks a token's protected header. It refuses
// the JWS extensions a verifier must understand to get a token's meaning
// right ("crit", and "b64" that changes what was signed), since auth
// never uses them, and a typ other than RFC 9068's access-token types, so
// an ID token or another JWT signed with the same key is not taken for an
// access token.
func parseHeader(seg string) (header, bool) {
	if len(seg) > maxHeaderBytes {
		return header{}, false
	}
	var buf [maxHeaderBytes * 3 / 4]byte
	n, err := base64.RawURLEncoding.Decode(buf[:], []byte(seg))
	if err != nil {
		return header{}, false
	}
	p := parsers.Get()
	defer parsers.Put(p)
	v, err := p.ParseBytes(buf[:n])
	if err != nil {
		return header{}, false
	}
	if string(v.GetStringBytes("alg")) != "EdDSA" || v.Exists("crit") || v.Exists("b64") {
		return header{}, false
	}
	switch typ := string(v.GetStringBytes("typ")); {
	case strings.EqualFold(typ, "at+jwt"), strings.EqualFold(typ, "application/at+jwt"):
	default:
		return header{}, false
	}
	kid := v.GetStringBytes("kid")
	if len(kid) == 0 {
		return header{}, false
	}
	return header{kid: string(kid)}, true
}

// claimRules are what a verified token's claims must satisfy: jwx's
// jwt.Validate rules with the options Lattice gave it (times compared in
// whole seconds, each way by the leeway), with sub and exp required.
type claimRules struct {
	issuer, audience string
	leeway           time.Duration
	now              time.Time
}

// identity reads and checks the claims of a verified token's payload
// (JSON, already base64-decoded). A claim of the wrong type refuses the
// token, as does a time claim outside what time.Time can be compared
// against.
func (r claimRules) identity(payload []byte) (ports.Identity, bool) {
	p := parsers.Get()
	defer parsers.Put(p)
	v, err := p.ParseBytes(payload)
	if err != nil || v.Type() != fastjson.TypeObject || !readOnce(v.GetObject()) {
		return ports.Identity{}, false
	}
	now := r.now.Truncate(time.Second)
	exp, ok := numericDate(v.Get("exp"))
	if !ok || exp.IsZero() || !now.Before(exp.Add(r.leeway)) {
		return ports.Identity{}, false
	}
	for _, name := range [...]string{"iat", "nbf"} {
		at, ok := numericDate(v.Get(name))
		if !ok || (!at.IsZero() && now.Before(at.Add(-r.leeway))) {
			return ports.Identity{}, false
		}
	}
	iss, ok := text(v.Get("iss"))
	if !ok || string(iss) != r.issuer || !audienceHas(v.Get("aud"), r.audience) {
		return ports.Identity{}, false
	}
	sub, ok := text(v.Get("sub"))
	if !ok || len(sub) == 0 {
		return ports.Identity{}, false
	}
	jti, ok1 := text(v.Get("jti"))
	scope, ok2 := text(v.Get("scope"))
	clientID, ok3 := text(v.Get("client_id"))
	if !ok1 || !ok2 || !ok3 {
		return ports.Identity{}, false
	}
	return ports.Identity{Kind: ports.CredentialAccessToken, Subject: string(sub), ExpiresAt: exp,
		TokenID: string(jti), ClientID: string(clientID), Scopes: strings.Fields(string(scope))}, true
}

// readClaims are the claims identity reads.
var readClaims = [...]string{"iss", "sub", "aud", "exp", "nbf", "iat", "jti", "scope", "client_id"}

// readOnce says whether each claim that identity reads appears at most
// once. fastjson finds a name's first value and encoding/json (so jwx) its
// last; a token naming one twice means two things, and is refused.
func readOnce(o *fastjson.Object) bool {
	var seen [len(readClaims)]bool
	once := true
	o.Visit(func(key []byte, _ *fastjson.Value) {
		for i, name := range readClaims {
			if string(key) == name {
				once = once && !seen[i]
				seen[i] = true
				return
			}
		}
	})
	return once
}

// text is a string claim's bytes, valid until its parser is reused; an
// absent claim is empty, one of another type is refused, and so is one
// that is not UTF-8 (RFC 8259 §8.1): encoding/json would read its bytes
// as U+FFFD, fastjson keeps them, and the two must not disagree.
func text(v *fastjson.Value) ([]byte, bool) {
	if v == nil {
		return nil, true
	}
	b, err := v.StringBytes()
	return b, err == nil && utf8.Valid(b)
}

// audienceHas says whether aud, a string or an array of strings (RFC 7519
// §4.1.3), names want. Anything else in it refuses the token.
func audienceHas(aud *fastjson.Value, want string) bool {
	if aud == nil {
		return false
	}
	if aud.Type() == fastjson.TypeString {
		b, ok := text(aud)
		return ok && string(b) == want
	}
	list, err := aud.Array()
	if err != nil {
		return false
	}
	found := false
	for _, a := range list {
		b, ok := text(a)
		if !ok {
			return false
		}
		found = found || string(b) == want
	}
	return found
}

// maxNumericDate is the latest time claim taken, the year 2500: past it,
// seconds as a float64 stop being exact to the second, and no token of
// ours lives that long.
const maxNumericDate = 16725225600

// numericDate reads an RFC 7519 NumericDate, seconds since the epoch,
// possibly fractional, truncated to the second as jwx compares them. An
// absent claim is the zero time; a negative, huge or non-numeric one is
// refused.
func numericDate(v *fastjson.Value) (time.Time, bool) {
	if v == nil {
		return time.Time{}, true
	}
	f, err := v.Float64()
	if err != nil || f < 0 || f > maxNumericDate {
		return time.Time{}, false
	}
	return time.Unix(int64(math.Floor(f)), 0).UTC(), true
}
