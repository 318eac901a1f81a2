package gateway

import (
	"reflect"
	"testing"

	"github.com/fleetclaim/fleetclaim/shared/apigw"
)

func TestMatch(t *testing.T) {
	routes := append(apigw.Routes,
		apigw.Route{Method: "GET", Path: "/claims/mine"},
		apigw.Route{Method: "GET", Path: "/sites/{site}/devices/{serial}"},
		apigw.Route{Method: "GET", Path: "/sites/all/devices"},
		apigw.Route{Method: "GET", Path: "/"},
	)
	tree, err := newResourceTree(routes)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		path       string
		wantPath   string // "" when nothing matches
		wantParams map[string]string
	}{
		{"root", "/", "/", nil},
		{"literal", "/claims", "/claims", nil},
		{"parameter", "/claims/c-1", "/claims/{id}", map[string]string{"id": "c-1"}},
		{"literal beats parameter", "/claims/mine", "/claims/mine", nil},
		{"parameter then literal", "/installers/i-1/approve", "/installers/{id}/approve", map[string]string{"id": "i-1"}},
		{"two parameters", "/sites/s-1/devices/SN-1", "/sites/{site}/devices/{serial}", map[string]string{"site": "s-1", "serial": "SN-1"}},
		{"literal branch fails, parameter branch matches", "/sites/all/devices/SN-1", "/sites/{site}/devices/{serial}", map[string]string{"site": "all", "serial": "SN-1"}},
		{"literal branch matches", "/sites/all/devices", "/sites/all/devices", nil},
		{"decoded parameter", "/claims/a%20b", "/claims/{id}", map[string]string{"id": "a b"}},
		{"encoded slash stays in the parameter", "/claims/a%2Fb", "/claims/{id}", map[string]string{"id": "a/b"}},
		{"encoded literal", "/cl%61ims", "/claims", nil},
		{"unicode parameter", "/devices/%E2%84%AA", "/devices/{serial}", map[string]string{"serial": "\u212a"}},
		{"bad escape", "/claims/%zz", "", nil},
		{"empty parameter", "/claims/", "", nil},
		{"resource without methods", "/sites/s-1", "", nil},
		{"too long", "/claims/c-1/x", "", nil},
		{"unknown", "/nope", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, params, ok := tree.match(tt.path)
			if tt.wantPath == "" {
				if ok {
					t.Errorf("match(%q) = %s, want no match", tt.path, res.path)
				}
				return
			}
			if !ok {
				t.Fatalf("match(%q): no match, want %s", tt.path, tt.wantPath)
			}
			if res.path != tt.wantPath {
				t.Errorf("match(%q) = %s, want %s", tt.path, res.path, tt.wantPath)
			}
			if !reflect.DeepEqual(params, tt.wantParams) {
				t.Errorf("match(%q) params = %v, want %v", tt.path, params, tt.wantParams)
			}
		})
	}
}

func TestResourceIDs(t *testing.T) {
	tree, err := newResourceTree(apigw.Routes)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]string{}
	for _, rt := range apigw.Routes {
		res, _, ok := tree.match(rt.Path)
		if !ok {
			t.Fatalf("route template %s does not match itself", rt.Path)
		}
		if len(res.id) != 6 {
			t.Errorf("resource %s has ID %q, want 6 characters", rt.Path, res.id)
		}
		if other, dup := seen[res.id]; dup && other != rt.Path {
			t.Errorf("resources %s and %s share ID %s", other, rt.Path, res.id)
		}
		seen[res.id] = rt.Path
	}
}
