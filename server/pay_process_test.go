package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"kehou/wechat"
	"kehou/wechat/pay"
)

// The tests that need kehou as a process of its own — killed with SIGKILL,
// or its every log line read — start this test binary again as the server:
// TestKehouProcess, with KEHOU_TEST_PROCESS=1, is main's run, nothing else.

// TestKehouProcess is not a test: run by another test as a child process
// with KEHOU_TEST_PROCESS=1, it is the kehou server.
func TestKehouProcess(t *testing.T) {
	if os.Getenv("KEHOU_TEST_PROCESS") != "1" {
		t.Skip("the kehou server process of other tests")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, nil, os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "kehou:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// kehouProc is a kehou server process started by a test.
type kehouProc struct {
	cmd  *exec.Cmd
	addr string
	out  *syncBuffer
	done chan struct{}
}

// syncBuffer is a bytes.Buffer written by a child process's pipes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// startKehouProc starts kehou on addr with env and waits until it is
// ready; the test's end stops it.
func startKehouProc(t *testing.T, addr string, env []string) *kehouProc {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestKehouProcess$", "-test.count=1")
	cmd.Env = append(append(os.Environ(), "KEHOU_TEST_PROCESS=1", "LISTEN_ADDR="+addr), env...)
	p := &kehouProc{cmd: cmd, addr: addr, out: &syncBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.out, p.out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = cmd.Wait(); close(p.done) }()
	t.Cleanup(func() { p.kill() })
	deadline := time.Now().Add(60 * time.Second)
	for {
		res, err := http.Get("http://" + addr + "/readyz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return p
			}
		}
		select {
		case <-p.done:
			t.Fatalf("kehou exited before it was ready:\n%s", p.out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("kehou not ready in a minute:\n%s", p.out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop ends the process as an orchestrator would (SIGTERM) and waits.
func (p *kehouProc) stop() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	<-p.done
}

// kill ends the process with SIGKILL (no shutdown at all) and waits.
func (p *kehouProc) kill() {
	_ = p.cmd.Process.Kill()
	<-p.done
}

// payMerchant is a WeChat Pay merchant for kehou processes: its keys in PEM
// files, a fake WeChat Pay for it and a fake WeChat for the mini-program,
// both over HTTP in the test process.
type payMerchant struct {
	key             *rsa.PrivateKey
	keyPEM, apiv3   string
	fake            *pay.Fake
	wx              *wechat.Fake
	appID, wxSecret string
	env             []string
}

// newPayMerchant makes the merchant and its fakes; notifyTo is the kehou
// address WeChat Pay's notifications go to.
func newPayMerchant(t *testing.T, notifyTo string) *payMerchant {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	m := &payMerchant{key: key, apiv3: randomHexT(16), appID: "wxproc" + randomHexT(4), wxSecret: randomHexT(16)}
	serial := strings.ToUpper(randomHexT(20))
	if m.fake, err = pay.NewFake("1900000109", m.appID, m.apiv3, serial, &key.PublicKey); err != nil {
		t.Fatal(err)
	}
	m.fake.RetryDelays = []time.Duration{50 * time.Millisecond, 100 * time.Millisecond, 200 * time.Millisecond,
		400 * time.Millisecond, 800 * time.Millisecond, time.Second, time.Second, 2 * time.Second, 2 * time.Second, 4 * time.Second}
	m.wx = wechat.NewFake(m.appID, m.wxSecret)
	psrv, wsrv := httptest.NewServer(m.fake), httptest.NewServer(m.wx)
	t.Cleanup(func() { m.fake.Wait(); psrv.Close(); wsrv.Close() })
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	m.keyPEM = string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	dir := t.TempDir()
	keyFile, pubFile := filepath.Join(dir, "key.pem"), filepath.Join(dir, "pub.pem")
	if err := os.WriteFile(keyFile, []byte(m.keyPEM), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pubFile, m.fake.PublicKeyPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	m.env = []string{"KEHOU_ENV=dev", "WECHAT_APPID=" + m.appID, "WECHAT_SECRET=" + m.wxSecret, "WECHAT_API_BASE=" + wsrv.URL,
		"WECHATPAY_MCHID=" + m.fake.MchID, "WECHATPAY_SERIAL_NO=" + serial, "WECHATPAY_PRIVATE_KEY_FILE=" + keyFile,
		"WECHATPAY_APIV3_KEY=" + m.apiv3, "WECHATPAY_PUBLIC_KEY_FILE=" + pubFile, "WECHATPAY_PUBLIC_KEY_ID=" + m.fake.PublicKeyID,
		"WECHATPAY_NOTIFY_URL=http://" + notifyTo + "/api/v1/pay/wechat/notify", "WECHATPAY_API_BASE=" + psrv.URL}
	return m
}

func randomHexT(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%x", b)
}

// exchange is one request a test made of a kehou process and its answer.
type exchange struct {
	method, path string
	status       int
	header       http.Header
	body         string
}

// procClient calls kehou processes and keeps every answer.
type procClient struct {
	t     *testing.T
	mu    sync.Mutex
	seen  []exchange
	httpc *http.Client
}

func newProcClient(t *testing.T) *procClient {
	return &procClient{t: t, httpc: &http.Client{Timeout: 30 * time.Second}}
}

// call sends in as JSON (nil: no body) to addr with token and headers
// (name, value…) and answers the status and the decoded body.
func (c *procClient) call(addr, method, path, token string, in any, headers ...string) (int, map[string]any) {
	c.t.Helper()
	var body io.Reader
	if in != nil {
		b, _ := json.Marshal(in)
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, "http://"+addr+path, body)
	if err != nil {
		c.t.Fatal(err)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := c.httpc.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	c.mu.Lock()
	c.seen = append(c.seen, exchange{method: method, path: path, status: res.StatusCode, header: res.Header, body: string(raw)})
	c.mu.Unlock()
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	return res.StatusCode, out
}

// must is call that fails the test unless the status is want.
func (c *procClient) must(want int, addr, method, path, token string, in any, headers ...string) map[string]any {
	c.t.Helper()
	st, out := c.call(addr, method, path, token, in, headers...)
	if st != want {
		c.t.Fatalf("%s %s: %d, want %d: %v", method, path, st, want, out)
	}
	return out
}
