package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"kehou/models"
)

// The rush data set, prepared through the real code paths over HTTP: a
// region, a school and its admin, a roster CSV of N students with guardian
// phones, N parents who log in through the WeChat fake and bind their phone
// (which links their child), a term with max 1 club, and the clubs — all at
// the same weekday and time, published, window open now, waitlist on — plus
// one hot club without a waitlist.

// apiClient calls the kehou API with JSON.
type apiClient struct{ lc *loadClient }

// apiError is a non-expected answer of the API.
type apiError struct {
	Method, Path string
	Status       int
	Body         string
}

func (e *apiError) Error() string {
	return fmt.Sprintf("%s %s: %d %s", e.Method, e.Path, e.Status, e.Body)
}

// call sends in (JSON, or raw when a []byte with ctype) and decodes the
// answer into out unless status is not in want.
func (a *apiClient) call(method, path, token, ip string, in, out any, want ...int) error {
	r := loadRequest{Method: method, Path: path, Token: token, IP: ip}
	switch v := in.(type) {
	case nil:
	case rawBody:
		r.Body, r.ContentType = v.data, v.ctype
	default:
		j, err := json.Marshal(v)
		if err != nil {
			return err
		}
		r.Body = j
	}
	status, body, err := a.lc.do(r)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	if len(want) == 0 {
		want = []int{200, 201}
	}
	ok := false
	for _, w := range want {
		ok = ok || w == status
	}
	if !ok {
		if len(body) > 300 {
			body = body[:300]
		}
		return &apiError{Method: method, Path: path, Status: status, Body: string(body)}
	}
	if out != nil {
		if err := json.Unmarshal(body, out); err != nil {
			return fmt.Errorf("%s %s: decode: %w", method, path, err)
		}
	}
	return nil
}

// rawBody is a non-JSON request body.
type rawBody struct {
	data  []byte
	ctype string
}

// tokenPair is the answer of the login endpoints.
type tokenPair struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
}

// firstLogin logs in a user made through POST /api/v1/users: its first
// login answers 403 password_change_required with a change token, and the
// bench, as the account's owner, sets a password of its own (pass + "x1").
// Accounts made from the shell log in directly.
func (a *apiClient) firstLogin(ip, user, pass string, tp *tokenPair) error {
	var r struct {
		tokenPair
		ChangeToken string `json:"change_token"`
	}
	if err := a.call("POST", "/api/v1/auth/login", "", ip,
		map[string]string{"username": user, "password": pass}, &r, 200, 403); err != nil {
		return err
	}
	if r.ChangeToken == "" {
		*tp = r.tokenPair
		return nil
	}
	return a.call("POST", "/api/v1/auth/password", "", ip,
		map[string]string{"change_token": r.ChangeToken, "new_password": pass + "x1"}, tp)
}

// benchParent is one phone-bound parent and the child its phone linked.
type benchParent struct {
	Token     string
	Refresh   string
	StudentID int64
	IP        string
	Phone     string
	OpenID    string
}

// benchData is what the rush scenarios drive.
type benchData struct {
	AdminUser, AdminPass string
	AdminToken           string
	RegionID             int64
	SchoolID             int64
	SchoolAdminToken     string
	// SchoolAdminUser and SchoolAdminPass log the school admin in again
	// (its token from the preparation may have run out).
	SchoolAdminUser, SchoolAdminPass string
	TermID                           int64
	Clubs                            []int64
	HotClub                          int64
	// PaidTermID and PaidClubs are the paid rush's term and clubs: the
	// same clubs with a fee per session (only when "paid" runs).
	PaidTermID int64
	PaidClubs  []int64
	Parents    []benchParent
	TokensAt   time.Time
}

// parentIP gives parent i its own client address, as many phones behind the
// load balancer would have (the server trusts X-Forwarded-For from the bench).
func parentIP(i int) string {
	return fmt.Sprintf("10.%d.%d.%d", (i>>16)&255, (i>>8)&255, i&255)
}

// staffIP is the client address of the bench's staff calls.
func staffIP(i int) string { return fmt.Sprintf("192.168.%d.%d", (i>>8)&255, i&255) }

// guardianPhone is the phone of student i's guardian (a valid mainland mobile).
func guardianPhone(i int) string { return fmt.Sprintf("139%08d", i) }

// rosterCSV renders n students with one guardian each.
func rosterCSV(n int) []byte {
	var buf bytes.Buffer
	buf.WriteString("student_no,name,gender,grade,class,guardian_name,guardian_phone,relationship\n")
	for i := 0; i < n; i++ {
		gender := "男"
		if i%2 == 1 {
			gender = "女"
		}
		fmt.Fprintf(&buf, "B%06d,学生%d,%s,%d,%d班,家长%d,%s,母亲\n",
			i, i, gender, 1+i%6, 1+(i/6)%8, i, guardianPhone(i))
	}
	return buf.Bytes()
}

