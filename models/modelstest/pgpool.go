package modelstest

// The PostgreSQL schemas of the tests, recycled. (One file past 450 lines:
// taking, resetting, checking and dropping a pooled schema are one
// mechanism, whose invariants are easier read together.)
//
// Migrating a fresh schema costs PostgreSQL some 0.3 s of CPU (about fifty
// tables, their indexes and constraints) and dropping it another 0.15 s; a
// test package opens hundreds of them, so on PostgreSQL that DDL was most of
// the suite's extra time over SQLite. Instead each test process keeps a pool:
//
//   - URL still hands out a new, empty schema (kt_<token>_<n>): some tests
//     migrate it themselves (the serve and migrate commands, the bench).
//   - Open, given such a schema still empty, swaps in a migrated one from the
//     pool (DROP the empty one, RENAME the pooled one to its name: catalog
//     updates, no DDL of tables) instead of migrating it.
//   - At the test's cleanup the schema is reset to the state of a freshly
//     migrated one and goes back to the pool: the tables that hold rows, and
//     the tables whose foreign keys point at them, are truncated (new, empty
//     files, as a fresh schema has), the rows the migrations insert are copied
//     back from the process's template schema (kt_<token>_tpl, migrated once
//     and never handed out), and every sequence is set back to the
//     template's. A schema whose catalog differs from the template's (a test
//     dropped a table or left a trigger), one still in use by a connection
//     (each URL names its schema as application_name), or one whose reset
//     fails is dropped instead, as before.
//
// The schemas belong to the process that made them: it holds an advisory
// lock on its token for its life. A process that finds schemas of a token
// whose lock it can take (their process died) drops them, so killed runs do
// not leave schemas behind for long.

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/binary"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"kehou/models"
)

// lockClass is the first key of the two-key advisory locks of test
// processes ("keho"); kehou's own advisory locks use one 64-bit key, a
// space of its own.
const lockClass = 0x6b65686f

// inUseWait bounds how long a cleanup waits for the connections of a schema
// to go before it gives the schema up (drops it) rather than reuse it.
const defaultInUseWait = 3 * time.Second

var inUseWait = defaultInUseWait

// pgPool is the process's pool of schemas on the TEST_DATABASE_URL.
type pgPool struct {
	base  string
	admin *sql.DB
	token uint32
	seq   atomic.Int64

	tplOnce sync.Once
	tplErr  error
	tpl     *schemaInfo

	mu    sync.Mutex
	free  []string        // migrated, reset schemas ready for Open
	fresh map[string]bool // schemas URL made that Open has not yet filled
	// swaps counts the schemas Open took from the pool (TestSchemaPool).
	swaps atomic.Int64
}

// schemaInfo is what a freshly migrated schema holds, read from the
// template.
type schemaInfo struct {
	name        string
	fingerprint string
	tables      []string
	seeded      map[string]string // table → md5 of the rows the migrations insert
	sequences   map[string]sql.NullInt64
	referencing map[string][]string // table → tables with a foreign key to it
}

var (
	poolOnce sync.Once
	pool     *pgPool
	poolErr  error
)

// thePool returns the process's pool, opened on first use.
func thePool(tb testing.TB) *pgPool {
	tb.Helper()
	poolOnce.Do(func() { pool, poolErr = openPool(PostgresURL()) })
	if poolErr != nil {
		tb.Fatalf("modelstest: %v", poolErr)
	}
	return pool
}

func openPool(base string) (*pgPool, error) {
	db, err := models.Open(base, models.Options{MaxConns: 4})
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", "TEST_DATABASE_URL", err)
	}
	admin, err := db.W.DB()
	if err != nil {
		return nil, err
	}
	ctx := context.Background()
	// The lock connection is held for the life of the process: its session
	// lock says the process's schemas are in use.
	lock, err := admin.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("connect %s: %w", "TEST_DATABASE_URL", err)
	}
	p := &pgPool{base: base, admin: admin, fresh: map[string]bool{}}
	for {
		var b [4]byte
		_, _ = rand.Read(b[:])
		p.token = binary.BigEndian.Uint32(b[:])
		var got bool
		if err := lock.QueryRowContext(ctx, "SELECT pg_try_advisory_lock($1, $2)", lockClass, int32(p.token)).Scan(&got); err != nil {
			return nil, fmt.Errorf("lock: %w", err)
		}
		if got {
			break
		}
	}
	p.sweep(ctx)
	return p, nil
}

