package iot

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// openTestStore opens the registry in dir at a fixed clock.
func openTestStore(t *testing.T, dir string) *store {
	t.Helper()
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = root.Close() })
	now := func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) }
	s, err := openStore(root, now)
	if err != nil {
		t.Fatalf("openStore: %v", err)
	}
	t.Cleanup(func() { _ = s.close() })
	return s
}

// addCertificate records a certificate with a PEM-sized body.
func addCertificate(t *testing.T, s *store, id string) {
	t.Helper()
	rec := certRecord{ID: id, PEM: strings.Repeat("M", 1200), Kind: kindDevice, Status: statusActive, Template: "widget",
		CreatedAt: time.Date(2026, 1, 2, 3, 0, 0, 0, time.UTC), NotAfter: deviceNotAfter}
	if err := s.update(func(tx *txn) error { tx.putCertificate(rec); return nil }); err != nil {
		t.Fatalf("add %s: %v", id, err)
	}
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	info, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return info.Size()
}

// A change appends about its own size and leaves the snapshot alone, however
// large the registry: rewriting the whole registry on every change made
// each provisioning slower than the one before.
func TestStoreChangeCostsItsOwnSize(t *testing.T) {
	dir := t.TempDir()
	s := openTestStore(t, dir)
	for i := range 300 {
		addCertificate(t, s, fmt.Sprintf("cert-%03d", i))
	}
	if err := s.close(); err != nil {
		t.Fatal(err)
	}
	s = openTestStore(t, dir) // folds the 300 into the snapshot
	snapshot := filepath.Join(dir, stateFile)
	before, err := os.Stat(snapshot)
	if err != nil {
		t.Fatal(err)
	}
	journalBefore := fileSize(t, filepath.Join(dir, journalFile))
	addCertificate(t, s, "cert-last")
	after, err := os.Stat(snapshot)
	if err != nil {
		t.Fatal(err)
	}
	if !os.SameFile(before, after) || after.Size() != before.Size() {
		t.Errorf("one change rewrote the %d-byte snapshot", before.Size())
	}
	if grew := fileSize(t, filepath.Join(dir, journalFile)) - journalBefore; grew <= 0 || grew > 4096 {
		t.Errorf("one 1.2 KB certificate grew the journal by %d bytes, want (0, 4096]", grew)
	}
}

// Once the journal has grown as large as the snapshot, the next change folds
// it in: the journal stays in proportion to the registry.
func TestStoreCompactsALongJournal(t *testing.T) {
	dir := t.TempDir()
	s := openTestStore(t, dir)
	s.minCompact = 8 << 10
	for i := range 40 {
		addCertificate(t, s, fmt.Sprintf("cert-%03d", i))
		journal := fileSize(t, filepath.Join(dir, journalFile))
		if limit := max(s.minCompact, fileSize(t, filepath.Join(dir, stateFile))); journal >= limit {
			t.Fatalf("after change %d the journal holds %d bytes, want it folded in below %d", i+1, journal, limit)
		}
	}
	if fileSize(t, filepath.Join(dir, stateFile)) == 0 {
		t.Fatal("40 changes of 1.2 KB never compacted an 8 KB journal")
	}
	if err := s.close(); err != nil {
		t.Fatal(err)
	}
	openTestStore(t, dir).view(func(st *state) {
		if len(st.Certificates) != 40 {
			t.Errorf("%d certificates after compactions and a restart, want 40", len(st.Certificates))
		}
	})
}

