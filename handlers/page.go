package handlers

import (
	"strconv"

	"github.com/gofiber/fiber/v2"
)

// Lists come in two kinds, both answered as Page with `limit` honoured
// exactly and `next_cursor` set exactly when more items exist:
//
//   - keyset lists read from the database one page at a time (students,
//     surveys, job runs, a student's enrollments): the handler asks the
//     model for limit+1 rows and keysetPage trims the extra one, which
//     proves that another page exists. The cursor is the last id sent.
//   - whole lists that are small and ordered by something other than id
//     (terms, offerings, breakdowns, the schools table): they are read
//     whole and offsetPage cuts the page out; the cursor is the offset of
//     the next item. Without `limit` the answer is the rest of the list
//     (clients that show every club on one screen keep doing so).

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
// at and the page size (0 when absent: the rest of the list).
func wholePageParams(c *fiber.Ctx) (offset, limit int, err error) {
	if c.Query("limit") != "" || c.Query("cursor") != "" {
		after, l, err := pageParams(c)
		if err != nil {
			return 0, 0, err
		}
		if c.Query("limit") != "" {
			limit = l
		}
		offset = int(after)
	}
	return offset, limit, nil
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
