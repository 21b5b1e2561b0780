package pgcluster

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// debianBinGlob is where Debian and Ubuntu install each major version's server
// binaries. They are not on PATH there (only pg_wrapper'd clients are), which
// is why FindBinDir looks here after PATH.
const debianBinGlob = "/usr/lib/postgresql/*/bin"

// ErrNoBinaries reports that no PostgreSQL server installation was found.
var ErrNoBinaries = errors.New("pgcluster: no PostgreSQL server binaries (initdb and postgres) on PATH or in " +
	debianBinGlob + "; install them, e.g. `apt-get install postgresql`, or put their directory on PATH")

// FindBinDir returns the directory holding initdb and postgres: the one on
// PATH first (an explicit choice by the user), else the newest version under
// /usr/lib/postgresql/*/bin.
func FindBinDir() (string, error) {
	if p, err := exec.LookPath("initdb"); err == nil {
		// A PATH entry is often a symlink (/usr/local/bin/initdb -> the real
		// bin dir): prefer the real directory, but accept the link's own
		// directory when postgres sits beside the link instead.
		candidates := []string{filepath.Dir(p)}
		if real, err := filepath.EvalSymlinks(p); err == nil {
			candidates = []string{filepath.Dir(real), filepath.Dir(p)}
		}
		for _, dir := range candidates {
			if hasServer(dir) {
				return absDir(dir), nil
			}
		}
	}
	dirs, _ := filepath.Glob(debianBinGlob) // the pattern is valid: the only possible error is ErrBadPattern
	// Numeric order, newest first: "16" is newer than "9.6", which a string
	// sort would get wrong.
	slices.SortFunc(dirs, func(a, b string) int {
		return compareVersions(filepath.Base(filepath.Dir(b)), filepath.Base(filepath.Dir(a)))
	})
	for _, dir := range dirs {
		if hasServer(dir) {
			return dir, nil
		}
	}
	return "", ErrNoBinaries
}

// hasServer reports whether dir holds both initdb and postgres as executables.
func hasServer(dir string) bool {
	for _, name := range []string{"initdb", "postgres"} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil || fi.IsDir() || fi.Mode().Perm()&0o111 == 0 {
			return false
		}
	}
	return true
}

func absDir(dir string) string {
	if abs, err := filepath.Abs(dir); err == nil {
		return abs
	}
	return dir
}

// compareVersions compares dotted version strings ("9.6", "15") numerically,
// component by component. Non-numeric components sort before numeric ones so
// an odd directory never wins over a real version.
func compareVersions(a, b string) int {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < max(len(as), len(bs)); i++ {
		x, y := -1, -1
		if i < len(as) {
			if n, err := strconv.Atoi(as[i]); err == nil {
				x = n
			}
		}
		if i < len(bs) {
			if n, err := strconv.Atoi(bs[i]); err == nil {
				y = n
			}
		}
		if x != y {
			if x < y {
				return -1
			}
			return 1
		}
	}
	return 0
}