// prepareRush builds the rush data set on a running server.
func (e *engine) prepareRush(ctx context.Context) error {
	o, a, d := e.b.o, e.api, &benchData{AdminUser: e.adminUser, AdminPass: e.adminPass}
	var tp tokenPair
	if err := a.call("POST", "/api/v1/auth/login", "", staffIP(1),
		map[string]string{"username": d.AdminUser, "password": d.AdminPass}, &tp); err != nil {
		return err
	}
	d.AdminToken = tp.AccessToken
	var idOnly struct {
		ID int64 `json:"id"`
	}
	suffix := randomHex(4)
	if err := a.call("POST", "/api/v1/regions", d.AdminToken, staffIP(1),
		map[string]any{"name": "压测区", "code": "BENCH" + suffix}, &idOnly); err != nil {
		return err
	}
	d.RegionID = idOnly.ID
	if err := a.call("POST", "/api/v1/schools", d.AdminToken, staffIP(1),
		map[string]any{"name": "压测实验小学", "region_id": d.RegionID}, &idOnly); err != nil {
		return err
	}
	d.SchoolID = idOnly.ID
	saUser, saPass := "benchschool"+suffix, "Bench"+randomHex(8)
	if err := a.call("POST", "/api/v1/users", d.AdminToken, staffIP(1),
		map[string]any{"username": saUser, "password": saPass, "role": "school_admin", "school_id": d.SchoolID}, nil); err != nil {
		return err
	}
	if err := a.firstLogin(staffIP(2), saUser, saPass, &tp); err != nil {
		return err
	}
	d.SchoolAdminToken = tp.AccessToken
	d.SchoolAdminUser, d.SchoolAdminPass = saUser, saPass+"x1" // firstLogin set it

	t0 := time.Now()
	var imported struct {
		Created int `json:"created"`
		Updated int `json:"updated"`
	}
	if err := a.call("POST", fmt.Sprintf("/api/v1/schools/%d/roster", d.SchoolID), d.SchoolAdminToken, staffIP(2),
		rawBody{data: rosterCSV(o.Students), ctype: "text/csv"}, &imported); err != nil {
		return err
	}
	if imported.Created != o.Students {
		return fmt.Errorf("bench: roster import created %d students, want %d", imported.Created, o.Students)
	}
	e.b.logf("[%s] roster: %d students imported in %v", e.name, imported.Created, time.Since(t0).Round(time.Millisecond))

	t0 = time.Now()
	parents, err := e.loginParents(ctx, o.Students)
	if err != nil {
		return err
	}
	d.Parents, d.TokensAt = parents, time.Now()
	e.b.logf("[%s] parents: %d logged in with WeChat and phone-bound in %v", e.name, len(parents), time.Since(t0).Round(time.Millisecond))

	today := time.Now().In(models.Zone)
	if err := a.call("POST", fmt.Sprintf("/api/v1/schools/%d/terms", d.SchoolID), d.SchoolAdminToken, staffIP(2),
		map[string]any{"name": "压测学期" + suffix, "starts_on": today.AddDate(0, 0, -7).Format("2006-01-02"),
			"ends_on": today.AddDate(0, 4, 0).Format("2006-01-02"), "max_clubs": 1}, &idOnly); err != nil {
		return err
	}
	d.TermID = idOnly.ID
	for c := 0; c < o.Clubs; c++ {
		id, err := e.createClub(d, d.TermID, fmt.Sprintf("社团%02d", c), o.Seats, true, 0)
		if err != nil {
			return err
		}
		d.Clubs = append(d.Clubs, id)
	}
	if d.HotClub, err = e.createClub(d, d.TermID, "热门社团", o.HotSeats, false, 0); err != nil {
		return err
	}
	if e.b.want("paid") {
		// The paid rush's clubs: the same clubs in a term of their own
		// (the free term's list stays as it is), 3 yuan a session.
		if err := a.call("POST", fmt.Sprintf("/api/v1/schools/%d/terms", d.SchoolID), d.SchoolAdminToken, staffIP(2),
			map[string]any{"name": "压测收费学期" + suffix, "starts_on": today.AddDate(0, 0, -7).Format("2006-01-02"),
				"ends_on": today.AddDate(0, 4, 0).Format("2006-01-02"), "max_clubs": 1}, &idOnly); err != nil {
			return err
		}
		d.PaidTermID = idOnly.ID
		for c := 0; c < o.Clubs; c++ {
			id, err := e.createClub(d, d.PaidTermID, fmt.Sprintf("收费社团%02d", c), o.Seats, true, paidClubFeeFen)
			if err != nil {
				return err
			}
			d.PaidClubs = append(d.PaidClubs, id)
		}
	}
	var list struct {
		Items []json.RawMessage `json:"items"`
	}
	p := d.Parents[0]
	if err := a.call("GET", e.offeringsPath(d), p.Token, p.IP, nil, &list); err != nil {
		return err
	}
	if len(list.Items) != o.Clubs+1 {
		return fmt.Errorf("bench: a parent sees %d offerings, want %d", len(list.Items), o.Clubs+1)
	}
	e.data = d
	return nil
}

func (e *engine) offeringsPath(d *benchData) string {
	return fmt.Sprintf("/api/v1/schools/%d/offerings?term_id=%d", d.SchoolID, d.TermID)
}

