package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"kehou/handlers"
	"kehou/models"
	"kehou/models/modelstest"
)

// readCountingListener counts the bytes the server reads from its
// connections.
type readCountingListener struct {
	net.Listener
	n atomic.Int64
}

func (l *readCountingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &readCountingConn{Conn: c, n: &l.n}, nil
}

type readCountingConn struct {
	net.Conn
	n *atomic.Int64
}

func (c *readCountingConn) Read(p []byte) (int, error) {
	k, err := c.Conn.Read(p)
	c.n.Add(int64(k))
	return k, err
}

// sendRaw writes one request of header + a body of size bytes (the body
// from a goroutine, as a client streaming an upload would) and returns the
// answer and how many bytes the server had read when it answered.
func sendRaw(t *testing.T, s *testServer, path, token string, size int, chunked bool) (*http.Response, string, int64) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cl := &readCountingListener{Listener: ln}
	done := make(chan struct{})
	go func() { _ = s.app.Listener(cl); close(done) }()
	t.Cleanup(func() { _ = s.app.ShutdownWithTimeout(5 * time.Second); <-done })
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	hdr := "POST " + path + " HTTP/1.1\r\nHost: kehou\r\nContent-Type: application/json\r\n"
	if token != "" {
		hdr += "Authorization: Bearer " + token + "\r\n"
	}
	if chunked {
		hdr += "Transfer-Encoding: chunked\r\n\r\n"
	} else {
		hdr += fmt.Sprintf("Content-Length: %d\r\n\r\n", size)
	}
	if _, err := io.WriteString(conn, hdr); err != nil {
		t.Fatal(err)
	}
	go func() {
		// The server may answer and close before the body is sent: write
		// errors are expected then.
		chunk := strings.Repeat("a", 32<<10)
		for sent := 0; sent < size; sent += len(chunk) {
			var err error
			if chunked {
				_, err = fmt.Fprintf(conn, "%x\r\n%s\r\n", len(chunk), chunk)
			} else {
				_, err = io.WriteString(conn, chunk)
			}
			if err != nil {
				return
			}
		}
		if chunked {
			_, _ = io.WriteString(conn, "0\r\n\r\n")
		}
	}()
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	return res, string(b), cl.n.Load()
}

// TestUnauthenticatedBodyRefusedBeforeRead: a request without a valid
// access token cannot make the server read more than the JSON limit (and a
// read buffer): its body is refused with 413 from its header, not after
// the app's 10 MB upload limit was read into memory.
func TestUnauthenticatedBodyRefusedBeforeRead(t *testing.T) {
	const size = 4 << 20 // within the app's upload limit
	bound := int64(handlers.JSONBodyLimit + 16<<10)
	for _, path := range []string{"/api/v1/auth/login", "/api/v1/auth/wechat", "/api/v1/auth/refresh", "/api/v1/enrollments"} {
		for _, chunked := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/chunked=%v", path, chunked), func(t *testing.T) {
				res, body, read := sendRaw(t, newTestServer(t), path, "", size, chunked)
				if res.StatusCode != 413 || !strings.Contains(body, `"too_large"`) || !strings.Contains(body, `"request_id":"`) {
					t.Fatalf("got %d %s, want 413 too_large", res.StatusCode, body)
				}
				if read > bound {
					t.Fatalf("the server read %d bytes of an anonymous request before refusing it (bound %d)", read, bound)
				}
			})
		}
	}
	// A forged token is no token: the same bound.
	t.Run("forgedToken", func(t *testing.T) {
		res, _, read := sendRaw(t, newTestServer(t), "/api/v1/enrollments", "a.b.c", size, false)
		if res.StatusCode != 413 || read > bound {
			t.Fatalf("got %d after reading %d bytes", res.StatusCode, read)
		}
	})
	// An authenticated upload keeps the app's limit: the body is read and
	// the route decides (here the roster import's own checks, not 413).
	t.Run("authenticatedUploadRead", func(t *testing.T) {
		s := newTestServer(t)
		region := modelstest.Region(t, s.db, nil)
		school := modelstest.School(t, s.db, region.ID)
		admin := modelstest.Staff(t, s.db, models.RoleSchoolAdmin, school.ID, 0)
		res, body, read := sendRaw(t, s, fmt.Sprintf("/api/v1/schools/%d/roster", school.ID), s.token(admin), 256<<10, false)
		if res.StatusCode == 413 || read < 256<<10 {
			t.Fatalf("got %d %s after reading %d bytes", res.StatusCode, body, read)
		}
	})
}
