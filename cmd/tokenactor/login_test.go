package main

import (
	"bytes"
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tokenactor/tokenactor/strategy"
)

// TestShowPrompt runs the login prompt in fake time: a code that expires
// 3 s after it is shown, and a login that ends 2.5 s later.
func TestShowPrompt(t *testing.T) {
	const head = "To log in, open https://auth.example.com/activate\nand enter the code: WDJB-MJHT\n"
	tests := []struct {
		name     string
		tty      bool
		complete string
		want     string
	}{
		{
			name: "terminal: countdown redrawn every second",
			tty:  true,
			want: head +
				"\r\033[KWaiting for approval; the code expires in 3s." +
				"\r\033[KWaiting for approval; the code expires in 2s." +
				"\r\033[KWaiting for approval; the code expires in 1s." +
				"\r\033[K",
		},
		{
			name:     "pipe: one line, and the complete URI when the server sends one",
			complete: "https://auth.example.com/activate?user_code=WDJB-MJHT",
			want: head + "(or open https://auth.example.com/activate?user_code=WDJB-MJHT)\n" +
				"Waiting for approval; the code expires in 3s.\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var out bytes.Buffer
				ctx, cancel := context.WithCancel(context.Background())
				prompts := make(chan strategy.DeviceAuthorization, 1)
				done := make(chan struct{})
				go func() {
					defer close(done)
					showPrompt(ctx, &out, tt.tty, prompts)
				}()
				prompts <- strategy.DeviceAuthorization{
					UserCode:                "WDJB-MJHT",
					VerificationURI:         "https://auth.example.com/activate",
					VerificationURIComplete: tt.complete,
					ExpiresAt:               time.Now().Add(3 * time.Second),
					Interval:                time.Second,
				}
				time.Sleep(2500 * time.Millisecond)
				cancel()
				<-done
				if diff := cmp.Diff(tt.want, out.String()); diff != "" {
					t.Errorf("prompt (-want +got):\n%s", diff)
				}
			})
		})
	}
}

// TestShowPromptWithoutLogin checks that a login failing before any code
// is shown prints nothing.
func TestShowPromptWithoutLogin(t *testing.T) {
	var out bytes.Buffer
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	showPrompt(ctx, &out, true, make(chan strategy.DeviceAuthorization))
	if out.Len() != 0 {
		t.Errorf("printed %q", out.String())
	}
}
