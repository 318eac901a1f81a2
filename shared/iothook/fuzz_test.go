package iothook

import (
	"strings"
	"testing"
)

// TemplateName gives the text after ":provisioningtemplate/" of an ARN, and
// nothing for anything else; the Gatekeeper then compares it byte for byte.
func FuzzTemplateName(f *testing.F) {
	for _, s := range []string{"arn:aws:iot:eu-west-1:123456789012:provisioningtemplate/fleet", "", "fleet",
		"arn:aws:iot:eu-west-1:1:provisioningtemplate/", "xarn:aws:iot::1:provisioningtemplate/a", "arn:aws:iot:r:a:thing/x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, arn string) {
		name := TemplateName(arn)
		if name == "" {
			return
		}
		if !strings.HasPrefix(arn, "arn:") || !strings.HasSuffix(arn, ":provisioningtemplate/"+name) {
			t.Fatalf("TemplateName(%q) = %q", arn, name)
		}
	})
}
