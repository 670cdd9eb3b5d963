package models

import (
	"database/sql"
	"strconv"
	"strings"
	"sync"

	"gorm.io/gorm"
)

// The enrollment transaction runs its statements through database/sql on
// the transaction's own connection, not through GORM: on the single SQLite
// writer every microsecond is serial, and GORM's statement building and
// callbacks cost a third of the writer's time in a rush. The SQL is written
// with ? placeholders and rebound to $n for PostgreSQL.

// raw is the database/sql face of a GORM handle (inside a transaction, its
// *sql.Tx).
type raw struct {
	tx *gorm.DB
	d  Dialect
}

func rawOf(tx *gorm.DB) raw { return raw{tx: tx, d: dialectOf(tx)} }

var dollarQueries sync.Map // ? query → $n query

// sql returns q for the engine.
func (r raw) sql(q string) string {
	if r.d != Postgres {
		return q
	}
	if d, ok := dollarQueries.Load(q); ok {
		return d.(string)
	}
	var sb strings.Builder
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			sb.WriteByte('$')
			sb.WriteString(strconv.Itoa(n))
			continue
		}
		sb.WriteByte(q[i])
	}
	d := sb.String()
	dollarQueries.Store(q, d)
	return d
}

func (r raw) exec(q string, args ...any) (sql.Result, error) {
	return r.tx.Statement.ConnPool.ExecContext(r.tx.Statement.Context, r.sql(q), args...)
}

func (r raw) query(q string, args ...any) (*sql.Rows, error) {
	return r.tx.Statement.ConnPool.QueryContext(r.tx.Statement.Context, r.sql(q), args...)
}

func (r raw) queryRow(q string, args ...any) *sql.Row {
	return r.tx.Statement.ConnPool.QueryRowContext(r.tx.Statement.Context, r.sql(q), args...)
}

// each runs q and hands each row to fn.
func (r raw) each(q string, args []any, fn func(*sql.Rows) error) error {
	rows, err := r.query(q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// affected runs q and returns the rows it changed.
func (r raw) affected(q string, args ...any) (int64, error) {
	res, err := r.exec(q, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
