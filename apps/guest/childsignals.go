package main

import (
	"os"
	"os/signal"
	"sync"
	"syscall"
)

// A process can start with signals ignored: a shell's background job has SIGINT and SIGQUIT
// ignored, nohup ignores SIGHUP. An ignored disposition survives exec, so every command the agent
// runs would ignore them as well, and a user's `signal INT` would do nothing. Catching them
// instead (and discarding what arrives) installs a handler, which exec resets to the default in
// each child. Signals the agent was started with at their default are left alone.
var childSignals = []os.Signal{syscall.SIGINT, syscall.SIGQUIT, syscall.SIGHUP, syscall.SIGTERM, syscall.SIGPIPE}

var childSignalsOnce sync.Once

func defaultSignalsForChildren() {
	childSignalsOnce.Do(func() {
		var ignored []os.Signal
		for _, s := range childSignals {
			if signal.Ignored(s) {
				ignored = append(ignored, s)
			}
		}
		if len(ignored) == 0 {
			return
		}
		ch := make(chan os.Signal, 8)
		signal.Notify(ch, ignored...)
		go func() {
			for range ch {
			}
		}()
	})
}
