// Package statefile keeps the local stand-ins' state in files that survive a
// crash. A file is replaced whole, never rewritten in place, so a kill -9 or
// a power cut at any moment leaves either the old content or the new one.
package statefile

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Load decodes the JSON file name in dir into v. A missing file is a fresh
// start, not an error: v is left as it is.
func Load(dir *os.Root, name string, v any) error {
	data, err := dir.ReadFile(name)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("read %s: %w", filepath.Join(dir.Name(), name), err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("decode %s: %w", filepath.Join(dir.Name(), name), err)
	}
	return nil
}

// Save writes v as indented JSON to the file name in dir with WriteFile. The
// file is private to the owner: state holds password hashes and certificate
// records.
func Save(dir *os.Root, name string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encode state: %w", err)
	}
	if err := WriteFile(dir, name, data, 0o600); err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	return nil
}

// WriteFile replaces the file name in dir with data so that a reader, or a
// restart after a crash, sees either the old content or the new, never a
// mix: it writes a temporary file in the same directory, flushes it, renames
// it over the target and flushes the directory, which makes the rename
// itself durable. The file gets perm, whatever the old one had. An error
// from the last step, flushing the directory, comes after the rename: the
// new content is in place, but may not survive a power cut.
func WriteFile(dir *os.Root, name string, data []byte, perm fs.FileMode) (err error) {
	tmpName := "." + name + "." + rand.Text() + ".tmp"
	tmp, err := dir.OpenFile(tmpName, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = dir.Remove(tmpName)
		}
	}()
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Sync()
	}
	if err = errors.Join(err, tmp.Close()); err != nil {
		return err
	}
	if err = dir.Rename(tmpName, name); err != nil {
		return err
	}
	d, err := dir.Open(".")
	if err != nil {
		return err
	}
	return errors.Join(d.Sync(), d.Close())
}
