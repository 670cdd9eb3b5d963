package handlers

import (
	"bytes"
	"compress/gzip"
	"hash/crc32"
	"strconv"
	"strings"
	"sync"

	"github.com/gofiber/fiber/v2"
)

// GzipMinBytes is the smallest JSON answer Transfer compresses: below a few
// KB gzip saves a phone on 4G less than it costs the server.
const GzipMinBytes = 4 << 10

var gzipWriters = sync.Pool{New: func() any { w, _ := gzip.NewWriterLevel(nil, gzip.BestSpeed); return w }}

// Transfer is the API's transfer middleware, after the handler: a GET that
// answers 200 with JSON gets a weak ETag of its body and answers 304, without the
// body, to a request whose If-None-Match names it (the lists a phone
// re-reads: children, clubs, sessions, inbox); a JSON answer of at least
// GzipMinBytes is gzipped for a client that accepts it (unless the handler
// already encoded it, as the offerings list does).
func Transfer(c *fiber.Ctx) error {
	if err := c.Next(); err != nil {
		return err
	}
	res := c.Response()
	// Only whole JSON bodies: a streamed export stays a stream.
	if res.StatusCode() != fiber.StatusOK || res.IsBodyStream() || len(res.Header.Peek(fiber.HeaderContentEncoding)) > 0 ||
		!strings.HasPrefix(string(res.Header.ContentType()), fiber.MIMEApplicationJSON) {
		return nil
	}
	body := res.Body()
	if c.Method() == fiber.MethodGet {
		tag := `W/"` + strconv.FormatUint(uint64(crc32.ChecksumIEEE(body)), 36) + "-" + strconv.Itoa(len(body)) + `"`
		c.Set(fiber.HeaderETag, tag)
		if inm := c.Get(fiber.HeaderIfNoneMatch); inm != "" && etagMatches(inm, tag) {
			c.Status(fiber.StatusNotModified)
			res.ResetBody()
			return nil
		}
	}
	if len(body) < GzipMinBytes {
		return nil
	}
	c.Vary(fiber.HeaderAcceptEncoding)
	if !acceptsGzip(c.Get(fiber.HeaderAcceptEncoding)) {
		return nil
	}
	var buf bytes.Buffer
	zw := gzipWriters.Get().(*gzip.Writer)
	zw.Reset(&buf)
	_, werr := zw.Write(body)
	cerr := zw.Close()
	gzipWriters.Put(zw)
	if werr != nil || cerr != nil {
		return nil // send it plain
	}
	res.SetBodyRaw(buf.Bytes())
	c.Set(fiber.HeaderContentEncoding, "gzip")
	return nil
}

// etagMatches reports whether an If-None-Match header names tag (weak
// comparison, as for GET).
func etagMatches(header, tag string) bool {
	want := strings.TrimPrefix(tag, "W/")
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimSpace(t)
		if t == "*" || strings.TrimPrefix(t, "W/") == want {
			return true
		}
	}
	return false
}
