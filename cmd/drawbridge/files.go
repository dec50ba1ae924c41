package main

import (
	"fmt"
	"os"
)

// createPrivate creates (or truncates) a file for an export: the audit
// trail and request records are not for everyone on the machine, so a new
// file is 0600 and an existing regular file others could read is made so
// before anything is written to it.
func createPrivate(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o077 != 0 {
		err = f.Chmod(fi.Mode().Perm() &^ 0o077)
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: cannot make it readable by its owner only: %w", path, err)
	}
	return f, nil
}
