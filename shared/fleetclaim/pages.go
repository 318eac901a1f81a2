package fleetclaim

import (
	"context"
	"errors"
)

// normalize checks a page request and applies the default size.
func (p Page) normalize() (Page, error) {
	switch {
	case p.Limit == 0:
		p.Limit = DefaultPageSize
	case p.Limit < 0 || p.Limit > MaxPageSize:
		return p, Invalid("limit", "must be between 1 and %d", MaxPageSize)
	}
	if len(p.Cursor) > 1024 {
		return p, Invalid("cursor", "is not a cursor this API returned")
	}
	return p, nil
}

// listError maps a store listing error to what the caller sees.
func listError(err error) error {
	if errors.Is(err, ErrInvalidCursor) {
		return Invalid("cursor", "is not a cursor this API returned")
	}
	return Unavailable(err)
}

// listInTenant is every listing of one tenant's records: the page is
// checked, the caller resolved by resolve (Service.member or Service.admin),
// the tenant parameter narrowed to one the caller may see (principal.go),
// and only then is the store asked.
func listInTenant[T any](ctx context.Context, p Principal, resolve func(context.Context, Principal) (actor, error),
	tenant TenantID, pg Page, list func(context.Context, TenantID, Page) ([]T, string, error)) ([]T, string, error) {
	pg, err := pg.normalize()
	if err != nil {
		return nil, "", err
	}
	a, err := resolve(ctx, p)
	if err != nil {
		return nil, "", err
	}
	t, err := a.targetTenant(tenant)
	if err != nil {
		return nil, "", err
	}
	items, next, err := list(ctx, t, pg)
	if err != nil {
		return nil, "", listError(err)
	}
	return items, next, nil
}
