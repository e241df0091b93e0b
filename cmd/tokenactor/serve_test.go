package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/tokenactor/tokenactor/strategy"
)

// startServe runs "tokenactor serve" with args in-process and returns the
// settings it printed (the lines of the form "export NAME=value" as a map,
// and the issuer) and a stop function that ends it and returns its exit
// code and stderr.
func startServe(t *testing.T, args ...string) (settings map[string]string, issuer string, stop func() (int, string)) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	var stderr bytes.Buffer
	e := &env{stdout: pw, stderr: &stderr, getenv: func(string) string { return "" }}
	done := make(chan int, 1) // the command's exit code
	go func() {
		code := run(ctx, e, append([]string{"serve"}, args...))
		pw.Close()
		done <- code
	}()

	settings = make(map[string]string)
	sc := bufio.NewScanner(pr)
	for sc.Scan() {
		line := sc.Text()
		if u, ok := strings.CutPrefix(line, "OAuth 2.0 server listening at "); ok {
			issuer = u
		}
		if kv, ok := strings.CutPrefix(strings.TrimSpace(line), "export "); ok {
			k, v, _ := strings.Cut(kv, "=")
			settings[k] = v
		}
		if strings.HasPrefix(line, "Press Ctrl-C") {
			break
		}
	}
	drained := make(chan struct{})
	go func() { // drain what else the command prints, until it returns
		io.Copy(io.Discard, pr)
		close(drained)
	}()
	stop = func() (int, string) {
		cancel()
		code := <-done
		<-drained
		return code, stderr.String()
	}
	if issuer == "" {
		code, errOut := stop()
		t.Fatalf("serve printed no URL; exit %d, stderr:\n%s", code, errOut)
	}
	return settings, issuer, stop
}

func TestServeIssuesTokens(t *testing.T) {
	settings, issuer, stop := startServe(t, "-client-id", "svc", "-client-secret", "pw", "-lifetime", "42s")
	if !strings.HasPrefix(issuer, "http://127.0.0.1:") {
		t.Errorf("issuer %q is not on 127.0.0.1", issuer)
	}
	want := map[string]string{strategy.EnvTokenURL: issuer + "/token", strategy.EnvClientID: "svc", strategy.EnvClientSecret: "pw"}
	for k, v := range want {
		if settings[k] != v {
			t.Errorf("printed %s=%q, want %q", k, settings[k], v)
		}
	}

	resp, err := http.PostForm(settings[strategy.EnvTokenURL], url.Values{"grant_type": {"client_credentials"},
		"client_id": {"svc"}, "client_secret": {"pw"}})
	if err != nil {
		t.Fatal(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
	}
	err = json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK || tok.AccessToken == "" || tok.ExpiresIn != 42 {
		t.Errorf("token: %d %+v %v", resp.StatusCode, tok, err)
	}

	// The token command, configured as serve says, gets a token too; these
	// tokens live less than its default -min-valid.
	e, stdout, stderr := newTestEnv()
	e.getenv = func(k string) string { return settings[k] }
	if code := run(context.Background(), e, []string{"token", "-min-valid", "10s"}); code != exitOK || strings.TrimSpace(stdout.String()) == "" {
		t.Errorf("tokenactor token: exit %d, stderr:\n%s", code, stderr)
	}

	code, errOut := stop()
	if code != exitOK || !strings.Contains(errOut, "stopped") {
		t.Errorf("exit %d, stderr:\n%s", code, errOut)
	}
	if _, err := http.Get(issuer + "/.well-known/openid-configuration"); err == nil {
		t.Error("the server still answers after stopping")
	}
}

func TestServeBadFlags(t *testing.T) {
	tests := []struct {
		give    []string
		wantErr string
	}{
		{give: []string{"-addr", "0.0.0.0:0"}, wantErr: "not a loopback address"},
		{give: []string{"-addr", "example.com:80"}, wantErr: "not a loopback address"},
		{give: []string{"-addr", "127.0.0.1"}, wantErr: "not host:port"},
		{give: []string{"-lifetime", "1500ms"}, wantErr: "whole seconds"},
		{give: []string{"-poll-interval", "0s"}, wantErr: "-poll-interval must be whole seconds"},
		{give: []string{"-client-id", ""}, wantErr: "-client-id must be set"},
		{give: []string{"-client-secret", ""}, wantErr: "-client-secret must not be empty"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.give, " "), func(t *testing.T) {
			e, _, stderr := newTestEnv()
			if code := run(context.Background(), e, append([]string{"serve"}, tt.give...)); code != exitUsage {
				t.Errorf("exit %d, want %d", code, exitUsage)
			}
			if !strings.Contains(stderr.String(), tt.wantErr) {
				t.Errorf("stderr lacks %q:\n%s", tt.wantErr, stderr)
			}
		})
	}
}

// A device login against serve, approved on its page, saves a session the
// token command then uses.
func TestServeDeviceLogin(t *testing.T) {
	_, issuer, stop := startServe(t, "-poll-interval", "1s")
	defer stop()
	dir := t.TempDir()
	getenv := func(k string) string {
		if k == strategy.EnvConfigDir {
			return dir
		}
		return ""
	}

	pr, pw := io.Pipe()
	e := &env{stdout: io.Discard, stderr: pw, getenv: getenv}
	done := make(chan int, 1) // login's exit code
	go func() {
		// The command serve prints: the endpoints come from discovery.
		code := run(context.Background(), e, []string{"login", "-issuer", issuer, "-client-id", serveLoginClientID})
		pw.Close()
		done <- code
	}()
	var loginOut strings.Builder
	sc := bufio.NewScanner(pr)
	userCode := ""
	for userCode == "" && sc.Scan() {
		loginOut.WriteString(sc.Text() + "\n")
		if _, code, ok := strings.Cut(sc.Text(), "enter the code: "); ok {
			userCode = strings.TrimSpace(code)
		}
	}
	drained := make(chan struct{})
	go func() {
		io.Copy(&loginOut, pr)
		close(drained)
	}()
	if userCode == "" {
		<-done
		<-drained
		t.Fatalf("login showed no code:\n%s", loginOut.String())
	}

	resp, err := http.PostForm(issuer+"/device", url.Values{"user_code": {userCode}, "action": {"approve"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("approval page: %s", resp.Status)
	}
	code := <-done
	<-drained
	if code != exitOK {
		t.Fatalf("login: exit %d\n%s", code, loginOut.String())
	}

	te, stdout, stderr := newTestEnv()
	te.getenv = getenv
	if code := run(context.Background(), te, []string{"token"}); code != exitOK || !strings.HasPrefix(stdout.String(), "at_") {
		t.Errorf("token after login: exit %d, stdout %q, stderr:\n%s", code, stdout, stderr)
	}
}