// sweep drops the schemas of processes that are gone.
func (p *pgPool) sweep(ctx context.Context) {
	rows, err := p.admin.QueryContext(ctx, `SELECT nspname FROM pg_namespace WHERE nspname LIKE 'kt\_%'`)
	if err != nil {
		return
	}
	byToken := map[uint32][]string{}
	for rows.Next() {
		var name string
		if rows.Scan(&name) != nil {
			continue
		}
		hex, _, ok := strings.Cut(strings.TrimPrefix(name, "kt_"), "_")
		tok, err := strconv.ParseUint(hex, 16, 32)
		if !ok || err != nil || uint32(tok) == p.token {
			continue
		}
		byToken[uint32(tok)] = append(byToken[uint32(tok)], name)
	}
	rows.Close()
	for tok, names := range byToken {
		conn, err := p.admin.Conn(ctx)
		if err != nil {
			return
		}
		var got bool
		if conn.QueryRowContext(ctx, "SELECT pg_try_advisory_lock($1, $2)", lockClass, int32(tok)).Scan(&got) == nil && got {
			for _, n := range names {
				_, _ = conn.ExecContext(ctx, "DROP SCHEMA IF EXISTS "+n+" CASCADE")
			}
			_, _ = conn.ExecContext(ctx, "SELECT pg_advisory_unlock($1, $2)", lockClass, int32(tok))
		}
		_ = conn.Close()
	}
}

// name returns a new schema name of this process.
func (p *pgPool) name(kind string) string {
	return fmt.Sprintf("kt_%08x_%s%d", p.token, kind, p.seq.Add(1))
}

