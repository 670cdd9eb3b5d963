package main

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"kehou/handlers"
	"kehou/models"
	"kehou/models/modelstest"
	"kehou/wechat/pay"
)

// pgCluster is a throwaway PostgreSQL cluster a test starts, restarts and
// stops itself, as .ci/run does for the suite (initdb and postgres refuse
// root: as root they run as the user postgres).
type pgCluster struct {
	bin, root, data, sock string
	port                  int
	osUser                string
}

// startPGCluster starts a cluster on a free port, or skips the test when
// PostgreSQL's binaries are not installed (PGBIN, default Debian's 15).
func startPGCluster(t *testing.T) *pgCluster {
	t.Helper()
	bin := os.Getenv("PGBIN")
	if bin == "" {
		bin = "/usr/lib/postgresql/15/bin"
	}
	if _, err := os.Stat(filepath.Join(bin, "initdb")); err != nil {
		t.Skipf("PostgreSQL binaries not in %s (set PGBIN): %v", bin, err)
	}
	root, err := os.MkdirTemp("", "kehou-pgcrash-")
	if err != nil {
		t.Fatal(err)
	}
	c := &pgCluster{bin: bin, root: root, data: filepath.Join(root, "data"), sock: filepath.Join(root, "sock")}
	if err := os.Mkdir(c.sock, 0o700); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() == 0 {
		c.osUser = "postgres"
		u, err := user.Lookup(c.osUser)
		if err != nil {
			t.Skipf("running as root and no user postgres to run PostgreSQL as: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		for _, p := range []string{root, c.sock} {
			if err := os.Chown(p, uid, gid); err != nil {
				t.Fatal(err)
			}
		}
	}
	t.Cleanup(func() {
		_ = c.pgctl("stop", "-m", "immediate", "-w").Run()
		_ = os.RemoveAll(root)
	})
	if out, err := c.cmd("initdb", "-D", c.data, "-U", "kehou", "--auth=trust", "--encoding=UTF8", "--locale=C").CombinedOutput(); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	for attempt := 0; ; attempt++ {
		addr := freeAddr(t)
		_, port, _ := net.SplitHostPort(addr)
		c.port, _ = strconv.Atoi(port)
		out, err := c.pgctl("start", "-w", "-t", "60", "-l", filepath.Join(root, "postgres.log"),
			"-o", fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=100", c.port, c.sock)).CombinedOutput()
		if err == nil {
			break
		}
		if attempt == 3 {
			log, _ := os.ReadFile(filepath.Join(root, "postgres.log"))
			t.Fatalf("pg_ctl start: %v\n%s\n%s", err, out, log)
		}
	}
	if out, err := c.cmd("createdb", "-h", "127.0.0.1", "-p", strconv.Itoa(c.port), "-U", "kehou", "kehou").CombinedOutput(); err != nil {
		t.Fatalf("createdb: %v\n%s", err, out)
	}
	return c
}

// cmd runs PostgreSQL's program name (as the cluster's user when root).
func (c *pgCluster) cmd(name string, args ...string) *exec.Cmd {
	prog := filepath.Join(c.bin, name)
	var cmd *exec.Cmd
	if c.osUser != "" {
		cmd = exec.Command("runuser", append([]string{"-u", c.osUser, "--", prog}, args...)...)
	} else {
		cmd = exec.Command(prog, args...)
	}
	cmd.Dir = c.root
	return cmd
}

func (c *pgCluster) pgctl(args ...string) *exec.Cmd {
	return c.cmd("pg_ctl", append([]string{"-D", c.data}, args...)...)
}

// URL is the cluster's database kehou.
func (c *pgCluster) URL() string {
	return fmt.Sprintf("postgres://kehou@127.0.0.1:%d/kehou?sslmode=disable", c.port)
}

// crash stops PostgreSQL as a crash would (immediate: no checkpoint, every
// connection cut).
func (c *pgCluster) crash(t *testing.T) {
	t.Helper()
	if out, err := c.pgctl("stop", "-m", "immediate", "-w").CombinedOutput(); err != nil {
		t.Fatalf("pg_ctl stop: %v\n%s", err, out)
	}
}

// start starts PostgreSQL again on its port.
func (c *pgCluster) start(t *testing.T) {
	t.Helper()
	out, err := c.pgctl("start", "-w", "-t", "60", "-l", filepath.Join(c.root, "postgres.log"),
		"-o", fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=100", c.port, c.sock)).CombinedOutput()
	if err != nil {
		t.Fatalf("pg_ctl start: %v\n%s", err, out)
	}
}

// failoverProxy is the load balancer in front of the instances: each
// request to the next instance in turn, to the other one when the first
// cannot be reached (a dead instance), 502 when neither can.
type failoverProxy struct {
	backends []*url.URL
	next     atomic.Int64
}

func (p *failoverProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, "bad body", http.StatusBadRequest)
		return
	}
	first := int(p.next.Add(1))
	for i := range p.backends {
		b := p.backends[(first+i)%len(p.backends)]
		req, _ := http.NewRequestWithContext(r.Context(), r.Method, b.String()+r.URL.RequestURI(), bytes.NewReader(body))
		req.Header = r.Header.Clone()
		res, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			continue // not reachable: the other one
		}
		for k, vs := range res.Header {
			w.Header()[k] = vs
		}
		w.WriteHeader(res.StatusCode)
		_, _ = io.Copy(w, res.Body)
		res.Body.Close()
		return
	}
	w.WriteHeader(http.StatusBadGateway)
}

