package main

import (
	"context"
	"strings"
	"testing"
)

func TestHelp(t *testing.T) {
	tests := [][]string{{"--help"}, {"-h"}, {"help"}}
	for _, c := range commands() {
		tests = append(tests, []string{c.name, "--help"}, []string{c.name, "-h"})
	}
	for _, args := range tests {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			e, stdout, stderr := newTestEnv()
			if code := run(context.Background(), e, args); code != exitOK {
				t.Errorf("exit %d, want 0", code)
			}
			if !strings.Contains(stdout.String(), "Usage") {
				t.Errorf("stdout has no usage:\n%s", stdout)
			}
			if stderr.Len() != 0 {
				t.Errorf("stderr not empty:\n%s", stderr)
			}
		})
	}
}

func TestUsageErrors(t *testing.T) {
	tests := []struct {
		give    []string
		wantErr string
	}{
		{give: nil, wantErr: "Usage"},
		{give: []string{"frobnicate"}, wantErr: `unknown command "frobnicate"`},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.give, " "), func(t *testing.T) {
			e, _, stderr := newTestEnv()
			if code := run(context.Background(), e, tt.give); code != exitUsage {
				t.Errorf("exit %d, want %d", code, exitUsage)
			}
			if !strings.Contains(stderr.String(), tt.wantErr) {
				t.Errorf("stderr lacks %q:\n%s", tt.wantErr, stderr)
			}
		})
	}
}
