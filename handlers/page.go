package handlers

import (
	"encoding/base64"
	"fmt"
	"strconv"

	"github.com/gofiber/fiber/v2"
)

// DefaultPageSize and MaxPageSize are the page sizes of every list: the
// items an answer holds when ?limit is absent, and the most ?limit may ask
// for (a larger one is 400 bad_param). One pair for every list, so a
// client pages them all alike; a default of 100 keeps a school's clubs, a
// term's sessions of one club and a county's schools on one page.
const (
	DefaultPageSize = 100
	MaxPageSize     = 500
)

// pageLimit reads ?limit: DefaultPageSize when absent, else 1 to
// MaxPageSize. Every list reads its page size here.
func pageLimit(c *fiber.Ctx) (int, error) {
	s := c.Query("limit")
	if s == "" {
		return DefaultPageSize, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > MaxPageSize {
		return 0, BadRequest("bad_param", fmt.Sprintf("limit 须为 1-%d 的整数", MaxPageSize))
	}
	return n, nil
}

// pageParams reads ?cursor&limit of a keyset list. The cursor is opaque to
// clients: the last id of the previous page.
func pageParams(c *fiber.Ctx) (after int64, limit int, err error) {
	if limit, err = pageLimit(c); err != nil {
		return 0, 0, err
	}
	if s := c.Query("cursor"); s != "" {
		b, derr := base64.RawURLEncoding.DecodeString(s)
		if derr == nil {
			after, derr = strconv.ParseInt(string(b), 10, 64)
		}
		if derr != nil || after < 0 {
			return 0, 0, BadRequest("bad_cursor", "cursor 无效")
		}
	}
	return after, limit, nil
}

// Lists come in three kinds, all answered as Page with `limit` honoured
// exactly and `next_cursor` set exactly when more items exist, all with
// the page sizes above:
//
//   - keyset lists read from the database one page at a time (students,
//     surveys, job runs, a student's enrollments): the handler asks the
//     model for limit+1 rows and keysetPage trims the extra one, which
//     proves that another page exists. The cursor is the last id sent.
//   - whole lists that are small and ordered by something other than id
//     (terms, offerings, regions, staff, breakdowns, the schools table):
//     they are read whole and offsetPage cuts the page out; the cursor is
//     the offset of the next item.
//   - the sessions, ordered by date or start time (sessionPaging): the
//     cursor is the last key sent.
//
// Answers bounded by what they describe (a session's roll, a child's month
// of attendance, a student's guardians, a school's fee lines) are not
// lists in this sense and come whole.

// encodeCursor makes the opaque cursor of n.
func encodeCursor(n int64) string { return opaqueCursor(strconv.FormatInt(n, 10)) }

// keysetPage trims rows (read with a limit of limit+1) to limit and sets
// the cursor to the last kept row's id when a row was trimmed.
func keysetPage[T any](rows []T, limit int, id func(T) int64) ([]T, string) {
	return keysetPageBy(rows, limit, func(r T) string { return strconv.FormatInt(id(r), 10) })
}

// keysetPageBy is keysetPage for lists whose key is more than an id (the
// sessions: start time, then id); the cursor is key of the last kept row,
// made opaque.
func keysetPageBy[T any](rows []T, limit int, key func(T) string) ([]T, string) {
	if len(rows) <= limit {
		return rows, ""
	}
	rows = rows[:limit]
	return rows, opaqueCursor(key(rows[limit-1]))
}

// wholePageParams reads ?cursor&limit of a whole list: the offset to start
// at and the page size.
func wholePageParams(c *fiber.Ctx) (offset, limit int, err error) {
	after, limit, err := pageParams(c)
	return int(after), limit, err
}

// offsetPage cuts the page at offset of at most limit items (0: all) out of
// the whole list all.
func offsetPage[T any](all []T, offset, limit int) Page[T] {
	if offset > len(all) {
		offset = len(all)
	}
	rest := all[offset:]
	p := Page[T]{Items: rest}
	if limit > 0 && len(rest) > limit {
		p.Items = rest[:limit]
		p.NextCursor = encodeCursor(int64(offset + limit))
	}
	if p.Items == nil {
		p.Items = []T{}
	}
	return p
}
