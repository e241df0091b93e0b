package oauthtest

import (
	"crypto/rand"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"
)

// ErrUnknownUserCode is returned by [Server.Approve] and [Server.Deny] for a
// user code that names no pending device authorization: never issued,
// expired, or already decided.
var ErrUnknownUserCode = errors.New("oauthtest: unknown, expired or already decided user code")

type deviceState int

const (
	devicePending deviceState = iota
	deviceApproved
	deviceDenied
	deviceDone // tokens issued; the device code is spent
)

// A deviceGrant is one device authorization request (RFC 8628 §3.1). Its
// fields are guarded by Server.mu.
type deviceGrant struct {
	userCode string // as shown, XXXX-XXXX
	grant    grant
	expires  time.Time
	interval time.Duration // zero: not enforced
	lastPoll time.Time
	state    deviceState
}

// userCodeChars are the characters of a user code: consonants without
// vowels or look-alikes, as RFC 8628 §6.1 suggests.
const userCodeChars = "BCDFGHJKLMNPQRSTVWXZ"

func newUserCode() string {
	b := make([]byte, 8)
	rand.Read(b)
	for i := range b {
		b[i] = userCodeChars[int(b[i])%len(userCodeChars)]
	}
	return string(b[:4]) + "-" + string(b[4:])
}

// normalUserCode is the user code as users may type it: any case, with or
// without the dash and spaces.
func normalUserCode(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '-' || r == ' ':
			return -1
		case 'a' <= r && r <= 'z':
			return r - 'a' + 'A'
		}
		return r
	}, s)
}

// serveDeviceAuthorization is the device authorization endpoint
// (RFC 8628 §3.1, §3.2).
func (s *Server) serveDeviceAuthorization(w http.ResponseWriter, r *http.Request) {
	client, oerr := s.authenticate(r)
	if oerr != nil {
		oerr.write(w)
		return
	}
	g := grant{client: client, subject: "user", session: &session{}, refresh: true}
	g.scope, g.audience, g.resource = r.PostForm.Get("scope"), r.PostForm.Get("audience"), r.PostForm.Get("resource")
	s.mu.Lock()
	if oerr := s.checkRequired(g); oerr != nil {
		s.mu.Unlock()
		oerr.write(w)
		return
	}
	now := s.cfg.now()
	d := &deviceGrant{grant: g, expires: now.Add(s.cfg.deviceCodeLifetime), interval: s.cfg.pollInterval}
	if d.interval < 0 {
		d.interval = 0
	}
	if s.cfg.autoApprove {
		d.state = deviceApproved
	}
	for {
		d.userCode = newUserCode()
		if _, taken := s.byUser[normalUserCode(d.userCode)]; !taken {
			break
		}
	}
	deviceCode := "dc_" + randomHex(16)
	s.devices[deviceCode] = d
	s.byUser[normalUserCode(d.userCode)] = d
	lifetime := s.cfg.deviceCodeLifetime
	s.mu.Unlock()

	writeJSON(w, http.StatusOK, struct {
		DeviceCode              string `json:"device_code"`
		UserCode                string `json:"user_code"`
		VerificationURI         string `json:"verification_uri"`
		VerificationURIComplete string `json:"verification_uri_complete"`
		ExpiresIn               int64  `json:"expires_in"`
		Interval                int64  `json:"interval,omitempty"`
	}{
		DeviceCode:              deviceCode,
		UserCode:                d.userCode,
		VerificationURI:         s.VerificationURL(),
		VerificationURIComplete: s.VerificationURL() + "?user_code=" + url.QueryEscape(d.userCode),
		ExpiresIn:               int64(lifetime / time.Second),
		Interval:                int64((d.interval + time.Second - 1) / time.Second),
	})
}

