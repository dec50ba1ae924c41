package sqlite

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// privateFiles makes the database file, and the -wal and -shm files
// SQLite keeps beside it, readable and writable by their owner only: they
// hold token hashes, reasons and the audit trail. SQLite creates -wal and
// -shm with the database file's permission bits, so creating the database
// 0600 before SQLite opens it covers all three, whatever the umask.
//
// An existing file that group or others may read is tightened (owner bits
// kept) and warn says so: the store's owner is the only one who should
// read it, and an operator who needs another reader should give them a
// copy (audit export), not the live file. A file this process cannot
// chmod (owned by someone else) is left as it is, with a warning.
func privateFiles(path string, warn func(string)) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err == nil {
		return f.Close()
	}
	if !errors.Is(err, fs.ErrExist) {
		return err
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		mode := fi.Mode().Perm()
		if mode&0o077 == 0 {
			continue
		}
		if err := os.Chmod(p, mode&^0o077); err != nil {
			warn(fmt.Sprintf("store file %s has mode %04o, so others can read token hashes and the audit trail, and it could not be made %04o: %v; chmod it yourself", p, mode, mode&^0o077, err))
			continue
		}
		warn(fmt.Sprintf("store file %s had mode %04o, so others could read token hashes and the audit trail: changed to %04o", p, mode, mode&^0o077))
	}
	return nil
}
