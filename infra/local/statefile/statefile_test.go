package statefile_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fleetclaim/fleetclaim/infra/local/statefile"
)

type record struct {
	Name  string `json:"name"`
	Count int    `json:"count"`
}

func openRoot(t *testing.T) (string, *os.Root) {
	t.Helper()
	dir := t.TempDir()
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = root.Close() })
	return dir, root
}

// entries lists the directory, so a test can see that no temporary file is
// left behind.
func entries(t *testing.T, dir string) []string {
	t.Helper()
	list, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range list {
		names = append(names, e.Name())
	}
	return names
}

func TestSaveThenLoad(t *testing.T) {
	dir, root := openRoot(t)
	for _, want := range []record{{Name: "first", Count: 1}, {Name: "second", Count: 2}} {
		if err := statefile.Save(root, "state.json", want); err != nil {
			t.Fatalf("save %+v: %v", want, err)
		}
		var got record
		if err := statefile.Load(root, "state.json", &got); err != nil {
			t.Fatalf("load: %v", err)
		}
		if got != want {
			t.Errorf("got %+v, want %+v", got, want)
		}
	}
	info, err := os.Stat(filepath.Join(dir, "state.json"))
	if err != nil {
		t.Fatal(err)
	}
	if got := info.Mode().Perm(); got != 0o600 {
		t.Errorf("got mode %v, want 0600", got)
	}
	if got := entries(t, dir); len(got) != 1 {
		t.Errorf("got files %v, want only state.json", got)
	}
}

func TestLoad(t *testing.T) {
	tests := []struct {
		name    string
		content string // "" means no file
		want    record
		wantErr string
	}{
		{name: "missing file leaves the value", want: record{Name: "default"}},
		{name: "file overrides", content: `{"name":"saved","count":3}`, want: record{Name: "saved", Count: 3}},
		{name: "torn file is an error", content: `{"name":"sa`, want: record{Name: "default"}, wantErr: "decode "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, root := openRoot(t)
			if tt.content != "" {
				if err := os.WriteFile(filepath.Join(dir, "state.json"), []byte(tt.content), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			got := record{Name: "default"}
			err := statefile.Load(root, "state.json", &got)
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("got error %v, want %q", err, tt.wantErr)
			}
			if tt.wantErr == "" && got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestWriteFile(t *testing.T) {
	tests := []struct {
		name string
		perm os.FileMode
	}{
		{name: "private", perm: 0o600},
		{name: "public", perm: 0o644},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, root := openRoot(t)
			if err := statefile.WriteFile(root, "f", []byte("content"), tt.perm); err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(filepath.Join(dir, "f"))
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != "content" {
				t.Errorf("got %q, want %q", got, "content")
			}
			info, err := os.Stat(filepath.Join(dir, "f"))
			if err != nil {
				t.Fatal(err)
			}
			if got, want := info.Mode().Perm(), tt.perm&^umask(t); got != want {
				t.Errorf("got mode %v, want %v", got, want)
			}
		})
	}
}

// A write that fails leaves what was there, and no temporary file. The
// target is a non-empty directory, which a file cannot be renamed over, so
// the last step fails after the temporary file was written.
func TestWriteFileFailureKeepsOldContent(t *testing.T) {
	dir, root := openRoot(t)
	if err := os.Mkdir(filepath.Join(dir, "state"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "state", "x"), []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := statefile.WriteFile(root, "state", []byte("new"), 0o600); err == nil {
		t.Fatal("got no error renaming over a non-empty directory, want one")
	}
	if info, err := os.Stat(filepath.Join(dir, "state")); err != nil || !info.IsDir() {
		t.Fatalf("the target is no longer the directory it was: %v, %v", info, err)
	}
	if got, err := os.ReadFile(filepath.Join(dir, "state", "x")); err != nil || string(got) != "old" {
		t.Errorf("got %q, %v; want %q", got, err, "old")
	}
	if got := entries(t, dir); len(got) != 1 {
		t.Errorf("got files %v, want only the target", got)
	}
}

// umask is the process's file mode creation mask, read back from a file.
func umask(t *testing.T) os.FileMode {
	t.Helper()
	path := filepath.Join(t.TempDir(), "probe")
	if err := os.WriteFile(path, nil, 0o777); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return 0o777 &^ info.Mode().Perm()
}