// pollDevice answers the device code grant (RFC 8628 §3.4, §3.5).
func (s *Server) pollDevice(client string, r *http.Request) (tokenResponse, *oauthError) {
	code := r.PostForm.Get("device_code")
	if code == "" {
		return tokenResponse{}, invalidRequest("device_code is missing")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.cfg.now()
	d, ok := s.devices[code]
	switch {
	case !ok:
		return tokenResponse{}, invalidGrant("unknown device code")
	case d.grant.client != client:
		return tokenResponse{}, invalidGrant("device code issued to another client")
	case d.state == deviceDone:
		return tokenResponse{}, invalidGrant("device code already used")
	case !now.Before(d.expires):
		return tokenResponse{}, deviceError("expired_token", "the device code expired")
	case d.state == deviceDenied:
		return tokenResponse{}, deviceError("access_denied", "the user denied the request")
	}
	tooSoon := d.interval > 0 && !d.lastPoll.IsZero() && now.Sub(d.lastPoll) < d.interval
	d.lastPoll = now
	if tooSoon {
		d.interval += 5 * time.Second
		return tokenResponse{}, deviceError("slow_down", "polling too fast; wait the interval plus 5 seconds")
	}
	if d.state == devicePending {
		return tokenResponse{}, deviceError("authorization_pending", "the user has not decided yet")
	}
	d.state = deviceDone
	delete(s.byUser, normalUserCode(d.userCode))
	return s.issue(d.grant, now), nil
}

func deviceError(code, desc string) *oauthError {
	return &oauthError{status: http.StatusBadRequest, code: code, desc: desc}
}

// Approve approves the pending device authorization with userCode (in any
// case, with or without its dash), as a user on the approval page does.
// It returns [ErrUnknownUserCode] if there is none.
func (s *Server) Approve(userCode string) error {
	return s.decide(userCode, deviceApproved)
}

// Deny denies the pending device authorization with userCode; polling it
// then gets access_denied. It returns [ErrUnknownUserCode] if there is
// none.
func (s *Server) Deny(userCode string) error {
	return s.decide(userCode, deviceDenied)
}

func (s *Server) decide(userCode string, st deviceState) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.byUser[normalUserCode(userCode)]
	if !ok || d.state != devicePending || !s.cfg.now().Before(d.expires) {
		return ErrUnknownUserCode
	}
	d.state = st
	return nil
}

// PendingUserCodes returns the user codes of device authorizations that
// wait for a decision and have not expired, sorted.
func (s *Server) PendingUserCodes() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.cfg.now()
	var codes []string
	for _, d := range s.byUser {
		if d.state == devicePending && now.Before(d.expires) {
			codes = append(codes, d.userCode)
		}
	}
	sort.Strings(codes)
	return codes
}

var pageTemplate = template.Must(template.New("page").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>oauthtest: device login</title></head>
<body>
<h1>Device login</h1>
{{if .Message}}<p>{{.Message}}</p>{{end}}
{{if .Form}}<form method="post" action="">
<label>Code shown on your device: <input name="user_code" value="{{.UserCode}}" autocomplete="off" autofocus></label>
<button name="action" value="approve">Approve</button>
<button name="action" value="deny">Deny</button>
</form>{{end}}
</body></html>
`))

type page struct {
	Message  string
	Form     bool
	UserCode string
}

func writePage(w http.ResponseWriter, status int, p page) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	pageTemplate.Execute(w, p)
}

// serveVerificationPage shows the approval form, filled in with the
// user_code query parameter when there is one (RFC 8628 §3.3.1).
func (s *Server) serveVerificationPage(w http.ResponseWriter, r *http.Request) {
	writePage(w, http.StatusOK, page{Form: true, UserCode: r.URL.Query().Get("user_code")})
}

// serveVerificationForm takes the user's decision.
func (s *Server) serveVerificationForm(w http.ResponseWriter, r *http.Request) {
	code := r.PostForm.Get("user_code")
	st, msg := deviceApproved, "Approved. You may return to your device."
	switch r.PostForm.Get("action") {
	case "approve":
	case "deny":
		st, msg = deviceDenied, "Denied. The device will not be logged in."
	default:
		writePage(w, http.StatusBadRequest, page{Message: "Choose Approve or Deny.", Form: true, UserCode: code})
		return
	}
	if err := s.decide(code, st); err != nil {
		writePage(w, http.StatusBadRequest, page{Message: "That code is unknown, expired or already used. Check it and try again.", Form: true, UserCode: code})
		return
	}
	writePage(w, http.StatusOK, page{Message: msg})
}