// schemaURL is base with schema as its search_path and application_name.
func schemaURL(base, schema string) (string, error) {
	u, err := url.Parse(base)
	if err != nil {
		return "", fmt.Errorf("parse %s: %w", "TEST_DATABASE_URL", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	q.Set("application_name", schema)
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// schemaOf is the schema a URL from URL names ("" for any other).
func schemaOf(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return ""
	}
	s := u.Query().Get("search_path")
	if !strings.HasPrefix(s, "kt_") {
		return ""
	}
	return s
}

// newSchema creates an empty schema for tb, to be recycled at its cleanup.
func (p *pgPool) newSchema(tb testing.TB) string {
	tb.Helper()
	schema := p.name("")
	if _, err := p.admin.Exec("CREATE SCHEMA " + schema); err != nil {
		tb.Fatalf("modelstest: create schema: %v", err)
	}
	p.mu.Lock()
	p.fresh[schema] = true
	p.mu.Unlock()
	tb.Cleanup(func() { p.release(schema) })
	u, err := schemaURL(p.base, schema)
	if err != nil {
		tb.Fatalf("modelstest: %v", err)
	}
	return u
}

// fill makes the empty schema of url a migrated one from the pool; false
// when it cannot (not a schema of URL, already used, or the pool is empty),
// and the caller migrates.
func (p *pgPool) fill(tb testing.TB, rawURL string) bool {
	tb.Helper()
	schema := schemaOf(rawURL)
	p.mu.Lock()
	if schema == "" || !p.fresh[schema] {
		p.mu.Unlock()
		return false
	}
	delete(p.fresh, schema)
	if len(p.free) == 0 {
		p.mu.Unlock()
		return false
	}
	pooled := p.free[len(p.free)-1]
	p.free = p.free[:len(p.free)-1]
	p.mu.Unlock()
	// DROP SCHEMA without CASCADE fails unless the schema is still empty.
	err := p.tx(func(tx *sql.Tx) error {
		if _, err := tx.Exec("DROP SCHEMA " + schema); err != nil {
			return err
		}
		_, err := tx.Exec("ALTER SCHEMA " + pooled + " RENAME TO " + schema)
		return err
	})
	if err != nil {
		p.mu.Lock()
		p.free = append(p.free, pooled)
		p.mu.Unlock()
		return false
	}
	p.swaps.Add(1)
	return true
}

func (p *pgPool) tx(f func(*sql.Tx) error) error {
	tx, err := p.admin.Begin()
	if err != nil {
		return err
	}
	if err := f(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// template migrates the process's template schema once and reads it.
func (p *pgPool) template() (*schemaInfo, error) {
	p.tplOnce.Do(func() { p.tpl, p.tplErr = p.makeTemplate() })
	return p.tpl, p.tplErr
}

func (p *pgPool) makeTemplate() (*schemaInfo, error) {
	ctx := context.Background()
	name := p.name("tpl")
	if _, err := p.admin.Exec("CREATE SCHEMA " + name); err != nil {
		return nil, err
	}
	u, err := schemaURL(p.base, name)
	if err != nil {
		return nil, err
	}
	db, err := models.Open(u, models.Options{MaxConns: 2})
	if err != nil {
		return nil, err
	}
	_, err = models.Migrate(ctx, db)
	_ = db.Close()
	if err != nil {
		return nil, err
	}
	info := &schemaInfo{name: name, seeded: map[string]string{}, referencing: map[string][]string{}}
	if info.fingerprint, err = p.fingerprint(name); err != nil {
		return nil, err
	}
	if info.tables, err = p.strings(`SELECT tablename FROM pg_tables WHERE schemaname = $1 ORDER BY tablename`, name); err != nil {
		return nil, err
	}
	full, err := p.nonEmpty(name, info.tables)
	if err != nil {
		return nil, err
	}
	if info.seeded, err = p.digests(name, full); err != nil {
		return nil, err
	}
	if info.sequences, err = p.sequences(name); err != nil {
		return nil, err
	}
	rows, err := p.admin.Query(`SELECT DISTINCT src.relname, dst.relname
		FROM pg_constraint k JOIN pg_class src ON src.oid = k.conrelid JOIN pg_class dst ON dst.oid = k.confrelid
		WHERE k.contype = 'f' AND k.connamespace = $1::regnamespace`, name)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var src, dst string
		if err := rows.Scan(&src, &dst); err != nil {
			return nil, err
		}
		info.referencing[dst] = append(info.referencing[dst], src)
	}
	return info, rows.Err()
}

func (p *pgPool) strings(q string, args ...any) ([]string, error) {
	rows, err := p.admin.Query(q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// fingerprint digests schema's catalog: its relations, columns (in order,
// with types, defaults, identity), constraints, indexes, triggers and
// functions, with the schema's own name taken out so two schemas compare.
func (p *pgPool) fingerprint(schema string) (string, error) {
	var fp string
	err := p.admin.QueryRow(`WITH ns AS (SELECT oid FROM pg_namespace WHERE nspname = $1), x(line) AS (
		SELECT 'r ' || c.relname || ' ' || c.relkind::text FROM pg_class c JOIN ns ON c.relnamespace = ns.oid
		UNION ALL
		SELECT 'a ' || c.relname || ' ' || a.attnum::text || ' ' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
			|| ' ' || a.attnotnull::text || ' ' || a.attidentity::text || ' ' || a.attgenerated::text || ' ' || coalesce(pg_get_expr(d.adbin, d.adrelid), '')
		FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN ns ON c.relnamespace = ns.oid
		LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
		WHERE a.attnum > 0 AND NOT a.attisdropped
		UNION ALL
		SELECT 'k ' || k.conname || ' ' || pg_get_constraintdef(k.oid) FROM pg_constraint k JOIN ns ON k.connamespace = ns.oid
		UNION ALL
		SELECT 'i ' || pg_get_indexdef(i.indexrelid) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN ns ON c.relnamespace = ns.oid
		UNION ALL
		SELECT 't ' || pg_get_triggerdef(t.oid) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN ns ON c.relnamespace = ns.oid WHERE NOT t.tgisinternal
		UNION ALL
		SELECT 'f ' || f.proname || '(' || pg_get_function_identity_arguments(f.oid) || ')' FROM pg_proc f JOIN ns ON f.pronamespace = ns.oid
		UNION ALL
		SELECT 'v ' || c.relname || ' ' || pg_get_viewdef(c.oid) FROM pg_class c JOIN ns ON c.relnamespace = ns.oid WHERE c.relkind IN ('v', 'm')
	)
	SELECT md5(coalesce(string_agg(replace(line, $1 || '.', ''), E'\n' ORDER BY replace(line, $1 || '.', '')), '')) FROM x`, schema).Scan(&fp)
	return fp, err
}

// nonEmpty lists the tables of schema that hold rows.
func (p *pgPool) nonEmpty(schema string, tables []string) ([]string, error) {
	if len(tables) == 0 {
		return nil, nil
	}
	q := make([]string, len(tables))
	for i, t := range tables {
		q[i] = fmt.Sprintf("SELECT '%s' WHERE EXISTS (SELECT 1 FROM %s.%s)", t, schema, t)
	}
	return p.strings(strings.Join(q, " UNION ALL "))
}

// digests returns an md5 of each table's rows, in a stable order.
func (p *pgPool) digests(schema string, tables []string) (map[string]string, error) {
	out := map[string]string{}
	if len(tables) == 0 {
		return out, nil
	}
	q := make([]string, len(tables))
	for i, t := range tables {
		q[i] = fmt.Sprintf("SELECT '%s', (SELECT md5(coalesce(string_agg(x::text, E'\\n' ORDER BY x::text), '')) FROM %s.%s x)", t, schema, t)
	}
	rows, err := p.admin.Query(strings.Join(q, " UNION ALL "))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var t, d string
		if err := rows.Scan(&t, &d); err != nil {
			return nil, err
		}
		out[t] = d
	}
	return out, rows.Err()
}

// sequences reads the last value of each sequence of schema (null when it
// was never used or restarted).
func (p *pgPool) sequences(schema string) (map[string]sql.NullInt64, error) {
	rows, err := p.admin.Query(`SELECT sequencename, last_value FROM pg_sequences WHERE schemaname = $1`, schema)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]sql.NullInt64{}
	for rows.Next() {
		var n string
		var v sql.NullInt64
		if err := rows.Scan(&n, &v); err != nil {
			return nil, err
		}
		out[n] = v
	}
	return out, rows.Err()
}

// release runs at the cleanup of the test that asked URL for schema: the
// schema goes back to the pool reset, or is dropped.
func (p *pgPool) release(schema string) {
	p.mu.Lock()
	delete(p.fresh, schema)
	p.mu.Unlock()
	tpl, err := p.template()
	if err != nil || !p.idle(schema) {
		p.drop(schema)
		return
	}
	if err := p.reset(tpl, schema); err != nil {
		p.drop(schema)
		return
	}
	pooled := p.name("p")
	if _, err := p.admin.Exec("ALTER SCHEMA " + schema + " RENAME TO " + pooled); err != nil {
		p.drop(schema)
		return
	}
	p.mu.Lock()
	p.free = append(p.free, pooled)
	p.mu.Unlock()
}

func (p *pgPool) drop(schema string) {
	_, _ = p.admin.Exec("DROP SCHEMA IF EXISTS " + schema + " CASCADE")
}

// idle waits until no connection names schema as its application, at most
// inUseWait; a connection still there could write into the next test's
// database.
func (p *pgPool) idle(schema string) bool {
	deadline := time.Now().Add(inUseWait)
	for {
		var n int
		if err := p.admin.QueryRow(`SELECT count(*) FROM pg_stat_activity WHERE application_name = $1`, schema).Scan(&n); err != nil {
			return false
		}
		if n == 0 {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// errChanged says a schema's catalog is no longer the template's.
var errChanged = fmt.Errorf("modelstest: schema changed")

// reset makes schema hold what a freshly migrated schema holds.
func (p *pgPool) reset(tpl *schemaInfo, schema string) error {
	fp, err := p.fingerprint(schema)
	if err != nil {
		return err
	}
	if fp != tpl.fingerprint {
		return errChanged
	}
	full, err := p.nonEmpty(schema, tpl.tables)
	if err != nil {
		return err
	}
	var seededNow []string
	for t := range tpl.seeded {
		seededNow = append(seededNow, t)
	}
	digests, err := p.digests(schema, seededNow)
	if err != nil {
		return err
	}
	dirty := map[string]bool{}
	for _, t := range full {
		if _, seeded := tpl.seeded[t]; !seeded {
			dirty[t] = true
		}
	}
	for t, d := range tpl.seeded {
		if digests[t] != d {
			dirty[t] = true
		}
	}
	// TRUNCATE refuses a table another one's foreign key points at unless
	// that one is truncated too.
	for stack := keys(dirty); len(stack) > 0; {
		t := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, r := range tpl.referencing[t] {
			if !dirty[r] {
				dirty[r] = true
				stack = append(stack, r)
			}
		}
	}
	if len(dirty) > 0 {
		list := keys(dirty)
		qualified := make([]string, len(list))
		for i, t := range list {
			qualified[i] = schema + "." + t
		}
		err := p.tx(func(tx *sql.Tx) error {
			if _, err := tx.Exec("TRUNCATE " + strings.Join(qualified, ", ") + " RESTART IDENTITY"); err != nil {
				return err
			}
			for _, t := range list {
				if _, seeded := tpl.seeded[t]; seeded {
					if _, err := tx.Exec(fmt.Sprintf("INSERT INTO %s.%s OVERRIDING SYSTEM VALUE SELECT * FROM %s.%s", schema, t, tpl.name, t)); err != nil {
						return err
					}
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	seqs, err := p.sequences(schema)
	if err != nil {
		return err
	}
	if len(seqs) != len(tpl.sequences) {
		return errChanged
	}
	var fix []string
	for n, v := range seqs {
		want, ok := tpl.sequences[n]
		switch {
		case !ok:
			return errChanged
		case v == want:
		case !want.Valid:
			fix = append(fix, fmt.Sprintf("ALTER SEQUENCE %s.%s RESTART", schema, n))
		default:
			fix = append(fix, fmt.Sprintf("SELECT setval('%s.%s', %d)", schema, n, want.Int64))
		}
	}
	if len(fix) > 0 {
		if _, err := p.admin.Exec(strings.Join(fix, "; ")); err != nil {
			return err
		}
	}
	return nil
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
