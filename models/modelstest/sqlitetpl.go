package modelstest

// The SQLite databases of the tests, copied from a template.
//
// Migrating a new SQLite file costs a test some 50–150 ms of CPU under
// -race (every migration a transaction, every statement through GORM), and
// a test package opens hundreds of them. Each test process migrates one
// file once, keeps its bytes, and Open writes them to the path of a URL
// whose file does not exist yet instead of migrating it: the same schema
// and rows, as migrated, in a file of the test's own. A path that already
// holds a database (a test that started a server on it first) is migrated
// as before.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"kehou/models"
)

var sqliteTpl struct {
	once  sync.Once
	bytes []byte
	err   error
}

// sqliteTemplate returns the bytes of a freshly migrated SQLite database,
// made once per process.
func sqliteTemplate() ([]byte, error) {
	sqliteTpl.once.Do(func() { sqliteTpl.bytes, sqliteTpl.err = makeSQLiteTemplate() })
	return sqliteTpl.bytes, sqliteTpl.err
}

func makeSQLiteTemplate() ([]byte, error) {
	dir, err := os.MkdirTemp("", "kehou-modelstest-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "template.db")
	db, err := models.Open("sqlite:"+path, models.Options{})
	if err != nil {
		return nil, err
	}
	_, err = models.Migrate(context.Background(), db)
	if err == nil {
		// Everything into the main file, so its bytes alone are the database.
		err = db.W.Exec("PRAGMA wal_checkpoint(TRUNCATE)").Error
	}
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	if st, err := os.Stat(path + "-wal"); err == nil && st.Size() > 0 {
		return nil, fmt.Errorf("modelstest: template's WAL not checkpointed (%d bytes)", st.Size())
	}
	return os.ReadFile(path)
}

// fillSQLite writes the template to the file of url when there is none
// yet; false when it did not (the caller migrates).
func fillSQLite(url string) (bool, error) {
	path, ok := strings.CutPrefix(url, "sqlite:")
	if !ok || path == "" || strings.HasPrefix(path, "file:") || strings.Contains(path, "?") {
		return false, nil
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	b, err := sqliteTemplate()
	if err != nil {
		return false, err
	}
	// O_EXCL: never over a file someone else just created.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return false, nil
	}
	_, err = f.Write(b)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err == nil, err
}