// TestWeChatPayInstanceKilledAndPostgresRestarted: two kehou instances on
// one PostgreSQL behind a load balancer take a burst of WeChat Pay
// notifications; in the middle one instance is killed with SIGKILL and
// PostgreSQL is restarted once (immediate stop: connections cut, no
// checkpoint). WeChat Pay retries every delivery not acknowledged: in the
// end every payment is applied exactly once, every paid seat is enrolled
// and no seat is lost. It runs when TEST_DATABASE_URL is set, on a cluster
// of its own (the shared one is not restarted).
func TestWeChatPayInstanceKilledAndPostgresRestarted(t *testing.T) {
	if modelstest.PostgresURL() == "" {
		t.Skip("PostgreSQL only (TEST_DATABASE_URL): one PostgreSQL under two instances")
	}
	pg := startPGCluster(t)
	dbURL := pg.URL()
	db := modelstest.Open(t, dbURL)
	r := modelstest.Region(t, db, nil)
	sc := modelstest.School(t, db, r.ID)
	admin := modelstest.Staff(t, db, models.RoleSchoolAdmin, sc.ID, 0)
	term := modelstest.Term(t, db, admin, sc.ID, 1)
	const n = 60
	club := modelstest.Offering(t, db, admin, term, func(o *models.NewOffering) {
		o.FeeFen, o.Billing, o.Capacity = 30000, models.BillingTerm, n
	})
	jwtSecret := randomHexT(32)
	tokens := handlers.NewTokens([]byte(jwtSecret), "k1")
	type family struct {
		parent models.User
		token  string
		order  int64
	}
	fams := make([]family, n)
	for i := range fams {
		st := modelstest.Student(t, db, sc.ID, 3, "")
		u := modelstest.Parent(t, db, st.ID)
		e := modelstest.Enroll(t, db, u.Actor(), st.ID, club.ID)
		var order int64
		if err := db.R.Raw("SELECT id FROM orders WHERE enrollment_id = ?", e.ID).Scan(&order).Error; err != nil || order == 0 {
			t.Fatalf("no order for enrollment %d: %v", e.ID, err)
		}
		tok, err := tokens.Sign(u.Actor(), time.Now())
		if err != nil {
			t.Fatal(err)
		}
		fams[i] = family{parent: u, token: tok, order: order}
	}

	lb := &failoverProxy{}
	lbSrv := &http.Server{Handler: lb, ReadHeaderTimeout: 5 * time.Second}
	lbLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = lbSrv.Serve(lbLn) }()
	t.Cleanup(func() { _ = lbSrv.Close() })
	m := newPayMerchant(t, lbLn.Addr().String())
	env := append(m.env, "DATABASE_URL="+dbURL, "JWT_SECRET="+jwtSecret, "LOG_LEVEL=warn", "LOG_FORMAT=json")
	addrA, addrB := freeAddr(t), freeAddr(t)
	a := startKehouProc(t, addrA, env)
	b := startKehouProc(t, addrB, env)
	for _, x := range []string{addrA, addrB} {
		u, _ := url.Parse("http://" + x)
		lb.backends = append(lb.backends, u)
	}

	// Every family asks for its payment parameters (half through each
	// instance); WeChat Pay then takes every payment at once and notifies.
	c := newProcClient(t)
	params := make([]pay.PayParams, n)
	for i, f := range fams {
		addr := addrA
		if i%2 == 1 {
			addr = addrB
		}
		out := c.must(200, addr, "POST", fmt.Sprintf("/api/v1/orders/%d/wechat-pay", f.order), f.token, nil)
		params[i] = pay.PayParams{TimeStamp: out["timeStamp"].(string), NonceStr: out["nonceStr"].(string),
			Package: out["package"].(string), SignType: out["signType"].(string), PaySign: out["paySign"].(string)}
	}
	var wg sync.WaitGroup
	paid := make(chan error, n)
	payAll := func(from, to int) {
		for i := from; i < to; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := m.fake.RequestPayment(params[i])
				paid <- err
			}()
		}
	}
	failedSoFar := func() int {
		k := 0
		for _, s := range m.fake.Sent() {
			if s.Status < 200 || s.Status > 299 {
				k++
			}
		}
		return k
	}
	// The first half of the burst; once its notifications are coming in,
	// instance A dies.
	payAll(0, n/2)
	pollUntil(t, "the first notifications", func() bool { return len(m.fake.Sent()) >= 3 })
	a.kill()
	// PostgreSQL goes down under the rest of the burst, and comes back
	// once WeChat Pay has seen a delivery fail.
	pg.crash(t)
	payAll(n/2, n)
	pollUntil(t, "a delivery failing while PostgreSQL is down", func() bool { return failedSoFar() > 0 })
	pg.start(t)
	wg.Wait()
	close(paid)
	for err := range paid {
		if err != nil {
			t.Fatal(err)
		}
	}
	m.fake.Wait() // every notification acknowledged, or WeChat Pay gave up
	b.stop()

	failed := 0
	for _, s := range m.fake.Sent() {
		if s.Status < 200 || s.Status > 299 {
			failed++
		}
	}
	t.Logf("%d deliveries, %d of them not acknowledged (retried by WeChat Pay)", len(m.fake.Sent()), failed)
	check := modelstest.Open(t, dbURL)
	taken := m.fake.Paid()
	if len(taken) != n {
		t.Fatalf("WeChat Pay took %d payments, want %d", len(taken), n)
	}
	for no, tx := range taken {
		var rows int64
		check.R.Raw("SELECT COUNT(*) FROM fee_ledger WHERE kind = 'payment' AND ref = ?", tx).Scan(&rows)
		if rows != 1 {
			t.Errorf("%s (transaction %s): %d payment rows after WeChat Pay's retries, want 1", no, tx, rows)
		}
	}
	var payments, enrolled, count int64
	check.R.Raw("SELECT COUNT(*) FROM fee_ledger WHERE kind = 'payment'").Scan(&payments)
	check.R.Raw("SELECT COUNT(*) FROM enrollments WHERE offering_id = ? AND status = 'enrolled'", club.ID).Scan(&enrolled)
	check.R.Raw("SELECT enrolled_count FROM offerings WHERE id = ?", club.ID).Scan(&count)
	if payments != n || enrolled != n || count != n {
		t.Fatalf("after the crash: %d payments, %d seats enrolled (counter %d), want %d each; deliveries that failed: %d",
			payments, enrolled, count, n, failed)
	}
	modelstest.CheckInvariants(t, check)
}

// pollUntil polls cond until it holds (a minute at most).
func pollUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited a minute for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
