package fleetclaim

import "errors"

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
