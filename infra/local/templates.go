package main

import (
	"errors"
	"fmt"
)

// templateDescriber tells whether a provisioning template has a
// pre-provisioning hook (the AWS IoT stand-in's TemplateHooked).
type templateDescriber interface {
	TemplateHooked(name string) (bool, error)
}

// checkTemplatesGuarded refuses to start the stack unless every template a
// claim may name runs the pre-provisioning hook: a claim for a template
// without one would register any device unchecked. It is the local
// counterpart of the CDK app's synth-time check (infra/stack.go).
func checkTemplatesGuarded(iot templateDescriber, names []string) error {
	var errs []error
	for _, name := range names {
		switch hooked, err := iot.TemplateHooked(name); {
		case err != nil:
			errs = append(errs, fmt.Errorf("template %s: %w", name, err))
		case !hooked:
			errs = append(errs, fmt.Errorf("template %s has no pre-provisioning hook; claims for it would register devices unchecked", name))
		}
	}
	return errors.Join(errs...)
}
