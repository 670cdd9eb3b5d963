// Command gzgen writes the pre-compressed form (NAME.gz) of every big asset
// of a console tree and removes .gz files whose source is gone or too small.
// It is run by `go generate ./console`; the product binary carries none of
// its code.
package main

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"kehou/console"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: gzgen DIR")
		os.Exit(2)
	}
	if err := run(os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "gzgen:", err)
		os.Exit(1)
	}
}

func run(dir string) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if strings.HasSuffix(p, ".gz") {
			src, err := os.Stat(strings.TrimSuffix(p, ".gz"))
			if err != nil || !console.Compressible(src.Name(), int(src.Size())) {
				fmt.Println("remove", p)
				return os.Remove(p)
			}
			return nil
		}
		body, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if !console.Compressible(p, len(body)) {
			return nil
		}
		gz, err := console.Compress(body)
		if err != nil {
			return err
		}
		if old, err := os.ReadFile(p + ".gz"); err == nil && bytes.Equal(old, gz) {
			return nil
		}
		fmt.Printf("write %s.gz (%d → %d bytes)\n", p, len(body), len(gz))
		return os.WriteFile(p+".gz", gz, 0o644)
	})
}
