package gateway

import (
	"fmt"
	"hash/fnv"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/fleetclaim/fleetclaim/shared/apigw"
)

// resource is a node of the REST API's resource tree, like an API Gateway
// resource: one path segment, its methods and its children.
type resource struct {
	// path is the resource path template, e.g. "/claims/{id}".
	path string
	// id is the resource's ID as requestContext.resourceId reports it.
	id      string
	methods map[string]apigw.Route
	// literals are the children with a fixed segment, by segment.
	literals map[string]*resource
	// param is the child whose segment is a {name} path parameter; API
	// Gateway allows one per resource.
	param     *resource
	paramName string
}

// methodNames are the HTTP methods a REST API method can have, besides ANY.
var methodNames = []string{
	http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch,
	http.MethodDelete, http.MethodHead, http.MethodOptions,
}

// paramSegment is a {name} segment; greedy {name+} segments are not
// supported.
var paramSegment = regexp.MustCompile(`^\{([A-Za-z0-9._-]+)\}$`)

func newResource(path string) *resource {
	return &resource{path: path, id: resourceID(path), methods: map[string]apigw.Route{}, literals: map[string]*resource{}}
}

// newResourceTree builds the resource tree of routes, refusing templates
// API Gateway would refuse.
func newResourceTree(routes []apigw.Route) (*resource, error) {
	if len(routes) == 0 {
		return nil, fmt.Errorf("no routes")
	}
	root := newResource("/")
	for _, rt := range routes {
		if !slices.Contains(methodNames, rt.Method) {
			return nil, fmt.Errorf("route %s %s: unsupported method", rt.Method, rt.Path)
		}
		if rt.Path != "/" && (!strings.HasPrefix(rt.Path, "/") || strings.HasSuffix(rt.Path, "/")) {
			return nil, fmt.Errorf("route %s %s: path must start and not end with '/'", rt.Method, rt.Path)
		}
		node := root
		for seg := range strings.SplitSeq(strings.TrimPrefix(rt.Path, "/"), "/") {
			if seg == "" && rt.Path == "/" {
				break
			}
			next, err := node.child(seg)
			if err != nil {
				return nil, fmt.Errorf("route %s %s: %w", rt.Method, rt.Path, err)
			}
			node = next
		}
		if _, dup := node.methods[rt.Method]; dup {
			return nil, fmt.Errorf("route %s %s: declared twice", rt.Method, rt.Path)
		}
		node.methods[rt.Method] = rt
	}
	return root, nil
}

// child returns the child resource for the template segment seg, creating
// it if needed.
func (n *resource) child(seg string) (*resource, error) {
	prefix := strings.TrimSuffix(n.path, "/") + "/"
	if m := paramSegment.FindStringSubmatch(seg); m != nil {
		if n.param == nil {
			n.param, n.paramName = newResource(prefix+seg), m[1]
		}
		if n.paramName != m[1] {
			return nil, fmt.Errorf("path parameter {%s} beside {%s}: a resource has one parameter child", m[1], n.paramName)
		}
		return n.param, nil
	}
	if seg == "" || strings.ContainsAny(seg, "{}") {
		return nil, fmt.Errorf("bad path segment %q", seg)
	}
	if n.literals[seg] == nil {
		n.literals[seg] = newResource(prefix + seg)
	}
	return n.literals[seg], nil
}

// match finds the resource for an escaped API path and the values of its
// path parameters, percent-decoded. A resource without methods does not
// match: API Gateway answers for it as for a path that does not exist.
func (n *resource) match(escapedPath string) (*resource, map[string]string, bool) {
	var segs []string
	if escapedPath != "/" {
		for seg := range strings.SplitSeq(strings.TrimPrefix(escapedPath, "/"), "/") {
			// Decoding each segment on its own keeps an encoded "/" (%2F)
			// inside its parameter instead of splitting the path.
			dec, err := url.PathUnescape(seg)
			if err != nil {
				return nil, nil, false
			}
			segs = append(segs, dec)
		}
	}
	res, bound := n.find(segs, nil)
	if res == nil {
		return nil, nil, false
	}
	var params map[string]string
	if len(bound) > 0 {
		params = make(map[string]string, len(bound))
		for _, b := range bound {
			params[b.name] = b.value
		}
	}
	return res, params, true
}

// binding is a path parameter bound to a request's path segment.
type binding struct{ name, value string }

// find walks the tree for segs, preferring a literal child over the
// parameter child at each level, as API Gateway does, and trying the
// parameter child when the literal branch leads nowhere. It returns the
// resource found and the parameters bound on the way there.
func (n *resource) find(segs []string, bound []binding) (*resource, []binding) {
	if len(segs) == 0 {
		if len(n.methods) == 0 {
			return nil, nil
		}
		return n, bound
	}
	seg, rest := segs[0], segs[1:]
	if lit := n.literals[seg]; lit != nil {
		if res, b := lit.find(rest, bound); res != nil {
			return res, b
		}
	}
	// A path parameter never matches an empty segment, as in "/claims//x".
	if n.param == nil || seg == "" {
		return nil, nil
	}
	return n.param.find(rest, append(bound, binding{n.paramName, seg}))
}

// allowMethods lists the resource's methods for a CORS preflight answer.
func (n *resource) allowMethods() string {
	names := []string{http.MethodOptions}
	for m := range n.methods {
		if m != http.MethodOptions {
			names = append(names, m)
		}
	}
	slices.Sort(names)
	return strings.Join(names, ",")
}

// resourceID derives a stable 6-character ID from a resource path, shaped
// like API Gateway's resource IDs, so that logs and tests can rely on it.
func resourceID(path string) string {
	const space = 36 * 36 * 36 * 36 * 36 * 36 // six base-36 digits
	h := fnv.New32a()
	_, _ = h.Write([]byte(path))
	id := strconv.FormatUint(uint64(h.Sum32())%space, 36)
	return strings.Repeat("0", 6-len(id)) + id
}
