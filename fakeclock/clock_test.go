package fakeclock_test

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/benbjohnson/clock"

	"github.com/tokenactor/tokenactor/fakeclock"
)

func TestStartsAtStart(t *testing.T) {
	c := fakeclock.New()
	if got := c.Now(); !got.Equal(fakeclock.Start) {
		t.Fatalf("Now() = %v, want %v", got, fakeclock.Start)
	}
	if got := fakeclock.At(90 * time.Second); !got.Equal(fakeclock.Start.Add(90 * time.Second)) {
		t.Fatalf("At(90s) = %v", got)
	}
}

// Timer callbacks run on goroutines of their own; the bubble makes their
// order and completion deterministic.
func TestTimersFireInOrderAsTheClockMoves(t *testing.T) {
	synctest.Test(t, timersFireInOrder)
}

func timersFireInOrder(t *testing.T) {
	var c clock.Clock = fakeclock.New()
	fired := make(chan string, 3)
	c.AfterFunc(2*time.Second, func() { fired <- "b" })
	c.AfterFunc(time.Second, func() { fired <- "a" })
	late := c.AfterFunc(time.Hour, func() { fired <- "late" })

	c.(*fakeclock.Clock).Add(3 * time.Second)
	if got := []string{<-fired, <-fired}; got[0] != "a" || got[1] != "b" {
		t.Fatalf("fired %v, want [a b]", got)
	}
	if !late.Stop() {
		t.Fatal("a timer due in an hour had fired after 3 s")
	}
}

func TestAdvanceTo(t *testing.T) {
	c := fakeclock.New()
	target := fakeclock.At(time.Minute)
	c.AdvanceTo(target)
	if got := c.Now(); !got.Equal(target) {
		t.Fatalf("Now() after AdvanceTo = %v, want %v", got, target)
	}
	defer func() {
		if recover() == nil {
			t.Fatal("AdvanceTo into the past did not panic")
		}
	}()
	c.AdvanceTo(fakeclock.Start)
}

func TestJumpMovesWallClockOnly(t *testing.T) {
	synctest.Test(t, jumpMovesWallClockOnly)
}

func jumpMovesWallClockOnly(t *testing.T) {
	c := fakeclock.New()
	fired := make(chan struct{}, 1)
	c.AfterFunc(time.Minute, func() { fired <- struct{}{} })

	c.Jump(time.Hour)
	if got := c.Since(fakeclock.Start); got != time.Hour {
		t.Fatalf("Since(Start) after Jump = %v, want 1h", got)
	}
	if got := c.Until(fakeclock.At(2 * time.Hour)); got != time.Hour {
		t.Fatalf("Until(Start+2h) after Jump = %v, want 1h", got)
	}
	select {
	case <-fired:
		t.Fatal("Jump fired a timer")
	default:
	}
	c.Add(time.Minute) // the timer still measures its minute
	<-fired
	if got := c.Now(); !got.Equal(fakeclock.At(time.Hour + time.Minute)) {
		t.Fatalf("Now() = %v, want Start+1h1m", got)
	}
}
