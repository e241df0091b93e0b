package main

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
)

func newTestEnv() (*env, *bytes.Buffer, *bytes.Buffer) {
	var stdout, stderr bytes.Buffer
	return &env{stdout: &stdout, stderr: &stderr, getenv: func(string) string { return "" }}, &stdout, &stderr
}

// TestDemoRuns runs the demo command as a user would, with small flags.
func TestDemoRuns(t *testing.T) {
	e, stdout, stderr := newTestEnv()
	code := run(context.Background(), e, []string{"demo", "-clients", "20", "-duration", "2s", "-lifetime", "1s"})
	if code != exitOK {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr)
	}
	out := stdout.String()
	for _, want := range []string{"20 clients for 2s", "summary after", "requests served", "token requests", "callers blocked", "p99"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "\r") {
		t.Errorf("output to a non-terminal redraws lines:\n%q", out)
	}
}

// TestDemoSharesTokens checks what the demo is there to show: many clients,
// several expiry cycles, every request authorised, few token requests.
func TestDemoSharesTokens(t *testing.T) {
	cfg := demoConfig{
		clients:   50,
		duration:  3 * time.Second,
		lifetime:  2 * time.Second,
		window:    700 * time.Millisecond,
		latency:   20 * time.Millisecond,
		interval:  5 * time.Millisecond,
		threshold: time.Millisecond,
	}
	res, err := demo(context.Background(), cfg, io.Discard, false)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("served %d, grants %d, background %d, blocking %d, blocked %d", res.served, res.grants, res.background, res.blocking, res.blocked)
	if res.failed != 0 || res.rejected != 0 {
		t.Errorf("%d requests failed, %d rejected; first error: %v", res.failed, res.rejected, res.firstErr)
	}
	if res.served == 0 {
		t.Error("no request served")
	}
	// A token lives 2 s and is refreshed after 1.3 s: a 3 s run needs at
	// least one refresh, and sharing keeps it far below one per client.
	if res.grants < 2 || res.grants >= int64(cfg.clients)/5 {
		t.Errorf("%d token requests for %d clients over %v with %v tokens", res.grants, cfg.clients, cfg.duration, cfg.lifetime)
	}
	if got := int64(res.background + res.blocking + 1); got != res.grants {
		t.Errorf("the cache made %d calls, the server answered %d grants", got, res.grants)
	}
	if len(res.first) != cfg.clients {
		t.Errorf("%d clients got a first token, want %d", len(res.first), cfg.clients)
	}
}

func TestDemoStopsWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	cfg := demoConfig{clients: 5, duration: time.Minute, lifetime: time.Second, window: 0, latency: 0, interval: 0, threshold: time.Millisecond}
	res, err := demo(ctx, cfg, io.Discard, false)
	if err != nil {
		t.Fatal(err)
	}
	if res.elapsed > 30*time.Second {
		t.Errorf("demo ran %v after its context ended", res.elapsed)
	}
}

func TestDemoFlags(t *testing.T) {
	tests := []struct {
		give     []string
		wantCode int
		wantErr  string
	}{
		{give: []string{"-clients", "0"}, wantCode: exitUsage, wantErr: "-clients must be between 1 and 10000"},
		{give: []string{"-duration", "1h"}, wantCode: exitUsage, wantErr: "-duration must be positive and at most 10m0s"},
		{give: []string{"-lifetime", "1500ms"}, wantCode: exitUsage, wantErr: "-lifetime must be whole seconds"},
		{give: []string{"-lifetime", "2s", "-window", "2s"}, wantCode: exitUsage, wantErr: "-window must be at least 0 and shorter than -lifetime"},
		{give: []string{"-latency", "5s"}, wantCode: exitUsage, wantErr: "-latency must be at least 0 and shorter"},
		{give: []string{"-clients", "many"}, wantCode: exitUsage, wantErr: `invalid value "many" for flag -clients`},
		{give: []string{"-nope"}, wantCode: exitUsage, wantErr: "flag provided but not defined: -nope"},
		{give: []string{"extra"}, wantCode: exitUsage, wantErr: `unexpected argument "extra"`},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.give, " "), func(t *testing.T) {
			e, stdout, stderr := newTestEnv()
			code := run(context.Background(), e, append([]string{"demo"}, tt.give...))
			if code != tt.wantCode {
				t.Errorf("exit %d, want %d", code, tt.wantCode)
			}
			if !strings.Contains(stderr.String(), tt.wantErr) {
				t.Errorf("stderr lacks %q:\n%s", tt.wantErr, stderr)
			}
			if stdout.Len() != 0 {
				t.Errorf("stdout not empty on a usage error:\n%s", stdout)
			}
		})
	}
}

// TestProgress runs the progress display in fake time: no token for the
// first tick, then a token that expires 3 s after the start.
func TestProgress(t *testing.T) {
	tests := []struct {
		name          string
		tty           bool
		before, after time.Duration // run time without and with a token
		want          string
	}{
		{
			name:   "terminal: one line redrawn every 200ms",
			tty:    true,
			before: 300 * time.Millisecond,
			after:  200 * time.Millisecond,
			want: "\r\033[K  0.2s  requests 0         token requests 0    no token yet" +
				"\r\033[K  0.4s  requests 0         token requests 0    token expires in 2.6s" +
				"\r\033[K",
		},
		{
			name:   "pipe: a line per second",
			before: 1500 * time.Millisecond,
			after:  time.Second,
			want: "  1.0s  requests 0         token requests 0    no token yet\n" +
				"  2.0s  requests 0         token requests 0    token expires in 1s\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var out bytes.Buffer
				start := time.Now()
				m := &measured{start: start}
				ctx, cancel := context.WithCancel(context.Background())
				done := make(chan struct{})
				go func() {
					defer close(done)
					showProgress(ctx, &out, tt.tty, start, &tokenServer{}, m)
				}()
				time.Sleep(tt.before)
				m.expiresAt.Store(start.Add(3 * time.Second).UnixNano())
				time.Sleep(tt.after)
				cancel()
				<-done
				if diff := cmp.Diff(tt.want, out.String()); diff != "" {
					t.Errorf("progress (-want +got):\n%s", diff)
				}
			})
		})
	}
}