// paidClubFeeFen is the paid rush's fee: 3 yuan a session (the county cap
// SPEC gives as an example), billed per session.
const paidClubFeeFen = 300

// createClub creates and publishes one club in term; every club meets
// Tuesday and Thursday 16:30–18:00, so any two overlap, with its window
// open now; feeFen above zero bills it per session.
func (e *engine) createClub(d *benchData, term int64, name string, seats int, waitlist bool, feeFen int64) (int64, error) {
	now := time.Now()
	var off struct {
		ID int64 `json:"id"`
	}
	body := map[string]any{"term_id": term, "kind": "club", "name": name, "category": "sports",
		"description": "压测", "teacher": "王老师", "venue": "操场", "weekdays": []int{2, 4},
		"start_time": "16:30", "end_time": "18:00", "capacity": seats, "grades": []int{1, 2, 3, 4, 5, 6},
		"fee_fen": feeFen, "mode": "fcfs", "waitlist": waitlist,
		"enroll_opens_at":  now.Add(-time.Hour).Format(time.RFC3339),
		"enroll_closes_at": now.Add(7 * 24 * time.Hour).Format(time.RFC3339)}
	if feeFen > 0 {
		body["billing"] = "session"
	}
	if err := e.api.call("POST", fmt.Sprintf("/api/v1/schools/%d/offerings", d.SchoolID), d.SchoolAdminToken, staffIP(2), body, &off); err != nil {
		return 0, err
	}
	if err := e.api.call("POST", fmt.Sprintf("/api/v1/offerings/%d/publish", off.ID), d.SchoolAdminToken, staffIP(2), nil, nil); err != nil {
		return 0, err
	}
	return off.ID, nil
}

// loginParents logs n parents in through WeChat and binds their phones, 16
// at a time; parent i is the guardian of student i.
func (e *engine) loginParents(ctx context.Context, n int) ([]benchParent, error) {
	out := make([]benchParent, n)
	err := forEachParallel(ctx, n, 16, func(i int) error {
		p, err := e.loginParent(i)
		out[i] = p
		return err
	})
	return out, err
}

// forEachParallel calls fn(i) for i in [0, n) from workers goroutines, and
// answers the first error (a worker stops at its first error; the others
// go on) or ctx's.
func forEachParallel(ctx context.Context, n, workers int, fn func(i int) error) error {
	var (
		next     atomic.Int64
		firstErr error
		once     sync.Once
		wg       sync.WaitGroup
	)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := fn(i); err != nil {
					once.Do(func() { firstErr = err })
					return
				}
			}
		}()
	}
	wg.Wait()
	if firstErr == nil {
		firstErr = ctx.Err()
	}
	return firstErr
}

func (e *engine) loginParent(i int) (benchParent, error) {
	p := benchParent{IP: parentIP(i), Phone: guardianPhone(i), OpenID: "bench-openid-" + e.suffix + "-" + strconv.Itoa(i)}
	code, err := e.wx.LoginCode(p.OpenID)
	if err != nil {
		return p, err
	}
	var tp tokenPair
	if err := e.api.call("POST", "/api/v1/auth/wechat", "", p.IP, map[string]string{"code": code}, &tp); err != nil {
		return p, err
	}
	p.Token, p.Refresh = tp.AccessToken, tp.RefreshToken
	pcode, err := e.wx.PhoneCode(p.OpenID, p.Phone)
	if err != nil {
		return p, err
	}
	var bound struct {
		Children []struct {
			ID int64 `json:"id"`
		} `json:"children"`
	}
	if err := e.api.call("POST", "/api/v1/me/phone", p.Token, p.IP, map[string]string{"code": pcode}, &bound); err != nil {
		return p, err
	}
	if len(bound.Children) != 1 {
		return p, fmt.Errorf("bench: parent %d linked %d children, want 1", i, len(bound.Children))
	}
	p.StudentID = bound.Children[0].ID
	return p, nil
}

// refreshTokens renews the parents' access tokens through /auth/refresh
// when they are older than maxAge (access tokens live 15 minutes).
func (e *engine) refreshTokens(ctx context.Context, maxAge time.Duration) error {
	d := e.data
	if time.Since(d.TokensAt) < maxAge {
		return nil
	}
	t0 := time.Now()
	firstErr := forEachParallel(ctx, len(d.Parents), 16, func(i int) error {
		p := &d.Parents[i]
		var tp tokenPair
		if err := e.api.call("POST", "/api/v1/auth/refresh", "", p.IP, map[string]string{"refresh_token": p.Refresh}, &tp); err != nil {
			return err
		}
		p.Token, p.Refresh = tp.AccessToken, tp.RefreshToken
		return nil
	})
	var tp tokenPair
	if err := e.api.call("POST", "/api/v1/auth/login", "", staffIP(3),
		map[string]string{"username": d.AdminUser, "password": d.AdminPass}, &tp); err != nil && firstErr == nil {
		firstErr = err
	}
	d.AdminToken = tp.AccessToken
	d.TokensAt = time.Now()
	e.b.logf("[%s] refreshed %d parent tokens in %v", e.name, len(d.Parents), time.Since(t0).Round(time.Millisecond))
	return firstErr
}
