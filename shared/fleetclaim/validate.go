package fleetclaim

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits on identifiers. AWS IoT thing names are [a-zA-Z0-9:_-]{1,128}; a thing
// name here is "<tenant>_<serial>", so tenants (which have no "_") and serials
// are bounded to keep it within 128 and unambiguous.
const (
	MaxTenantIDLength = 32
	MaxSerialLength   = 64
	MaxTemplateLength = 36
	MaxSiteLength     = 128
	MaxClaimIDLength  = 128
)

// ValidateSerial checks a device serial number: 1..64 of [A-Za-z0-9:_-], ASCII
// only, so look-alike Unicode cannot name another device.
func ValidateSerial(s string) error {
	if s == "" {
		return Invalid("serialNumber", "is required")
	}
	if len(s) > MaxSerialLength {
		return Invalid("serialNumber", "must be at most %d characters", MaxSerialLength)
	}
	if !allOf(s, isSerialByte) {
		return Invalid("serialNumber", "may contain only A-Z, a-z, 0-9, ':', '_' and '-'")
	}
	return nil
}

// ValidateTenantID checks a tenant ID: 1..32 of [a-z0-9-].
func ValidateTenantID(t TenantID) error {
	s := string(t)
	if s == "" || len(s) > MaxTenantIDLength || !allOf(s, isTenantByte) {
		return Invalid("tenantId", "must be 1 to %d characters of a-z, 0-9 and '-'", MaxTenantIDLength)
	}
	return nil
}

// ValidateTemplateName checks a provisioning template name as AWS IoT allows it.
func ValidateTemplateName(s string) error {
	if s == "" || len(s) > MaxTemplateLength || !allOf(s, isTemplateByte) {
		return Invalid("template", "must be 1 to %d characters of A-Z, a-z, 0-9, '_' and '-'", MaxTemplateLength)
	}
	return nil
}

// ValidateSite checks the optional free-text site label.
func ValidateSite(s string) error {
	return validateFreeText("site", s, MaxSiteLength)
}

// validateFreeText checks an optional free-text value of field: valid
// UTF-8, at most limit characters, and no control or invisible characters,
// which could hide text or break where it is shown.
func validateFreeText(field, s string, limit int) error {
	if !utf8.ValidString(s) {
		return Invalid(field, "must be valid UTF-8")
	}
	if utf8.RuneCountInString(s) > limit {
		return Invalid(field, "must be at most %d characters", limit)
	}
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return Invalid(field, "must not contain control or invisible characters")
		}
	}
	return nil
}

// ValidateClaimID checks the shape of a claim ID from a path or an event:
// AWS IoT certificate IDs are 64 lowercase hex characters.
func ValidateClaimID(id ClaimID) error {
	s := string(id)
	if len(s) != 64 || !allOf(s, isLowerHex) {
		return Invalid("id", "must be a 64-character certificate ID")
	}
	return nil
}

// ValidateInstallerID checks the shape of a Cognito sub (a UUID).
func ValidateInstallerID(id InstallerID) error {
	s := string(id)
	if len(s) != 36 {
		return Invalid("installerId", "must be a Cognito user sub (UUID)")
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if i == 8 || i == 13 || i == 18 || i == 23 {
			if c != '-' {
				return Invalid("installerId", "must be a Cognito user sub (UUID)")
			}
		} else if !isLowerHex(c) {
			return Invalid("installerId", "must be a Cognito user sub (UUID)")
		}
	}
	return nil
}

// ThingName is the AWS IoT thing name of a tenant's device.
func ThingName(t TenantID, serial string) string {
	return fmt.Sprintf("%s_%s", t, serial)
}

// MaxDomainLength bounds a DNS name, as RFC 1035 does.
const MaxDomainLength = 253

// ValidateDomain checks an auto-approve domain: an ASCII DNS name of labels of
// 1 to 63 of [a-z0-9-], not starting or ending with '-', joined by dots, at
// most 253 characters, lower case. Internationalized domains are written in
// their ASCII (punycode, "xn--") form. Only ASCII is accepted so that no
// Unicode look-alike or case fold can turn one domain into another.
func ValidateDomain(d string) error {
	if d == "" || len(d) > MaxDomainLength {
		return Invalid("domain", "must be 1 to %d characters", MaxDomainLength)
	}
	for label := range strings.SplitSeq(d, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' || !allOf(label, isDomainByte) {
			return Invalid("domain", "must be lower-case ASCII labels of a-z, 0-9 and '-', joined by '.'")
		}
	}
	return nil
}

// ParseDomain folds a domain's ASCII letters to lower case and validates it
// (see ValidateDomain). It is how configured auto-approve domains are read:
// strings.ToLower would fold 'İ' to 'i' and so accept a look-alike.
func ParseDomain(s string) (string, error) {
	d := lowerASCII(s)
	if err := ValidateDomain(d); err != nil {
		return "", err
	}
	return d, nil
}

// EmailDomain returns the domain of an address, lower-cased, or "" when there
// is none or it is not a valid ASCII domain (see ValidateDomain). Only ASCII
// letters are folded: Unicode case rules map some non-ASCII letters onto ASCII
// ones ('İ' to 'i', 'K' (Kelvin) to 'k'), which would let a look-alike domain
// match an auto-approve domain.
func EmailDomain(email string) string {
	at := strings.LastIndexByte(email, '@')
	if at < 1 {
		return ""
	}
	d, err := ParseDomain(email[at+1:])
	if err != nil {
		return ""
	}
	return d
}

// lowerASCII folds A-Z to a-z and leaves every other byte as it is.
func lowerASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

func allOf(s string, ok func(byte) bool) bool {
	for i := 0; i < len(s); i++ {
		if !ok(s[i]) {
			return false
		}
	}
	return true
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}
func isSerialByte(c byte) bool   { return isAlnum(c) || c == ':' || c == '_' || c == '-' }
func isTemplateByte(c byte) bool { return isAlnum(c) || c == '_' || c == '-' }
func isTenantByte(c byte) bool   { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' }
func isLowerHex(c byte) bool     { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' }
func isDomainByte(c byte) bool   { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' }
