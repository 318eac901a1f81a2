package fleetclaim

import (
	_ "embed"
	"strings"
)

// publicMailList is the shipped list of public mail providers
// (publicmail.txt, documented there).
//
//go:embed publicmail.txt
var publicMailList string

// publicMailDomains is publicMailList as a set.
var publicMailDomains = func() map[string]bool {
	set := map[string]bool{}
	for _, line := range PublicMailDomains() {
		set[line] = true
	}
	return set
}()

// PublicMailDomains returns the shipped public mail providers, in file order.
func PublicMailDomains() []string {
	var out []string
	for line := range strings.SplitSeq(publicMailList, "\n") {
		if d, _, _ := strings.Cut(line, "#"); strings.TrimSpace(d) != "" {
			out = append(out, strings.TrimSpace(d))
		}
	}
	return out
}

// IsPublicMailDomain reports whether d (a domain as ParseDomain returns it)
// is a public mail provider or one of its subdomains.
func IsPublicMailDomain(d string) bool {
	for {
		if publicMailDomains[d] {
			return true
		}
		_, parent, ok := strings.Cut(d, ".")
		if !ok {
			return false
		}
		d = parent
	}
}