// What was changed survives a restart, in the order it was changed,
// deletions included; a restart folds the journal into the snapshot.
func TestStoreSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	s := openTestStore(t, dir)
	addCertificate(t, s, "kept")
	addCertificate(t, s, "deleted")
	if err := s.update(func(tx *txn) error {
		tx.deleteCertificate("deleted")
		tx.putThing(thingRecord{Name: "widget-1", Template: "widget", CertificateIDs: []string{"kept"},
			Attributes: map[string]string{"SerialNumber": "1"}})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.close(); err != nil {
		t.Fatal(err)
	}

	again := openTestStore(t, dir)
	again.view(func(st *state) {
		if _, ok := st.Certificates["kept"]; !ok {
			t.Error("certificate kept is gone after a restart")
		}
		if _, ok := st.Certificates["deleted"]; ok {
			t.Error("certificate deleted is back after a restart")
		}
		if got := st.Things["widget-1"].Attributes["SerialNumber"]; got != "1" {
			t.Errorf("thing attribute SerialNumber = %q after a restart, want 1", got)
		}
	})
	if n := fileSize(t, filepath.Join(dir, journalFile)); n != 0 {
		t.Errorf("journal holds %d bytes after opening, want 0 (folded into %s)", n, stateFile)
	}
}

// A crash in the middle of writing a change leaves a last line without its
// newline: that change was never acknowledged, and is dropped. A damaged
// line before the last is refused, rather than guessed around.
func TestStoreJournalDamage(t *testing.T) {
	tests := []struct {
		name    string
		tail    string
		wantErr bool
	}{
		{"partial last line", `{"certificates":{"torn":{"certificateId":"torn"`, false},
		{"damaged line before the last", "{not json}\n" + `{"certificates":{}}` + "\n", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			s := openTestStore(t, dir)
			addCertificate(t, s, "kept")
			if err := s.close(); err != nil {
				t.Fatal(err)
			}
			f, err := os.OpenFile(filepath.Join(dir, journalFile), os.O_WRONLY|os.O_APPEND, 0)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.WriteString(tt.tail); err != nil {
				t.Fatal(err)
			}
			if err := f.Close(); err != nil {
				t.Fatal(err)
			}

			root, err := os.OpenRoot(dir)
			if err != nil {
				t.Fatal(err)
			}
			defer root.Close()
			again, err := openStore(root, time.Now)
			if tt.wantErr {
				if err == nil {
					_ = again.close()
					t.Fatal("openStore accepted a damaged journal")
				}
				return
			}
			if err != nil {
				t.Fatalf("openStore: %v", err)
			}
			defer again.close()
			again.view(func(st *state) {
				if _, ok := st.Certificates["kept"]; !ok {
					t.Error("certificate written before the torn line is gone")
				}
				if _, ok := st.Certificates["torn"]; ok {
					t.Error("the torn change was applied")
				}
			})
		})
	}
}

// BenchmarkStoreChange is one certificate recorded in a registry that already
// holds n: a provisioning makes three such changes.
func BenchmarkStoreChange(b *testing.B) {
	for _, n := range []int{100, 2000} {
		b.Run(fmt.Sprintf("registry=%d", n), func(b *testing.B) {
			root, err := os.OpenRoot(b.TempDir())
			if err != nil {
				b.Fatal(err)
			}
			defer root.Close()
			s, err := openStore(root, time.Now)
			if err != nil {
				b.Fatal(err)
			}
			defer s.close()
			rec := certRecord{PEM: strings.Repeat("M", 1200), Kind: kindDevice, Status: statusActive, NotAfter: deviceNotAfter}
			if err := s.update(func(tx *txn) error {
				for i := range n {
					rec.ID = fmt.Sprintf("seed-%d", i)
					tx.putCertificate(rec)
				}
				return nil
			}); err != nil {
				b.Fatal(err)
			}
			i := 0
			for b.Loop() {
				i++
				rec.ID = fmt.Sprintf("cert-%d", i)
				if err := s.update(func(tx *txn) error { tx.putCertificate(rec); return nil }); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// A change allocates for the records it touches, whatever the registry
// holds: copying the whole registry for each change, to diff it afterwards,
// made every change cost as much as the registry's size.
func TestStoreChangeWorkIsItsOwn(t *testing.T) {
	allocs := map[int]float64{}
	for _, things := range []int{10, 1000} {
		s := openTestStore(t, t.TempDir())
		if err := s.update(func(tx *txn) error {
			for i := range things {
				name := fmt.Sprintf("thing-%d", i)
				tx.putThing(thingRecord{Name: name, Template: "widget", CertificateIDs: []string{name},
					Attributes: map[string]string{"SerialNumber": name}})
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		i := 0
		allocs[things] = testing.AllocsPerRun(50, func() {
			i++
			rec := certRecord{ID: fmt.Sprintf("cert-%d", i), Kind: kindDevice, Status: statusActive, Template: "widget"}
			if err := s.update(func(tx *txn) error { tx.putCertificate(rec); return nil }); err != nil {
				t.Fatal(err)
			}
		})
	}
	if allocs[1000] > allocs[10]+5 {
		t.Errorf("one certificate recorded: %.0f allocations with 1000 things registered, %.0f with 10; want about the same",
			allocs[1000], allocs[10])
	}
}
