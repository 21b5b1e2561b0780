package pgcluster

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
)

// prepareDataDir creates dataDir (mode 0700, as postgres demands) and, when
// we run as root, picks the unprivileged user the server will run as
// (postgres refuses to run as root), hands the directory to it and makes sure
// that user can reach it. It returns nil credentials when no switch is needed.
func prepareDataDir(dataDir string) (*syscall.Credential, error) {
	if err := os.MkdirAll(filepath.Dir(dataDir), 0o755); err != nil {
		return nil, fmt.Errorf("pgcluster: %w", err)
	}
	if err := os.Mkdir(dataDir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("pgcluster: %w", err)
	}
	fi, err := os.Stat(dataDir)
	if err != nil {
		return nil, fmt.Errorf("pgcluster: %w", err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("pgcluster: data directory %s is not a directory", dataDir)
	}
	if os.Geteuid() != 0 {
		return nil, nil
	}

	cred, err := serverUser(dataDir, fi)
	if err != nil {
		return nil, err
	}
	if err := chownTree(dataDir, fi, cred); err != nil {
		return nil, err
	}
	if err := ensureTraversable(filepath.Dir(dataDir), cred); err != nil {
		return nil, err
	}
	return cred, nil
}

// serverUser chooses who runs the server when we are root. An existing
// cluster owned by an ordinary user keeps running as that user (it was made
// by a non-root run, or by a previous root run that chose it); otherwise the
// "postgres" account, else "nobody".
func serverUser(dataDir string, fi fs.FileInfo) (*syscall.Credential, error) {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && st.Uid != 0 {
		if _, err := os.Stat(filepath.Join(dataDir, "PG_VERSION")); err == nil {
			return &syscall.Credential{Uid: st.Uid, Gid: st.Gid}, nil
		}
	}
	var lookupErrs []error
	for _, name := range []string{"postgres", "nobody"} {
		u, err := user.Lookup(name)
		if err != nil {
			lookupErrs = append(lookupErrs, err)
			continue
		}
		uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
		gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
		if err1 != nil || err2 != nil || uid == 0 {
			continue
		}
		// No supplementary groups: the server needs none, and root's own
		// must not leak into the child (an empty list drops them).
		return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}, nil
	}
	return nil, fmt.Errorf("pgcluster: running as root, and postgres refuses to run as root, but no unprivileged user (postgres, nobody) was found to run it as: %w", errors.Join(lookupErrs...))
}

// chownTree gives dataDir and everything in it to cred's user, unless the
// directory already belongs to it (then so does its content, written by it).
func chownTree(dataDir string, fi fs.FileInfo, cred *syscall.Credential) error {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && st.Uid == cred.Uid && st.Gid == cred.Gid {
		return nil
	}
	err := filepath.WalkDir(dataDir, func(path string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(path, int(cred.Uid), int(cred.Gid))
	})
	if err != nil {
		return fmt.Errorf("pgcluster: give %s to uid %d: %w", dataDir, cred.Uid, err)
	}
	return nil
}

// ensureTraversable makes every directory from dir up to / searchable by
// cred's user, so it can reach the data directory: os.MkdirTemp, for one,
// creates 0700 directories. Only the one missing execute (search) bit is
// added, never read: the user can pass through but not list.
func ensureTraversable(dir string, cred *syscall.Credential) error {
	for {
		fi, err := os.Stat(dir)
		if err != nil {
			return fmt.Errorf("pgcluster: %w", err)
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		if !ok {
			return nil
		}
		var need fs.FileMode
		switch {
		case st.Uid == cred.Uid:
			need = 0o100
		case st.Gid == cred.Gid:
			need = 0o010
		default:
			need = 0o001
		}
		if fi.Mode()&need == 0 {
			if err := os.Chmod(dir, fi.Mode()|need); err != nil {
				return fmt.Errorf("pgcluster: make %s traversable for uid %d: %w", dir, cred.Uid, err)
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return nil
		}
		dir = parent
	}
}
